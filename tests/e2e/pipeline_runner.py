"""A small stand-in for GitHub Actions: runs a workflow's jobs, step by step, on this machine.

Each job's ``run:`` steps run with bash as GitHub would (workflow, job and step ``env`` with their
``${{ }}`` values resolved from a context, the job's environment's variables and secrets on top,
``GITHUB_ENV``, ``if: always()``, a fresh ``RUNNER_TEMP`` per job). What only GitHub has is stood in
for: checkout and setup-python (the workspace and this venv), installing the tool (already installed),
the commit action (the workspace persists between jobs; each job's checkout keeps only ``TRACKED``),
``upload-artifact`` (a directory per artifact) and the ``gh`` CLI (a script that records its calls and
serves artifacts).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STOOD_IN = ("actions/checkout@", "actions/setup-python@", "stefanzweifel/git-auto-commit-action@")
TRACKED = ("manifests", ".provision/state.json")  # what the repository holds: the rest of a checkout is new
SKIPPED_RUNS = {"install"}  # pip install of the tool: this venv already has it

FAKE_GH = '''#!{python}
"""Stand-in for the GitHub CLI: records calls (and --body-file), serves the PR lookup and artifacts."""
import json, os, shutil, sys
from pathlib import Path
args = sys.argv[1:]
record = {{"args": args}}
if "--body-file" in args:
    record["body"] = Path(args[args.index("--body-file") + 1]).read_text()
with open(os.environ["FAKE_GH_LOG"], "a") as log:
    log.write(json.dumps(record) + "\\n")
if args[:1] == ["api"] and args[1].endswith("/pulls"):
    print(os.environ["FAKE_GH_PR_HEAD_SHA"])
elif args[:2] == ["run", "download"]:
    source = Path(os.environ["FAKE_GH_ARTIFACTS"]) / args[args.index("--name") + 1]
    if not source.is_dir():
        sys.exit("no valid artifacts found to download")
    shutil.copytree(source, args[args.index("--dir") + 1], dirs_exist_ok=True)
'''


def install_fake_gh(bin_dir: Path, python: str) -> None:
    """Put the ``gh`` stand-in on ``bin_dir`` (first on the runner's PATH)."""
    gh = bin_dir / "gh"
    gh.write_text(FAKE_GH.format(python=python))
    gh.chmod(0o755)


@dataclass(frozen=True)
class StepResult:
    id: str
    returncode: int
    stdout: str
    stderr: str


@dataclass
class JobResult:
    run_id: str
    temp: Path  # the job's RUNNER_TEMP
    steps: list[StepResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.returncode == 0 for s in self.steps)

    def step(self, step_id: str) -> StepResult:
        return next(s for s in self.steps if s.id == step_id)

    def ran(self) -> list[str]:
        """The ids of the steps that ran, in order."""
        return [s.id for s in self.steps]

    def output(self) -> str:
        return "\n".join(s.stdout + s.stderr for s in self.steps)


@dataclass
class Runner:
    """Runs the workflow's jobs in one workspace (the repository checkout) with a given context; each
    GitHub Environment's variables and secrets (``environments``) override the context in its jobs."""

    workflow: dict[str, Any]
    workspace: Path
    home: Path
    context: dict[str, str]
    runner_env: dict[str, str]
    environments: dict[str, dict[str, str]] = field(default_factory=dict)
    runs: int = 0

    @property
    def artifacts(self) -> Path:
        return self.home / "artifacts"

    def resolve(self, value: object, context: dict[str, str] | None = None) -> str:
        """A workflow value with its ``${{ a.b.c }}`` expressions replaced (unknown names are empty)."""
        names = self.context if context is None else context

        def lookup(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if not re.fullmatch(r"[\w.-]+", name):
                raise AssertionError(f"the runner supports plain names only, not ${{{{ {name} }}}}")
            return names.get(name, "")
        return re.sub(r"\$\{\{(.*?)\}\}", lookup, str(value))

    def run(self, job_name: str, only: set[str] | None = None) -> JobResult:
        """Run a job's steps in order (or only the steps with ids in ``only``); a failure skips the rest,
        except ``if: always()`` steps."""
        self.runs += 1
        run_id = str(4240 + self.runs)
        temp = self.home / f"runner-temp-{self.runs}"  # a fresh runner each time
        temp.mkdir()
        job = self.workflow["jobs"][job_name]
        environment = self.environments.get(job.get("environment"), {})
        context = {**self.context, "github.run_id": run_id, **environment}
        names = ("GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")
        files = {name: temp / f"_{name.lower()}" for name in names}
        env = {**self.runner_env, "RUNNER_TEMP": str(temp), "GITHUB_WORKSPACE": str(self.workspace),
               "GITHUB_RUN_ID": run_id, **{name: str(path) for name, path in files.items()}}
        declared = {**self.workflow.get("env", {}), **job.get("env", {})}
        env.update({k: self.resolve(v, context) for k, v in declared.items()})
        self._checkout()
        result = JobResult(run_id, temp)
        for step in job["steps"]:
            condition = step.get("if")
            assert condition in (None, "always()"), f"unsupported step condition {condition!r}"
            if (not result.ok and condition is None) or (only is not None and step.get("id") not in only):
                continue
            if "uses" in step:
                result.steps += self._uses(step, context)
            elif step.get("id") not in SKIPPED_RUNS:
                result.steps.append(self._run(step, env, context, files["GITHUB_ENV"]))
        return result

    def _checkout(self) -> None:
        """A fresh checkout: what a previous job left in the workspace and did not commit is gone."""
        kept = {self.workspace / path for path in TRACKED}
        for path in sorted(self.workspace.rglob("*"), reverse=True):  # children before their directory
            if path in kept or any(k in path.parents for k in kept):
                continue
            if path.is_dir() and not path.is_symlink():
                if not any(path.iterdir()):
                    path.rmdir()
            else:
                path.unlink()

    def _run(self, step: dict[str, Any], env: dict[str, str], context: dict[str, str],
             github_env: Path) -> StepResult:
        script = str(step["run"])
        assert "${{" not in script, f"step {step.get('id')}: expressions belong in env, not in the script"
        step_env = {**env, **{k: self.resolve(v, context) for k, v in step.get("env", {}).items()}}
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                              cwd=self.workspace, env=step_env, capture_output=True, text=True, timeout=120)
        if github_env.exists():
            for line in github_env.read_text().splitlines():
                name, _, value = line.partition("=")
                env[name] = value
            github_env.unlink()
        return StepResult(str(step.get("id", step.get("name"))), proc.returncode, proc.stdout, proc.stderr)

    def _uses(self, step: dict[str, Any], context: dict[str, str]) -> list[StepResult]:
        action = str(step["uses"])
        if action.startswith(STOOD_IN):
            return []
        assert action.startswith("actions/upload-artifact@"), f"no stand-in for {action}"
        options = step["with"]
        source = self.workspace / options["path"]
        found = [source] if source.is_file() else sorted(p for p in source.glob("*") if p.is_file())
        if not found:
            missing = options.get("if-no-files-found", "warn") == "error"
            return [StepResult(action, 1 if missing else 0, "", f"no file at {options['path']}")]
        target = self.artifacts / self.resolve(options["name"], context)
        target.mkdir(parents=True, exist_ok=True)
        for path in found:
            shutil.copy(path, target / path.name)
        return [StepResult(action, 0, "", "")]

    def gh_calls(self, *prefix: str) -> list[dict[str, Any]]:
        """The recorded ``gh`` calls whose arguments start with ``prefix``."""
        log = self.home / "gh.log"
        calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        return [c for c in calls if c["args"][:len(prefix)] == list(prefix)]

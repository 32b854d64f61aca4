"""The GitHub Actions example (examples/github-actions/provision.yml), run step by step against the emulator.

A small runner reads the workflow and runs each job's ``run:`` steps with bash, as GitHub would (workflow,
job and step ``env`` with their ``${{ }}`` values resolved, ``GITHUB_ENV``, ``if: always()``). What only
GitHub has is stood in for: checkout and setup-python (the workspace and this venv), installing the tool
(already installed), the commit action (the workspace persists between jobs), ``upload-artifact`` (a
directory) and the ``gh`` CLI (a script that records its calls and serves artifacts). The identity is a
RAM user holding only examples/policies/provision-operator.json.
"""

from __future__ import annotations

import http.server
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from alibabacloud_modelstudio20260210.client import Client as ModelStudioClient
from alibabacloud_modelstudio20260210.models import ListWorkspacesRequest
from alibabacloud_ram20150501 import models as ram
from alibabacloud_ram20150501.client import Client as RamClient
from ruamel.yaml import YAML

from provision.emulator.testing import EmulatorHandle
from provision.secrets import SecretSink

if TYPE_CHECKING:
    from tests.e2e.conftest import Cli

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "examples" / "github-actions" / "provision.yml"
OPERATOR_POLICY = ROOT / "examples" / "policies" / "provision-operator.json"
HEAD_SHA = "4f2c9e1d8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e"
PASSPHRASE = "test-sink-passphrase-not-a-real-one"
STOOD_IN = ("actions/checkout@", "actions/setup-python@", "stefanzweifel/git-auto-commit-action@")
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


@dataclass(frozen=True)
class StepResult:
    id: str
    returncode: int
    stdout: str
    stderr: str


@dataclass
class JobResult:
    steps: list[StepResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.returncode == 0 for s in self.steps)

    def step(self, step_id: str) -> StepResult:
        return next(s for s in self.steps if s.id == step_id)

    def output(self) -> str:
        return "\n".join(s.stdout + s.stderr for s in self.steps)


@dataclass
class Runner:
    """Runs the workflow's jobs in one workspace (the repository checkout) with a given context."""

    workflow: dict[str, Any]
    workspace: Path
    home: Path
    context: dict[str, str]
    runner_env: dict[str, str]
    runs: int = 0

    @property
    def artifacts(self) -> Path:
        return self.home / "artifacts"

    def resolve(self, value: object) -> str:
        """A workflow value with its ``${{ a.b.c }}`` expressions replaced (unknown names are empty)."""
        def lookup(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if not re.fullmatch(r"[\w.-]+", name):
                raise AssertionError(f"the runner supports plain names only, not ${{{{ {name} }}}}")
            return self.context.get(name, "")
        return re.sub(r"\$\{\{(.*?)\}\}", lookup, str(value))

    def run(self, job_name: str, only: set[str] | None = None) -> JobResult:
        """Run a job's steps in order (or only the steps with ids in ``only``); a failure skips the rest,
        except ``if: always()`` steps."""
        self.runs += 1
        temp = self.home / f"runner-temp-{self.runs}"  # a fresh runner each time
        temp.mkdir()
        names = ("GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")
        files = {name: temp / f"_{name.lower()}" for name in names}
        env = {**self.runner_env, "RUNNER_TEMP": str(temp), "GITHUB_WORKSPACE": str(self.workspace),
               **{name: str(path) for name, path in files.items()}}
        job = self.workflow["jobs"][job_name]
        declared = {**self.workflow.get("env", {}), **job.get("env", {})}
        env.update({k: self.resolve(v) for k, v in declared.items()})
        result = JobResult()
        for step in job["steps"]:
            condition = step.get("if")
            assert condition in (None, "always()"), f"unsupported step condition {condition!r}"
            if (not result.ok and condition is None) or (only is not None and step.get("id") not in only):
                continue
            if "uses" in step:
                result.steps += self._uses(step)
            elif step.get("id") not in SKIPPED_RUNS:
                result.steps.append(self._run(step, env, files["GITHUB_ENV"]))
        return result

    def _run(self, step: dict[str, Any], env: dict[str, str], github_env: Path) -> StepResult:
        script = str(step["run"])
        assert "${{" not in script, f"step {step.get('id')}: expressions belong in env, not in the script"
        step_env = {**env, **{k: self.resolve(v) for k, v in step.get("env", {}).items()}}
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                              cwd=self.workspace, env=step_env, capture_output=True, text=True, timeout=120)
        if github_env.exists():
            for line in github_env.read_text().splitlines():
                name, _, value = line.partition("=")
                env[name] = value
            github_env.unlink()
        return StepResult(str(step.get("id", step.get("name"))), proc.returncode, proc.stdout, proc.stderr)

    def _uses(self, step: dict[str, Any]) -> list[StepResult]:
        action = str(step["uses"])
        if action.startswith(STOOD_IN):
            return []
        assert action.startswith("actions/upload-artifact@"), f"no stand-in for {action}"
        options = step["with"]
        source = self.workspace / options["path"]
        if not source.exists():
            return [StepResult(action, 1, "", f"no file at {options['path']}")]
        target = self.artifacts / self.resolve(options["name"])
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target / source.name)
        return [StepResult(action, 0, "", "")]

    def gh_calls(self, *prefix: str) -> list[dict[str, Any]]:
        """The recorded ``gh`` calls whose arguments start with ``prefix``."""
        log = self.home / "gh.log"
        calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        return [c for c in calls if c["args"][:len(prefix)] == list(prefix)]

    def sink_values(self) -> list[str]:
        """Every secret of the committed, encrypted sink (decrypted here)."""
        archive = self.workspace / ".provision" / "secrets.tar.gz.gpg"
        gpg = ["gpg", "--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase-fd", "0", "-d"]
        proc = subprocess.run([*gpg, str(archive)], input=PASSPHRASE.encode(), capture_output=True,
                              env={**os.environ, "HOME": str(self.home)}, check=True)
        target = self.home / "decrypted"
        with tarfile.open(fileobj=io.BytesIO(proc.stdout), mode="r:gz") as tar:
            tar.extractall(target, filter="data")
        return SecretSink(target).all_values()


def make_operator(emulator: EmulatorHandle, document: str) -> tuple[str, str]:
    """A RAM user holding only ``document`` as a custom policy; its AccessKey (id, secret)."""
    client = RamClient(emulator.sdk_config())
    client.create_user(ram.CreateUserRequest(user_name="provision-operator"))
    client.create_policy(ram.CreatePolicyRequest(policy_name="ProvisionOperator", policy_document=document))
    client.attach_policy_to_user(ram.AttachPolicyToUserRequest(
        policy_type="Custom", policy_name="ProvisionOperator", user_name="provision-operator"))
    key = client.create_access_key(ram.CreateAccessKeyRequest(user_name="provision-operator")).body.access_key
    return key.access_key_id, key.access_key_secret


@pytest.fixture
def runner(emulator: EmulatorHandle, tmp_path: Path) -> Runner:
    if shutil.which("gpg") is None:
        pytest.skip("gpg is needed by the workflow's sink steps")
    workspace, home = tmp_path / "repo", tmp_path / "home"
    shutil.copytree(ROOT / "manifests", workspace / "manifests")
    (home / "bin").mkdir(parents=True)
    gh = home / "bin" / "gh"
    gh.write_text(FAKE_GH.format(python=sys.executable))
    gh.chmod(0o755)
    key_id, secret = make_operator(emulator, OPERATOR_POLICY.read_text())
    context = {"secrets.ALIBABA_CLOUD_ACCESS_KEY_ID": key_id,
               "secrets.ALIBABA_CLOUD_ACCESS_KEY_SECRET": secret,
               "secrets.PROVISION_SINK_PASSPHRASE": PASSPHRASE, "github.run_id": "4242",
               "github.token": "ghs_fake_token", "github.workflow": "provision",
               "github.event.pull_request.number": "7", "github.event.pull_request.head.sha": HEAD_SHA}
    runner_env = {
        "PATH": os.pathsep.join([str(home / "bin"), str(Path(sys.executable).parent), "/usr/bin", "/bin"]),
        "HOME": str(home), "CI": "true", "GITHUB_SHA": "9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c",
        "GITHUB_REPOSITORY": "acme/delivery-access", "FAKE_GH_LOG": str(home / "gh.log"),
        "FAKE_GH_ARTIFACTS": str(home / "artifacts"), "FAKE_GH_PR_HEAD_SHA": HEAD_SHA,
        # what the runner's network stands in for: the cloud is the emulator
        "PROVISION_ENDPOINT": emulator.url, "PROVISION_POLL_INTERVAL_S": "0.05",
        "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
    }
    workflow = YAML(typ="safe").load(WORKFLOW.read_text())
    return Runner(workflow, workspace, home, context, runner_env)


def ram_client(emulator: EmulatorHandle) -> RamClient:
    return RamClient(emulator.sdk_config())


def user_names(emulator: EmulatorHandle) -> set[str]:
    users = ram_client(emulator).list_users(ram.ListUsersRequest(max_items=1000)).body.users.user or []
    return {u.user_name for u in users}


def merged(runner: Runner) -> JobResult:
    """The PR's plan job, then the apply job of its merge; both must succeed."""
    plan = runner.run("plan")
    assert plan.ok, plan.output()
    apply = runner.run("apply")
    assert apply.ok, apply.output()
    return apply


def test_pull_request_comments_the_markdown_plan_and_keeps_the_json_plan(runner: Runner,
                                                                         emulator: EmulatorHandle) -> None:
    job = runner.run("plan")

    assert job.ok, job.output()
    [comment] = runner.gh_calls("pr", "comment")
    assert comment["args"][2] == "7"
    assert "`ram.user/acme-delivery`" in comment["body"] and HEAD_SHA in comment["body"]
    saved = json.loads((runner.artifacts / f"provision-plan-{HEAD_SHA}" / "plan.json").read_text())
    assert any(c["key"] == "privatelink.endpoint/dashscope-bj" for c in saved["changes"])
    assert "acme-delivery" not in user_names(emulator)  # a plan changes nothing


def test_merge_applies_the_reviewed_plan_and_nightly_finds_nothing_until_the_account_drifts(
        runner: Runner, emulator: EmulatorHandle) -> None:
    apply = merged(runner)

    assert {"acme-delivery", "acme-lead"} <= user_names(emulator)
    assert runner.gh_calls("run", "download")[0]["args"][3] == f"provision-plan-{HEAD_SHA}"
    secrets = runner.sink_values()
    assert len(secrets) >= 5  # 2 AccessKeys (twice each: own entry and ALIBABA_CLOUD_*), password, API key
    # a fresh runner restores the sink: keys are held, so nothing to rotate and no drift
    expiry, drift = runner.run("expiry"), runner.run("drift")
    assert expiry.ok and "no user past expires_at" in expiry.output(), expiry.output()
    assert drift.ok and "no drift" in drift.output(), drift.output()
    assert runner.gh_calls("issue") == []
    everything = apply.output() + expiry.output() + drift.output() + json.dumps(runner.gh_calls())
    assert not [s for s in secrets if s in everything]

    ram_client(emulator).update_user(ram.UpdateUserRequest(user_name="acme-delivery",
                                                           new_display_name="changed in the console"))
    drifted = runner.run("drift")

    assert drifted.step("drift").returncode == 1
    [issue] = runner.gh_calls("issue", "create")
    assert "ram.user/acme-delivery" in issue["body"] and "display_name" in issue["body"]
    assert "::error::the account differs" in drifted.step("drift").stdout


def test_merge_refuses_a_plan_the_account_moved_away_from(runner: Runner, emulator: EmulatorHandle) -> None:
    assert runner.run("plan").ok
    # someone creates one of the declared users by hand after the plan was reviewed
    ram_client(emulator).create_user(ram.CreateUserRequest(user_name="acme-lead", comments="by hand"))

    job = runner.run("apply")

    assert not job.ok
    step = job.step("apply")
    assert step.returncode == 1
    assert "is stale" in step.stdout and "re-run plan" in step.stdout.lower()
    assert "::error title=stale plan::nothing was applied" in step.stdout
    assert "acme-delivery" not in user_names(emulator)
    workspaces = ModelStudioClient(emulator.sdk_config()).list_workspaces(ListWorkspacesRequest())
    assert not workspaces.body.workspaces
    assert job.step("save-sink").returncode == 0  # always() steps still run


def test_nightly_expiry_revokes_users_past_expires_at(runner: Runner, emulator: EmulatorHandle) -> None:
    merged(runner)
    archive = runner.workspace / ".provision" / "secrets.tar.gz.gpg"
    before = archive.read_bytes()
    manifest = runner.workspace / "manifests" / "example.yaml"  # the date passes: same as an earlier date
    manifest.write_text(manifest.read_text().replace('default("2027-03-31T00:00:00Z")',
                                                     'default("2020-01-01T00:00:00Z")'))

    job = runner.run("expiry")

    assert job.ok, job.output()
    client = ram_client(emulator)
    for user in ("acme-delivery", "acme-lead"):
        keys = client.list_access_keys(ram.ListAccessKeysRequest(user_name=user)).body.access_keys.access_key
        assert not keys, f"{user} still has AccessKeys"
    assert archive.read_bytes() != before  # the revoked keys left the committed sink
    assert runner.run("drift").ok


class _TokenHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        ok = self.headers.get("Authorization") == "bearer request-token" and \
            "audience=sts.aliyuncs.com" in self.path
        body = json.dumps({"value": "oidc-jwt-from-github"}).encode()
        self.send_response(200 if ok else 403)
        self.end_headers()
        self.wfile.write(body if ok else b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def token_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _TokenHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/token?api-version=2.0"
    server.shutdown()


def test_credentials_step_hands_the_oidc_token_to_the_credential_chain(runner: Runner,
                                                                       token_server: str) -> None:
    account = "acs:ram::1000000000000001"
    runner.context.update({"vars.ALIBABA_CLOUD_ROLE_ARN": f"{account}:role/provision-ci",
                           "vars.ALIBABA_CLOUD_OIDC_PROVIDER_ARN": f"{account}:oidc-provider/gh",
                           "secrets.ALIBABA_CLOUD_ACCESS_KEY_ID": "",
                           "secrets.ALIBABA_CLOUD_ACCESS_KEY_SECRET": ""})
    runner.runner_env.update({"ACTIONS_ID_TOKEN_REQUEST_URL": token_server,
                              "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "request-token"})

    job = runner.run("plan", only={"credentials"})

    assert job.ok, job.output()
    [token_file] = (runner.home / f"runner-temp-{runner.runs}").glob("alibaba-oidc-token")
    assert token_file.read_text().strip() == "oidc-jwt-from-github"
    assert token_file.stat().st_mode & 0o777 == 0o600
    assert "oidc-jwt-from-github" not in job.output()


@pytest.mark.parametrize("keys,oidc,message", [
    ("", "", "no credentials"),
    ("LTAI5tSomeKey", "acs:ram::1:role/ci", "not both"),
])
def test_credentials_step_refuses_missing_or_ambiguous_credentials(runner: Runner, keys: str, oidc: str,
                                                                   message: str) -> None:
    runner.context.update({"secrets.ALIBABA_CLOUD_ACCESS_KEY_ID": keys, "vars.ALIBABA_CLOUD_ROLE_ARN": oidc})

    job = runner.run("plan", only={"credentials"})

    assert job.step("credentials").returncode == 1
    assert message in job.step("credentials").stdout


def test_operator_policy_is_enforced_a_missing_statement_stops_apply(emulator: EmulatorHandle,
                                                                     tmp_path: Path) -> None:
    policy = json.loads(OPERATOR_POLICY.read_text())
    policy["Statement"] = [s for s in policy["Statement"]
                           if "privatelink:CreateVpcEndpoint" not in s["Action"]]
    key_id, secret = make_operator(emulator, json.dumps(policy))
    env = {**os.environ, "PROVISION_ENDPOINT": emulator.url, "ALIBABA_CLOUD_ACCESS_KEY_ID": key_id,
           "ALIBABA_CLOUD_ACCESS_KEY_SECRET": secret, "PROVISION_STATE_DIR": str(tmp_path / "state"),
           "PROVISION_POLL_INTERVAL_S": "0.05", "NO_COLOR": "1"}

    proc = subprocess.run([sys.executable, "-c", "from provision.cli import main; main()", "apply", "-m",
                           str(ROOT / "manifests" / "example.yaml"), "--auto-approve"],
                          capture_output=True, text=True, env=env, timeout=120)

    assert proc.returncode == 1
    assert "privatelink:" in proc.stdout + proc.stderr and "NoPermission" in proc.stdout + proc.stderr


def test_operator_policy_covers_verify_audit_and_revoke(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    key_id, secret = make_operator(cli.cloud, OPERATOR_POLICY.read_text())
    for name, value in (("ALIBABA_CLOUD_ACCESS_KEY_ID", key_id), ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", secret)):
        monkeypatch.setenv(name, value)
        cli.env[name] = value
    manifest = cli.manifests / "example.yaml"
    assert cli("apply", "-m", manifest, "--auto-approve").exit_code == 0
    for user, role in (("acme-delivery", "guest"), ("acme-lead", "admin")):
        cli.cloud.add_member(cli.workspace_id("agent-delivery"), user, role)

    results = [cli("verify", "-m", manifest), cli("audit", "-m", manifest, "--format", "json"),
               cli("revoke", "-m", manifest, "--var", "expires=2026-01-01T00:00:00Z",
                   "--user", "acme-delivery", "--delete-user", "--auto-approve")]

    assert [r.exit_code for r in results] == [0, 0, 0], "\n".join(r.stdout + r.stderr for r in results)
    assert "NoPermission" not in "".join(r.stdout + r.stderr for r in results)

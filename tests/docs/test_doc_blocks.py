"""The README and docs/: samples fit 120 columns, the generated references match the code, and every
command a reader is told to type runs (blocks.py says how)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from provision.cli import docgen
from provision.clock import NOW_ENV
from tests.docs.blocks import (
    COMMAND,
    COVERED_ELSEWHERE,
    GENERATED,
    ROOT,
    blocks,
    checkout,
    command_lines,
    documents,
    free_port,
    run,
    runnable,
    steps,
    stop_session,
)

WIDTH = 120
# What a document's prose says its commands print, checked against what they do print.
CLAIMS = {"README.md": ("Plan: 15 to create", "verify: 19 passed, 2 failed", "audit: ")}
RUNNABLE = [d for d in documents() if runnable(d)]


def test_every_fenced_block_fits_120_columns() -> None:
    wide = [f"{block.where}: {len(line)} columns: {line[:60]}…" for document in documents()
            for block in blocks(document) for line in block.text.splitlines() if len(line) > WIDTH]
    assert wide == []


def test_the_generated_references_match_the_code() -> None:
    assert docgen.stale() == [], "run `make docs` and commit docs/cli.md and docs/manifest-reference.md"


def test_a_reference_that_no_longer_matches_the_code_is_stale(tmp_path: Path) -> None:
    for name, text in docgen.references().items():
        (tmp_path / name).write_text(text)
    assert docgen.stale(tmp_path) == []
    cli = tmp_path / docgen.CLI_DOC
    cli.write_text(cli.read_text().replace("`--detailed-exitcode`", "`--detailed-exit-code`"))
    (tmp_path / docgen.MANIFEST_DOC).unlink()

    assert docgen.stale(tmp_path) == [docgen.CLI_DOC, docgen.MANIFEST_DOC]
    assert docgen.main(["--check", "--docs", str(tmp_path)]) == 1


def test_the_cli_reference_lists_every_command_and_option() -> None:
    from typer.main import get_command

    from provision.cli.app import app

    reference = docgen.references()[docgen.CLI_DOC]
    root = get_command(app)
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        assert f"\n## provision {name}\n" in reference
        for param in command.params:
            assert all(f"`{opt}" in reference or f" {opt}" in reference for opt in param.opts
                       if opt.startswith("-"))
    schema = docgen.references()[docgen.MANIFEST_DOC]
    assert "| `expires_at` |" in schema and "## `workspaces[].api_keys[]`: ApiKey" in schema


def test_commands_are_only_in_blocks_a_test_runs() -> None:
    """A command in a ```bash block runs below; in a ```sh block it must name the test that runs it; in
    any other block (output, YAML) a line that reads as a command is a mistake. Usage synopses
    (`provision emulator serve [--port 0]`) are not commands."""
    stray = []
    for document in documents():
        if document.name in GENERATED:
            continue
        for block in blocks(document):
            if block.language == "bash":
                continue
            for line in command_lines(block.text):
                command = re.sub(r"\s+#.*$", "", line).strip()
                if block.language == "sh" and command.startswith(("make ", "pip")):
                    if command not in COVERED_ELSEWHERE:
                        stray.append(f"{block.where}: `{command}` is run by no test (COVERED_ELSEWHERE)")
                elif COMMAND.match(line) and " [" not in line:
                    stray.append(f"{block.where}: `{command}` reads as a command: put it in a ```bash block")
    assert stray == []


def test_the_runner_reads_expectations_and_servers() -> None:
    readme = steps(ROOT / "README.md", "4242")
    assert [s.expect for s in readme if "verify" in s.line] == [1]
    [server] = [s for s in readme if s.line.startswith("make emulator")]
    assert server.script == "make emulator &"  # the README backgrounds it itself
    assert all("8930" not in s.script for s in readme) and any("4242" in s.script for s in readme)


@pytest.mark.e2e
@pytest.mark.parametrize("document", RUNNABLE, ids=[str(d.relative_to(ROOT)) for d in RUNNABLE])
def test_the_commands_of_a_document_run_against_the_emulator(document: Path, tmp_path: Path) -> None:
    """Each ```bash line in order, from a checkout-like directory, against an emulator the document
    starts (the README) or a fresh one from the test's environment (PROVISION_ENDPOINT is set)."""
    from provision.clock import now
    from provision.emulator.seed import default_seed
    from provision.emulator.testing import running_emulator

    home = checkout(tmp_path)
    env = {"PATH": f"{Path(sys.prefix) / 'bin'}:/usr/bin:/bin", "HOME": str(home), "NO_COLOR": "1",
           "PORT": free_port(), "PROVISION_POLL_INTERVAL_S": "0.05", NOW_ENV: os.environ[NOW_ENV],
           "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
           # the copy's .venv is a link to this one: `make` must never rebuild it from the copy
           "MAKEFLAGS": "--old-file=.venv/.installed"}
    with running_emulator(default_seed(use_env=False).model_copy(update={"clock_start": now()})) as emulator:
        env |= {"PROVISION_ENDPOINT": emulator.url, "ALIBABA_CLOUD_ACCESS_KEY_ID": emulator.root_key_id,
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET": emulator.root_secret}
        result = run(document, home, env)

    assert result.returncode == 0, result.output[-6000:]
    assert result.stubborn == (), "these outlived SIGTERM and were killed"
    assert result.output.count(">>> step") == len(steps(document, env["PORT"]))
    assert [claim for claim in CLAIMS.get(document.name, ()) if claim not in result.output] == []


def test_the_runner_kills_and_names_a_process_that_outlives_sigterm() -> None:
    """A background server that ignores SIGTERM fails its document's test instead of hanging the run."""
    stubborn = subprocess.Popen(
        [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
         "print('ready', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert stubborn.stdout is not None and stubborn.stdout.readline() == "ready\n"
        named = stop_session(stubborn.pid, grace=0.5)
        assert stubborn.wait(timeout=10) == -signal.SIGKILL
        assert len(named) == 1 and named[0].startswith(f"{stubborn.pid} ") and "SIG_IGN" in named[0]
        assert stop_session(stubborn.pid) == ()
    finally:
        if stubborn.poll() is None:
            stubborn.kill()
            stubborn.wait()


def test_the_install_gives_a_provision_command() -> None:
    """`pip install .` / `pipx install .`: the package declares the `provision` command, for the Python
    the README names, and the command it names exists."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11"
    assert "Python 3.11 or newer" in (ROOT / "README.md").read_text()
    module, _, function = project["scripts"]["provision"].partition(":")
    import importlib

    assert callable(getattr(importlib.import_module(module), function))


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, each space a dash."""
    text = re.sub(r"[`*]|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    return "".join(c for c in text if c.isalnum() or c in " -_").replace(" ", "-")


def anchors(document: Path) -> set[str]:
    """The anchors of a document's headings; a repeated heading gets -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    out = set()
    for heading in re.findall(r"^#+ (.*)$", document.read_text(), re.MULTILINE):
        slug = _slug(heading)
        out.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
        seen[slug] = seen.get(slug, 0) + 1
    return out


def test_every_link_between_documents_reaches_a_file_and_a_heading() -> None:
    broken = []
    for document in [*documents(), *sorted((ROOT / "runbooks").glob("*.md"))]:
        text = re.sub(r"^```.*?^```", "", document.read_text(), flags=re.MULTILINE | re.DOTALL)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            linked = (document.parent / path).resolve() if path else document
            if not linked.exists():
                broken.append(f"{document.relative_to(ROOT)}: {target} (no such file)")
                continue
            if anchor and linked.suffix == ".md" and anchor not in anchors(linked):
                    broken.append(f"{document.relative_to(ROOT)}: {target} (no such heading)")
    assert broken == []

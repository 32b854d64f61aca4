"""Start-up: `provision --help`, `--version`, `schema` and usage errors import no SDK and no command they do
not run; the root's list of commands says what each command's own help says."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from typing import Any

import pytest
from typer.main import get_command

from provision.cli.app import COMMANDS, app

# Run the CLI in a fresh interpreter, then print the provision and third-party modules it loaded.
PROBE = """
import json, sys
from provision.cli.app import main
code = 0
try:
    main()
except SystemExit as exc:
    code = exc.code
print("\\nMODULES=" + json.dumps(sorted(sys.modules)))
sys.exit(code)
"""

NEVER_AT_START = ("alibabacloud_", "Tea", "darabonba", "openai", "dashscope", "huaweicloudsdk",
                  "provision.audit", "provision.providers", "provision.emulator", "provision.engine",
                  "provision.checks", "jinja2")


def loaded_modules(*args: str) -> tuple[int, set[str]]:
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=60)
    marker = proc.stdout.rindex("MODULES=")
    return proc.returncode, set(json.loads(proc.stdout[marker + len("MODULES="):]))


def heavy(modules: set[str], allowed: tuple[str, ...] = ()) -> list[str]:
    """The modules of ``NEVER_AT_START`` (but ``allowed``) among ``modules``."""
    prefixes = [p for p in NEVER_AT_START if p not in allowed]
    return sorted(m for m in modules
                  if any(m.startswith(p) if p.endswith("_") else m == p or m.startswith(p + ".")
                         for p in prefixes))


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["--version"], ["plna"], ["plan", "--bogus"],
                                  ["apply", "--help"], ["membership", "--help"]])
def test_help_version_and_usage_errors_import_no_sdk_and_no_engine(args: list[str]) -> None:
    code, modules = loaded_modules(*args)
    assert code == (0 if args[-1] in ("--help", "-h", "--version") else 1)
    assert heavy(modules) == []
    assert "provision.cli.app" in modules  # the probe did run the CLI


# typer's rich help renderer (rich's markdown, traceback and pretty modules): about half of `--help`'s time
RICH_HELP = ("rich", "markdown_it", "typer.rich_utils")


@pytest.mark.parametrize("args", [[], ["--help"], ["-h"], ["--version"], ["plna"], ["plan", "--bogus"]])
def test_root_help_version_and_usage_errors_load_no_rich_renderer(args: list[str]) -> None:
    code, modules = loaded_modules(*args)
    assert code == (1 if args[-1:] in (["plna"], ["--bogus"]) else 0)
    assert [m for m in sorted(modules) if m in RICH_HELP or m.startswith(("rich.", "markdown_it."))] == []


def test_root_help_lists_every_command_with_its_whole_summary() -> None:
    proc = subprocess.run([sys.executable, "-c", PROBE, "--help"], capture_output=True, text=True, timeout=60)
    text = " ".join(proc.stdout.split())
    assert proc.returncode == 0 and text.startswith("Usage: ") and "[OPTIONS] COMMAND" in text
    for entry in COMMANDS:
        assert f"{entry.name} {entry.summary}" in text  # not cut to one line with "..."
    assert "Exit codes:" in text


def test_root_help_imports_no_command_module() -> None:
    _, modules = loaded_modules("--help")
    commands = sorted(m for m in modules if m.startswith("provision.cli.") and m not in
                      ("provision.cli.app", "provision.cli.common", "provision.cli.lazy"))
    assert commands == []


def test_schema_reads_the_manifest_model_but_no_sdk() -> None:
    code, modules = loaded_modules("schema")
    assert code == 0
    assert "provision.manifest.model" in modules
    assert heavy(modules, allowed=("jinja2",)) == []  # the manifest's renderer is part of its model


def first_paragraph(command: Any) -> str:
    return " ".join(inspect.cleandoc(command.help or "").split("\n\n")[0].split())


@pytest.mark.parametrize("entry", COMMANDS, ids=[c.name for c in COMMANDS])
def test_each_listed_summary_is_the_first_paragraph_of_the_commands_help(entry: Any) -> None:
    root: Any = get_command(app)
    command = root.commands[entry.name]  # looking it up imports it
    assert command.name == entry.name
    assert first_paragraph(command) == entry.summary


def test_every_command_module_is_registered() -> None:
    from pathlib import Path

    import provision.cli

    folder = Path(provision.cli.__file__).parent
    helpers = {"__init__", "app", "common", "lazy", "views", "clouds", "docgen"}
    modules = {p.stem for p in folder.glob("*.py")} - helpers
    registered = {c.target.partition(":")[0].rsplit(".", 1)[-1] for c in COMMANDS
                  if c.target.startswith("provision.cli.")}
    assert modules == registered


def test_the_guard_sees_what_it_forbids() -> None:
    """Guards the guard: a probe that listed nothing, or a prefix rule that matched nothing, would pass."""
    _, modules = loaded_modules("--help")
    assert {"typer", "provision.cli.common"} <= modules
    assert heavy({"alibabacloud_ram20150501.client", "provision.audit", "provision.auditor", "Tea.core",
                  "openai"}) == ["Tea.core", "alibabacloud_ram20150501.client", "openai", "provision.audit"]

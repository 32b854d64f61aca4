"""The root command a newcomer types first: bare `provision`, `-h` and `--version` succeed; consoles print
ARNs as written (rich's emoji codes would turn `acs:ram::` text into pictures)."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

import pytest

from provision.cli.common import stderr

ENTRY = [sys.executable, "-c", "from provision.cli.app import main; main()"]


@pytest.mark.parametrize("args", [[], ["-h"], ["--help"]])
def test_bare_provision_and_h_show_help_and_succeed(args: list[str]) -> None:
    proc = subprocess.run([*ENTRY, *args], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "plan" in proc.stdout and "apply" in proc.stdout and "Usage" in proc.stdout


def test_version_names_the_installed_version() -> None:
    proc = subprocess.run([*ENTRY, "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == f"provision {version('provision')}"


def test_stderr_console_prints_arns_verbatim() -> None:
    console = stderr()
    with console.capture() as captured:
        console.print("acs:ram::1000000000000001:user/alice :smile:")
    assert "acs:ram::1000000000000001:user/alice :smile:" in captured.get()

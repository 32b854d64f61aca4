"""The runbooks' commands are real: each `provision ...` line of their ```bash blocks runs, in order, against
the emulator with the example manifest, and must exit as the runbook says (0, or `# expect exit N`).

The console step a human does (adding the members in Model Studio) is played by the emulator's console
stand-in right before the first `provision membership confirm`. The rotation runbook changes the manifest
between commands, so its procedure is followed step by step in its own test.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from alibabacloud_ram20150501 import models as ram
from alibabacloud_ram20150501.client import Client as RamClient

from provision.resources import MemberSpec
from provision.secrets import SecretSink

if TYPE_CHECKING:
    from tests.e2e.conftest import Cli

pytestmark = pytest.mark.e2e

RUNBOOKS = Path(__file__).resolve().parents[2] / "runbooks"
_BLOCK = re.compile(r"^```bash\n(.*?)^```", re.MULTILINE | re.DOTALL)
_EXPECT = re.compile(r"\s+#\s*expect exit (\d+)\s*$")


@dataclass(frozen=True)
class Command:
    args: tuple[str, ...]
    expect: int
    line: str


def commands(runbook: str) -> list[Command]:
    """The `provision` commands of a runbook's ```bash blocks, in order, with the exit code each expects."""
    found = []
    for block in _BLOCK.findall((RUNBOOKS / runbook).read_text()):
        for line in block.splitlines():
            if not line.startswith("provision "):
                continue
            expect = _EXPECT.search(line)
            text = _EXPECT.sub("", line)
            args = tuple(os.path.expandvars(a) for a in shlex.split(text)[1:])
            found.append(Command(args, int(expect.group(1)) if expect else 0, text))
    return found


def play_console_step(cli: Cli) -> None:
    """What the operator does in the console: add every declared member with its role."""
    from datetime import UTC, datetime

    from provision.flow import prepare

    prepared = prepare(cli.home / "manifests" / "example.yaml", now=datetime.now(UTC))
    for member in (s for s in prepared.desired.present if isinstance(s, MemberSpec)):
        cli.cloud.add_member(cli.workspace_id(member.workspace), member.user, member.role or "guest")


def run_runbook(cli: Cli, runbook: str) -> list[str]:
    """Run a runbook's commands; the outputs, one per command."""
    outputs = []
    console_done = False
    for command in commands(runbook):
        if command.args[:2] == ("membership", "confirm") and not console_done:
            play_console_step(cli)
            console_done = True
        result = cli(*command.args)
        failure = f"{runbook}: `{command.line}` exited {result.exit_code}, expected {command.expect}"
        assert result.exit_code == command.expect, f"{failure}\n{result.stdout}{result.stderr}"
        outputs.append(result.stdout + result.stderr)
    return outputs


@pytest.fixture
def runbook_cli(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """The CLI in a directory laid out like the repository (manifests/), as the runbooks assume."""
    shutil.copytree(cli.manifests, cli.home / "manifests")
    monkeypatch.setenv("USER", "runbook-operator")
    return cli


def test_runbooks_name_only_commands_the_cli_has() -> None:
    from typer.main import get_command

    from provision.cli import app

    group = get_command(app)
    for runbook in sorted(RUNBOOKS.glob("*.md")):
        for command in commands(runbook.name):
            name = command.args[0]
            assert name in group.commands, f"{runbook.name}: `{command.line}` names no command"  # type: ignore[attr-defined]


def test_onboarding_then_revoke_runbooks_run_as_written(runbook_cli: Cli) -> None:
    cli = runbook_cli
    onboarding = commands("onboarding.md")
    assert [c.args[0] for c in onboarding][:3] == ["plan", "apply", "membership"]

    outputs = run_runbook(cli, "onboarding.md")

    assert "apply: 15 done, 0 failed, 0 skipped, 2 manual" in outputs[1]
    assert "verify: 13 passed, 0 failed" in "".join(outputs)
    assert (cli.home / "onboarding-audit.html").exists()
    delivered = cli.secrets()
    assert len(delivered) >= 5

    revoke_outputs = run_runbook(cli, "revoke.md")

    revokes = [out for command, out in zip(commands("revoke.md"), revoke_outputs, strict=True)
               if command.args[0] == "revoke"]
    assert len(revokes) == 4 and all("access is gone" in out for out in revokes)
    assert "BAILIAN-007" not in (cli.home / "revoke-audit.md").read_text()
    client = RamClient(cli.cloud.sdk_config())
    users = client.list_users(ram.ListUsersRequest()).body.users.user or []
    assert not {"acme-delivery", "acme-lead"} & {u.user_name for u in users}
    assert not [s for s in delivered if any(s in out for out in cli.outputs)]


ROTATION = """version: 1
name: rotation
cloud: {site: public, region: cn-beijing}
users:
  - name: agent
    access_keys: %d
    expires_at: 2099-01-01T00:00:00Z
"""


def test_rotation_runbook_replaces_the_key_and_leaves_a_usable_env_file(cli: Cli) -> None:
    manifest = cli.manifest("rotation.yaml", ROTATION % 1)
    assert cli("apply", "-m", manifest, "--auto-approve").exit_code == 0
    sink = SecretSink(cli.secrets_dir)
    [old] = sink.access_keys("agent")

    cli.manifest("rotation.yaml", ROTATION % 2)  # step 1: a second key next to the old one
    assert cli("apply", "-m", manifest, "--auto-approve").exit_code == 0
    [new] = set(sink.access_keys("agent")) - {old}
    cli.manifest("rotation.yaml", ROTATION % 1)  # step 3: back to one key, the oldest goes
    result = cli("apply", "-m", manifest, "--auto-approve")

    assert result.exit_code == 0 and f"deleted {old}" in result.stderr
    entries = sink.read("agent")
    assert entries["ALIBABA_CLOUD_ACCESS_KEY_ID"] == new
    assert entries["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] == sink.access_key_secret("agent", new)
    assert cli("plan", "-m", manifest, "--detailed-exitcode").exit_code == 0


def test_interrupted_apply_runbook_recovers_with_plan_then_apply(runbook_cli: Cli) -> None:
    cli = runbook_cli
    cli.cloud.set_faults(action="CreateWorkspace", latency_ms=1500)  # a slow call to be interrupted in
    process = subprocess.Popen([*cli.entry_point, "apply", "-m", "manifests/example.yaml", "--auto-approve"],
                               cwd=cli.home, env={**os.environ, **cli.env}, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    for line in process.stderr:  # a first resource is made (the workspace is still in flight): Ctrl-C
        if "created ram.user/" in line:
            break
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=60)
    assert process.returncode == 130, rest
    cli.cloud.clear_faults()

    outputs = run_runbook(cli, "interrupted-apply.md")

    assert "+ create modelstudio.grant/agent-delivery/qwen-plus" in outputs[0]  # waited for the workspace
    assert "ram.user/acme-delivery" not in outputs[0] and "Unmanaged" not in outputs[0]
    assert cli("plan", "-m", "manifests/example.yaml", "--detailed-exitcode").exit_code == 0

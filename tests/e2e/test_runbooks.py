"""The runbooks' commands are real: each `provision ...` line of their ```bash blocks runs, in order, against
the emulator with the example manifest, and must exit as the runbook says (0, or `# expect exit N`).

The console steps a human does in Model Studio are played by the emulator's console stand-in: adding the
declared members right before the first `provision membership confirm --role`, removing them right before
the first `provision membership confirm --removed`. The rotation runbook changes the manifest between
commands, so its procedure is followed step by step in its own test. And every `provision ...` command the
README, the runbooks and docs/ show (code spans and blocks) names a command and options the CLI has.
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
from typing import TYPE_CHECKING, Any

import pytest
from alibabacloud_ram20150501 import models as ram
from alibabacloud_ram20150501.client import Client as RamClient

from provision.clock import now
from provision.desired.resources import MemberSpec
from provision.engine.flow import prepare
from provision.state.secrets import SecretSink

if TYPE_CHECKING:
    from tests.e2e.conftest import Cli

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
RUNBOOKS = ROOT / "runbooks"
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


def declared_members(cli: Cli) -> list[MemberSpec]:
    """The example manifest's workspace members, as the tool's clock (PROVISION_NOW) sees them."""
    prepared = prepare(cli.home / "manifests" / "example.yaml", now=now())
    return [s for s in prepared.desired.present if isinstance(s, MemberSpec)]


def play_console_step(cli: Cli, removal: bool) -> None:
    """What the operator does in the console: add every declared member with its role, or remove them."""
    for member in declared_members(cli):
        workspace_id = cli.workspace_id(member.workspace)
        if removal:
            cli.cloud.remove_member(workspace_id, member.user)
        else:
            cli.cloud.add_member(workspace_id, member.user, member.role or "guest")


def run_runbook(cli: Cli, runbook: str) -> list[str]:
    """Run a runbook's commands; the outputs, one per command."""
    outputs = []
    console_done: set[bool] = set()  # which console steps were played: True for the removal
    for command in commands(runbook):
        removal = "--removed" in command.args
        if command.args[:2] == ("membership", "confirm") and removal not in console_done:
            play_console_step(cli, removal)
            console_done.add(removal)
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


def mentioned_commands(text: str) -> list[str]:
    """Every `provision ...` command a document shows: in an inline code span, or a line of a code block
    (its ``$ `` prompt and ``VAR=value`` prefixes dropped)."""
    spans = re.findall(r"(?<!`)`([^`]+)`(?!`)", _BLOCK.sub("", re.sub(r"```(?!bash).*?```", "", text,
                                                                        flags=re.DOTALL)))
    blocks = [line for block in re.findall(r"^```[a-z]*\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
              for line in block.splitlines()]
    found = []
    for candidate in [" ".join(span.split()) for span in spans] + blocks:
        words = candidate.strip().removeprefix("$ ").split()
        while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
            words = words[1:]
        if len(words) > 1 and words[0] == "provision":
            found.append(" ".join(words))
    return found


def test_docs_name_only_commands_and_options_the_cli_has() -> None:
    from typer.main import get_command

    from provision.cli.app import app

    root: Any = get_command(app)  # typer's own click: groups are told apart by their `commands`
    documents = [ROOT / "README.md", *sorted(RUNBOOKS.glob("*.md")), *sorted((ROOT / "docs").glob("*.md"))]
    checked = 0
    for document in documents:
        for line in mentioned_commands(document.read_text()):
            words = [w for w in line.split()[1:] if not w.startswith("[")]  # usage synopses: [OPTIONS]
            command = root
            while words and words[0] in getattr(command, "commands", {}):
                command, words = command.commands[words[0]], words[1:]
            where = f"{document.relative_to(ROOT)}: `{line}`"
            assert command is not root or words[:1] == ["COMMAND"], f"{where} names no command"
            options = {"--help", *(opt for param in command.params for opt in param.opts)}
            unknown = [w.split("=")[0] for w in words if w.startswith("-") and w.split("=")[0] not in options]
            assert not unknown, f"{where}: no option {unknown} in `provision {command.name}`"
            checked += 1
    assert checked > 50  # the documents do show commands: the parser found them


def test_onboarding_then_revoke_runbooks_run_as_written(runbook_cli: Cli) -> None:
    cli = runbook_cli
    onboarding = commands("onboarding.md")
    assert [c.args[0] for c in onboarding][:3] == ["plan", "apply", "membership"]

    outputs = run_runbook(cli, "onboarding.md")

    assert "apply: 15 done, 0 failed, 0 skipped, 2 manual" in outputs[1]
    assert "verify: 21 passed, 0 failed" in "".join(outputs)
    assert (cli.home / "onboarding-audit.html").exists()
    delivered = cli.secrets()
    assert len(delivered) >= 5

    revoke_outputs = run_runbook(cli, "revoke.md")

    ran = list(zip(commands("revoke.md"), revoke_outputs, strict=True))
    revokes = [out for command, out in ran if command.args[0] == "revoke"]
    assert len(revokes) == 4 and all("access is gone" in out for out in revokes)
    removals = [out for command, out in ran if "--removed" in command.args]
    assert len(removals) == 2 and all("was removed from workspace agent-delivery" in out for out in removals)
    [final_plan] = [out for command, out in ran if "--detailed-exitcode" in command.args]
    assert "No changes." in final_plan and "Manual steps" not in final_plan  # the removals were recorded
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


def remove_lines(sink: SecretSink, account: str, name: str) -> None:
    """What the operator does for a leak: delete the env file lines that start with ``name=``."""
    path = sink.directory / f"{account}.env"
    path.write_text("".join(line for line in path.read_text().splitlines(keepends=True)
                            if not line.startswith(f"{name}=")))


def test_rotation_runbook_replaces_leaked_keys_only_with_the_switch(runbook_cli: Cli) -> None:
    cli = runbook_cli
    assert cli("apply", "-m", "manifests/example.yaml", "--auto-approve").exit_code == 0
    sink = SecretSink(cli.secrets_dir)
    [leaked] = sink.access_keys("acme-lead")
    api_key = sink.api_key("acme-delivery", "agent-delivery", "main")
    assert api_key is not None
    remove_lines(sink, "acme-lead", f"ACCESS_KEY_{leaked}")  # B step 1
    remove_lines(sink, "acme-delivery", "DASHSCOPE_API_KEY_AGENT_DELIVERY_MAIN")  # C: the leaked value

    reported, planned, applied, final = run_runbook(cli, "rotate-keys.md")

    lost = "and no hand-off of it was recorded (the secret is lost): rotate with --rotate-missing-secrets"
    assert f"✗ ram.access_keys/acme-lead: secret of {leaked} missing from the secrets sink, {lost}" \
        in reported
    assert ("✗ modelstudio.api_key/agent-delivery/main: secret of API key agent-delivery/main missing from "
            f"the secrets sink, {lost}") in reported
    assert (f"~ update ram.access_keys/acme-lead (rotate: secret of {leaked} missing from the secrets sink)"
            in planned)
    assert f"deleted {leaked}" in applied
    assert "modelstudio.api_key/agent-delivery/main" in applied and "rotated (value sha256:" in applied
    assert "0 to create, 0 to update, 0 to delete" in final and "Warnings" not in final  # members: manual
    [new] = sink.access_keys("acme-lead")
    assert new != leaked and sink.read("acme-lead")["ALIBABA_CLOUD_ACCESS_KEY_ID"] == new
    reset = sink.api_key("acme-delivery", "agent-delivery", "main")
    assert reset is not None and reset[0] == api_key[0] and reset[1] != api_key[1]


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

"""The safety promises of issue 8, through the CLI against the emulator: one ownership rule for plan and
revoke, and a delete's cascade that is exactly what apply does.
"""

from __future__ import annotations

import shlex
import socket
from typing import TYPE_CHECKING

import pytest
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_ram20150501.client import Client as RamClient

from provision.state.statefile import StateFile

if TYPE_CHECKING:
    from tests.e2e.conftest import Cli, Result

pytestmark = pytest.mark.e2e

USER = "shared-agent"

OWNER = """version: 1
name: other-team
cloud: {site: public, region: cn-beijing}
users:
  - name: shared-agent
    access_keys: 1
    policies: {system: [AliyunBailianDataReadOnlyAccess]}
"""

MINE = """version: 1
name: mine
cloud: {site: public, region: cn-beijing}
users:
  - name: shared-agent
    access_keys: 1
    expires_at: 2026-01-01T00:00:00Z
"""

DOOMED = """version: 1
name: doomed
cloud: {site: public, region: cn-beijing}
users:
  - name: leaver
    access_keys: 1
    console_login: {enabled: true}
    policies: {system: [AliyunBailianDataReadOnlyAccess]}
    state: STATE
"""


def output(result: Result) -> str:
    return result.stdout + result.stderr


def ram(cli: Cli) -> RamClient:
    return RamClient(cli.cloud.sdk_config())


def access_keys(cli: Cli, user: str) -> list[str]:
    listed = ram(cli).list_access_keys(ram_models.ListAccessKeysRequest(user_name=user)).body
    return [k.access_key_id for k in listed.access_keys.access_key or []]


def test_revoke_refuses_a_user_another_manifest_owns_and_deletes_nothing(cli: Cli) -> None:
    other = cli.manifest("other.yaml", OWNER)
    applied = cli("apply", "-m", other, "--auto-approve")
    assert applied.exit_code == 0, output(applied)
    comments = ram(cli).get_user(ram_models.GetUserRequest(user_name=USER)).body.user.comments
    assert "managed-by=provision manifest=other-team" in comments
    keys = access_keys(cli, USER)
    assert len(keys) == 1
    mine = cli.manifest("mine.yaml", MINE)

    plan = cli("plan", "-m", mine, "--json").json()
    [user] = [c for c in plan["changes"] if c["key"] == f"ram.user/{USER}"]
    assert user["action"] == "no-op" and user["reason"].startswith("unmanaged look-alike: not touched")

    revoked = cli("revoke", "-m", mine, "--user", USER, "--auto-approve")

    assert revoked.exit_code != 0
    assert "other-team" in revoked.stderr and "adopt: true" in revoked.stderr
    assert "Traceback" not in output(revoked)
    assert access_keys(cli, USER) == keys  # nothing deleted
    policies = ram(cli).list_policies_for_user(ram_models.ListPoliciesForUserRequest(user_name=USER))
    assert [p.policy_name for p in policies.body.policies.policy] == ["AliyunBailianDataReadOnlyAccess"]
    assert cli("plan", "-m", other, "--detailed-exitcode").exit_code == 0  # its owner still has it all


def test_a_delete_shows_the_steps_apply_then_performs_mfa_device_included(cli: Cli) -> None:
    present = cli.manifest("doomed.yaml", DOOMED.replace("STATE", "present"))
    assert cli("apply", "-m", present, "--auto-approve").exit_code == 0
    client = ram(cli)
    device = client.create_virtual_mfadevice(ram_models.CreateVirtualMFADeviceRequest(
        virtual_mfadevice_name="leaver-phone")).body.virtual_mfadevice
    client.bind_mfadevice(ram_models.BindMFADeviceRequest(
        user_name="leaver", serial_number=device.serial_number, authentication_code_1="123456",
        authentication_code_2="654321"))
    [key_id] = access_keys(cli, "leaver")
    absent = cli.manifest("doomed.yaml", DOOMED.replace("STATE", "absent"))

    plan = cli("plan", "-m", absent, "--allow-destroy", "--json").json()
    [user] = [c for c in plan["changes"] if c["key"] == "ram.user/leaver"]
    assert user["action"] == "delete"
    assert user["cascade"] == [
        f"deactivate access key {key_id}", f"delete access key {key_id}", "delete login profile",
        "detach policy System:AliyunBailianDataReadOnlyAccess", f"unbind MFA device {device.serial_number}",
        f"delete MFA device {device.serial_number}", "delete user"]
    text = cli("plan", "-m", absent, "--allow-destroy").stdout
    assert f"delete MFA device {device.serial_number}" in text

    applied = cli("apply", "-m", absent, "--allow-destroy", "--auto-approve")

    assert applied.exit_code == 0, output(applied)
    [line] = [ln for ln in applied.stderr.splitlines() if "ram.user/leaver" in ln and "deleted" in ln]
    performed = line.split("removed ", 1)[1].rstrip(")").split("; ")
    assert performed == user["cascade"][:-1]  # exactly the listed steps, in order, then DeleteUser
    assert client.list_virtual_mfadevices().body.virtual_mfadevices.virtual_mfadevice == []


HINTS = """version: 1
name: {{ team }}
cloud: {site: public, region: cn-beijing}
users:
  - name: hint-lead
workspaces:
  - name: ws-hints
    models: [qwen-plus]
    members:
      - {user: hint-lead, role: admin}
"""


def test_printed_commands_carry_the_dirs_and_vars_given_and_confirm_checks_its_state(cli: Cli) -> None:
    manifest = cli.manifest("hints.yaml", HINTS)
    elsewhere, secrets = cli.home / "elsewhere", cli.home / "elsewhere-secrets"
    given = ("--var", "team=hints", "--state-dir", str(elsewhere), "--secrets-dir", str(secrets))
    applied = cli("apply", "-m", manifest, *given, "--auto-approve")
    assert applied.exit_code == 0, output(applied)
    lines = [ln for ln in applied.stdout.splitlines() if "then run: provision membership confirm" in ln]
    assert lines  # the plan shown, and the console steps left
    commands = [shlex.split(ln.split("then run: ", 1)[1]) for ln in lines]
    for command in commands:
        assert command[:3] == ["provision", "membership", "confirm"]
        assert all(option in command for option in given)
    command = commands[-1]

    confirmed = cli(*command[1:])

    assert confirmed.exit_code == 0, output(confirmed)
    assert StateFile(elsewhere / "state.json").confirmation("ws-hints", "hint-lead") is not None
    assert not (cli.state_dir / "state.json").exists()  # the default state dir was never written
    plan = cli("plan", "-m", manifest, *given, "--json").json()
    assert [c for c in plan["changes"] if c["action"] == "manual"] == []

    unknown = cli("membership", "confirm", "-m", manifest, "--var", "team=hints", "--workspace", "ws-hints",
                  "--user", "hint-lead", "--role", "admin")  # the default state dir: it knows no workspace
    assert unknown.exit_code == 1
    assert str(cli.state_dir) in unknown.stderr and "ws-hints" in unknown.stderr
    assert not (cli.state_dir / "state.json").exists()


def test_confirm_refuses_a_role_other_than_the_declared_one(cli: Cli) -> None:
    manifest = cli.manifest("hints.yaml", HINTS)
    assert cli("apply", "-m", manifest, "--var", "team=hints", "--auto-approve").exit_code == 0

    guest = cli("membership", "confirm", "-m", manifest, "--var", "team=hints", "--workspace", "ws-hints",
                "--user", "hint-lead", "--role", "guest")

    assert guest.exit_code == 1
    assert "declared admin" in guest.stderr and "Traceback" not in output(guest)
    assert cli.state().confirmation("ws-hints", "hint-lead") is None


def test_a_second_revoke_does_not_reopen_a_console_removal_confirmed_done(cli: Cli) -> None:
    example, past = cli.manifests / "example.yaml", ("--var", "expires=2000-01-01T00:00:00Z")
    user, workspace = "acme-delivery", "agent-delivery"
    future = ("--var", "expires=2999-01-01T00:00:00Z")
    assert cli("apply", "-m", example, *future, "--auto-approve").exit_code == 0
    workspace_id = cli.workspace_id(workspace)
    cli.cloud.add_member(workspace_id, user, "guest")
    first = cli("revoke", "-m", example, *past, "--user", user, "--auto-approve")
    assert first.exit_code == 0, output(first)
    assert cli.state().pending_removal(workspace, user) is not None
    cli.cloud.remove_member(workspace_id, user)  # the console step
    done = cli("membership", "confirm", "-m", example, *past, "--workspace", workspace, "--user", user,
               "--removed")
    assert done.exit_code == 0, output(done)

    again = cli("revoke", "-m", example, *past, "--user", user, "--auto-approve")

    assert again.exit_code == 0, output(again)
    assert cli.state().pending_removal(workspace, user) is None
    assert f"remove from workspace {workspace}" not in output(again)
    plan = cli("plan", "-m", example, *past, "--json").json()
    assert f"modelstudio.member/{workspace}/{user}" not in {
        c["key"] for c in plan["changes"] if c["action"] == "manual"}


def test_emulator_serve_says_in_one_line_why_it_cannot_start(offline_cli: Cli) -> None:
    bad_seed = offline_cli.manifest("seed.yaml", "accounts: []\nbogus_key: 1\n")
    seeded = offline_cli.subprocess("emulator", "serve", "--seed", bad_seed)
    assert seeded.exit_code == 1
    assert seeded.stderr.startswith("error: --seed ") and "bogus_key" in seeded.stderr
    assert "Traceback" not in seeded.stderr and len(seeded.stderr.strip().splitlines()) == 1

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = offline_cli.subprocess("emulator", "serve", "--port", str(taken.getsockname()[1]))
    assert busy.exit_code == 1
    assert busy.stderr.startswith("error: cannot serve on 127.0.0.1:") and "--port" in busy.stderr
    assert "Traceback" not in busy.stderr and len(busy.stderr.strip().splitlines()) == 1


def test_deleting_a_user_leaves_no_empty_env_file_in_the_sink(cli: Cli) -> None:
    present = cli.manifest("doomed.yaml", DOOMED.replace("STATE", "present"))
    assert cli("apply", "-m", present, "--auto-approve").exit_code == 0
    assert (cli.secrets_dir / "leaver.env").exists()
    absent = cli.manifest("doomed.yaml", DOOMED.replace("STATE", "absent"))

    deleted = cli("apply", "-m", absent, "--allow-destroy", "--auto-approve")

    assert deleted.exit_code == 0, output(deleted)
    assert not (cli.secrets_dir / "leaver.env").exists()
    assert [p.name for p in cli.secrets_dir.glob("*.env") if not p.read_text().strip("\n").count("\n")] == []

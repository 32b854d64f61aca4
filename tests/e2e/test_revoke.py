"""`provision revoke` end to end: take a delivered account's access back, prove it, keep a record.

The account is delivered first (manifests/example.yaml applied through the CLI); the proofs are then
checked again here, independently, with the old credentials and the official SDKs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_tea_openapi.exceptions import ClientException
from old_credentials import caller_error, chat_status

from provision.state.secrets import SecretSink, fingerprint

if TYPE_CHECKING:
    from tests.e2e.conftest import Cli, Result

pytestmark = pytest.mark.e2e

USER = "acme-delivery"
PAST = ("--var", "expires=2000-01-01T00:00:00Z")  # the manifest's expires_at, already passed
FUTURE = ("--var", "expires=2999-01-01T00:00:00Z")


def example(cli: Cli) -> Path:
    return cli.manifests / "example.yaml"


def deliver(cli: Cli) -> dict[str, str]:
    """Apply the example manifest; the delivery account's secrets as the sink holds them (name → value)."""
    result = cli("apply", "-m", example(cli), *FUTURE, "--auto-approve")
    assert result.exit_code == 0, result.stdout + result.stderr
    secrets = SecretSink(cli.secrets_dir).read(USER)
    assert secrets["ALIBABA_CLOUD_ACCESS_KEY_ID"] and secrets["DASHSCOPE_API_KEY"]
    return secrets


def revoke(cli: Cli, *extra: str) -> Result:
    return cli("revoke", "-m", example(cli), *PAST, "--user", USER, "--auto-approve", "--json", *extra)


def ram(cli: Cli) -> RamClient:
    return RamClient(cli.cloud.sdk_config())




def records(cli: Cli) -> list[dict[str, Any]]:
    """Every revocation record written, oldest first."""
    paths = sorted((cli.state_dir / "records").glob(f"revoke-{USER}-*.json"),
                   key=lambda p: p.stat().st_mtime_ns)
    return [json.loads(p.read_text()) for p in paths]


def assert_no_secret_leaked(cli: Cli, secrets: dict[str, str]) -> None:
    values = [v for k, v in secrets.items() if not k.endswith("_ID") and len(v) > 8]
    written = [p.read_text() for p in (cli.state_dir / "records").glob("*.json")]
    for text in [*cli.outputs, *written]:
        for value in values:
            assert value not in text


def test_revoke_takes_access_back_and_proves_it_with_the_old_credentials(cli: Cli) -> None:
    secrets = deliver(cli)
    key_id, key_secret = secrets["ALIBABA_CLOUD_ACCESS_KEY_ID"], secrets["ALIBABA_CLOUD_ACCESS_KEY_SECRET"]
    api_key, api_key_id = secrets["DASHSCOPE_API_KEY"], secrets["DASHSCOPE_API_KEY_ID"]
    assert caller_error(cli.cloud, key_id, key_secret) == "" and chat_status(cli.cloud, api_key) == 200

    result = revoke(cli)

    assert result.exit_code == 0, result.stdout + result.stderr
    # Proven independently of the tool: the old credentials are dead, nothing is left in RAM.
    assert caller_error(cli.cloud, key_id, key_secret) == "InvalidAccessKeyId.NotFound"
    assert chat_status(cli.cloud, api_key) == 401
    assert ram(cli).list_policies_for_user(ram_models.ListPoliciesForUserRequest(user_name=USER)) \
        .body.policies.policy == []
    [record] = records(cli)
    assert result.json()["record"].endswith(".json") and result.json()["proofs"] == record["proofs"]
    assert (record["user"], record["delete_user"], record["ok"]) == (USER, False, True)
    assert record["why"] == "its expires_at 2000-01-01T00:00:00Z has passed"
    steps = {s["step"]: s["result"] for s in record["steps"]}
    assert steps[f"deactivate access key {key_id}"] == steps[f"delete access key {key_id}"] == "done"
    assert list(steps).index(f"deactivate access key {key_id}") == 0  # locked out first
    assert steps["detach policy System:AliyunBailianDataReadOnlyAccess"] == "done"
    assert steps["detach policy Custom:AcmeBailianAppReader"] == "done"
    assert steps[f"delete API key agent-delivery/main ({api_key_id})"] == "done"
    assert steps["remove from workspace agent-delivery (console)"] == "manual"
    assert "remove RAM user acme-delivery from workspace agent-delivery" in record["checklist"][0]
    proofs = {p["id"]: p for p in record["proofs"]}
    assert all(p["holds"] for p in proofs.values())
    assert (proofs[f"access-key/{key_id}"]["code"], proofs[f"access-key/{key_id}"]["status"]) == \
        ("InvalidAccessKeyId.NotFound", 404)
    assert proofs["api-key/agent-delivery/main"]["status"] == 401
    assert proofs["login-profile"]["code"] == "EntityNotExist.User.LoginProfile"
    assert proofs["policies"]["observed"] == "none listed"
    credentials = {(c["kind"], c["id"], c["fingerprint"], c["dropped_from_sink"])
                   for c in record["credentials"]}
    assert credentials == {("access-key", key_id, fingerprint(key_secret), True),
                           ("api-key", api_key_id, fingerprint(api_key), True)}
    # The dead secrets left the sink; the other account's did not.
    assert not set(secrets.values()) & set(SecretSink(cli.secrets_dir).read(USER).values())
    assert SecretSink(cli.secrets_dir).access_keys("acme-lead")
    assert_no_secret_leaked(cli, secrets)


def test_plan_after_revoke_grants_nothing_back(cli: Cli) -> None:
    deliver(cli)
    assert revoke(cli).exit_code == 0

    plan = cli("plan", "-m", example(cli), *PAST, "--json").json()

    touching = [(c["key"], c["action"]) for c in plan["changes"]
                if USER in c["key"] and c["action"] != "no-op"]
    # only the console removal revoke asked for, which stays listed until it is confirmed done
    assert touching == [(f"modelstudio.member/agent-delivery/{USER}", "manual")]
    assert not [c for c in plan["changes"] if c["key"].startswith("modelstudio.api_key/")
                and c["action"] == "create"]


def test_second_revoke_finds_everything_gone_and_the_proofs_still_hold(cli: Cli) -> None:
    secrets = deliver(cli)
    assert revoke(cli).exit_code == 0

    again = revoke(cli)

    assert again.exit_code == 0, again.stdout + again.stderr
    first, second = records(cli)
    assert {s["result"] for s in second["steps"]} == {"already gone", "manual"}
    assert second["credentials"] == []  # the first run dropped them: nothing left to leak or reuse
    assert {p["id"] for p in second["proofs"]} >= {"login-profile", "access-keys", "policies", "api-keys"}
    assert all(p["holds"] for p in second["proofs"]) and second["ok"]
    assert first["started_at"] <= second["started_at"]
    assert_no_secret_leaked(cli, secrets)


def test_revoke_with_delete_user_removes_groups_mfa_and_the_user(cli: Cli) -> None:
    secrets = deliver(cli)
    client = ram(cli)
    client.create_group(ram_models.CreateGroupRequest(group_name="delivery"))
    client.add_user_to_group(ram_models.AddUserToGroupRequest(group_name="delivery", user_name=USER))
    device = client.create_virtual_mfadevice(ram_models.CreateVirtualMFADeviceRequest(
        virtual_mfadevice_name=USER)).body.virtual_mfadevice
    client.bind_mfadevice(ram_models.BindMFADeviceRequest(
        user_name=USER, serial_number=device.serial_number, authentication_code_1="123456",
        authentication_code_2="654321"))

    result = revoke(cli, "--delete-user")

    assert result.exit_code == 0, result.stdout + result.stderr
    with pytest.raises(ClientException) as gone:
        client.get_user(ram_models.GetUserRequest(user_name=USER))
    assert gone.value.code == "EntityNotExist.User"
    assert client.list_virtual_mfadevices().body.virtual_mfadevices.virtual_mfadevice == []
    [record] = records(cli)
    steps = {s["step"]: s["result"] for s in record["steps"]}
    assert steps["remove from group delivery"] == "done"
    assert steps[f"unbind MFA device {device.serial_number}"] == "done"
    assert steps[f"delete MFA device {device.serial_number}"] == "done"
    assert record["steps"][-1] == {"step": "delete user", "result": "done"}
    proofs = {p["id"]: p for p in record["proofs"]}
    assert proofs["user"]["holds"] and proofs["groups"]["holds"] and proofs["mfa"]["holds"]
    plan = cli("plan", "-m", example(cli), *PAST, "--json").json()
    [user_change] = [c for c in plan["changes"] if c["key"] == f"ram.user/{USER}"]
    assert user_change["action"] == "no-op" and "not created" in user_change["reason"]
    assert_no_secret_leaked(cli, secrets)


def test_revoke_refuses_while_the_manifest_still_grants_the_user(cli: Cli) -> None:
    secrets = deliver(cli)

    result = cli("revoke", "-m", example(cli), *FUTURE, "--user", USER, "--auto-approve")

    assert result.exit_code == 1
    assert "set users[0].expires_at to" in result.stderr and "state: absent" in result.stderr
    assert caller_error(cli.cloud, secrets["ALIBABA_CLOUD_ACCESS_KEY_ID"],
                        secrets["ALIBABA_CLOUD_ACCESS_KEY_SECRET"]) == ""
    assert not (cli.state_dir / "records").exists()


def test_revoke_without_a_terminal_asks_nothing_and_changes_nothing(cli: Cli) -> None:
    secrets = deliver(cli)

    result = cli("revoke", "-m", example(cli), *PAST, "--user", USER)

    assert result.exit_code == 1
    assert "deactivate access key" in result.stdout  # the steps were shown
    assert "stdin is not a terminal" in result.stderr and "--auto-approve" in result.stderr
    assert chat_status(cli.cloud, secrets["DASHSCOPE_API_KEY"]) == 200
    assert SecretSink(cli.secrets_dir).read(USER) == secrets


ABSENT = """version: 1
name: absent
cloud: {site: public, region: cn-beijing}
users:
  - name: tester
    access_keys: 1
    console_login: {enabled: true}
    policies: {system: [AliyunBailianDataReadOnlyAccess]}
    expires_at: 2999-01-01T00:00:00Z
    state: %(state)s
    protect: %(protect)s
workspaces:
  - name: ws-absent
    models: [qwen-plus]
    api_keys: %(keys)s
"""
KEY = "[{name: main, issued_to: tester}]"


def test_revoke_of_a_user_declared_absent_finds_the_keys_it_was_issued(cli: Cli) -> None:
    delivered = cli.manifest("delivered.yaml", ABSENT % {"state": "present", "protect": "false", "keys": KEY})
    assert cli("apply", "-m", delivered, "--auto-approve").exit_code == 0
    secrets = SecretSink(cli.secrets_dir).read("tester")
    # The manifest now declares the user absent; its key is no longer declared (lint requires it).
    absent = cli.manifest("absent.yaml", ABSENT % {"state": "absent", "protect": "false", "keys": "[]"})

    result = cli("revoke", "-m", absent, "--user", "tester", "--auto-approve")

    assert result.exit_code == 0, result.stdout + result.stderr
    assert "the manifest declares it state: absent" in result.stdout
    assert chat_status(cli.cloud, secrets["DASHSCOPE_API_KEY"]) == 401
    [record] = [json.loads(p.read_text()) for p in (cli.state_dir / "records").glob("revoke-tester-*.json")]
    proofs = {p["id"]: p for p in record["proofs"]}
    assert proofs["api-key/ws-absent/main"]["holds"] and proofs["login-profile"]["holds"]
    plan = cli("plan", "-m", absent, "--json").json()
    assert {c["action"] for c in plan["changes"]} <= {"no-op", "refused"}  # deleting the user needs a flag
    assert_no_secret_leaked(cli, secrets)


def test_revoke_refuses_to_delete_a_protected_user(cli: Cli) -> None:
    absent = cli.manifest("absent.yaml", ABSENT % {"state": "absent", "protect": "true", "keys": "[]"})

    result = cli("revoke", "-m", absent, "--user", "tester", "--delete-user", "--auto-approve")

    assert result.exit_code == 1 and "protect: true" in result.stderr

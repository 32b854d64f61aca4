"""The Huawei reader against the emulator, through the official SDKs: every fact a delivery leaves, typed."""

from __future__ import annotations

import pytest

from provision.emulator.huawei.testing import HuaweiClients as EmuClients
from provision.emulator.testing import EmulatorHandle
from provision.errors import ProvisionError
from provision.providers.common.outcomes import Outcome
from provision.providers.huawei.clients import HuaweiCallError, HuaweiClients, HuaweiCredentials, HuaweiTarget
from provision.providers.huawei.read import (
    read_account,
    read_caller,
    read_user,
    read_workspace,
)
from tests.huawei_checks.conftest import AGENT_WORKSPACE, deliver, guardrail


def test_the_target_routes_every_service_to_provision_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVISION_ENDPOINT", "http://127.0.0.1:8930")
    target = HuaweiTarget.from_env()
    assert {target.url(s) for s in ("iam", "sts", "modelarts", "vpcep", "organizations", "pangu")} == {
        "http://127.0.0.1:8930"
    }
    monkeypatch.delenv("PROVISION_ENDPOINT")
    real = HuaweiTarget.from_env(endpoints={"pangu": "https://pangu.example"})
    assert real.url("iam") == "https://iam.cn-southwest-2.myhuaweicloud.com"
    assert real.url("organizations") == "https://organizations.myhuaweicloud.com"
    assert real.url("pangu") == "https://pangu.example"
    monkeypatch.setenv("PROVISION_ENDPOINT", "ftp://x")
    with pytest.raises(ProvisionError, match="PROVISION_ENDPOINT"):
        HuaweiTarget.from_env()


def test_credentials_come_from_the_sdks_variables_and_never_show(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUAWEICLOUD_SDK_AK", raising=False)
    with pytest.raises(ProvisionError, match="HUAWEICLOUD_SDK_AK"):
        HuaweiCredentials.from_env()
    monkeypatch.setenv("HUAWEICLOUD_SDK_AK", "AKID")
    monkeypatch.setenv("HUAWEICLOUD_SDK_SK", "very-secret-sk")
    assert "very-secret-sk" not in repr(HuaweiCredentials.from_env())


def test_ids_are_looked_up_once_and_the_caller_is_the_root(clients: HuaweiClients, hw: EmuClients) -> None:
    assert (clients.project_id, clients.domain_id) == (hw.project_id, hw.domain_id)
    caller = read_caller(clients)
    assert caller.account_id == hw.domain_id and caller.user_name is None


def test_a_wrong_secret_is_an_error_naming_resource_action_code_and_what_to_do(
    clients: HuaweiClients,
) -> None:
    assert clients.project_id  # looked up with the right key; another identity of the account shares it
    bad = clients.for_key(clients.credentials.access_key_id, "wrong-secret")
    with pytest.raises(HuaweiCallError) as info:
        read_caller(bad)
    err = info.value
    assert (err.code, err.status, err.outcome) == ("APIG.0301", 401, Outcome.FAIL)
    text = str(err)
    assert text.startswith("sts.caller: GetCallerIdentity failed with APIG.0301 (HTTP 401)")
    assert "HUAWEICLOUD_SDK_AK" in text and "request id: " in text and "wrong-secret" not in text


def test_throttling_is_retried(clients: HuaweiClients, hw: EmuClients, emulator: EmulatorHandle) -> None:
    emulator.set_faults(action="GetCallerIdentity", throttle_rate=1.0)
    with pytest.raises(HuaweiCallError) as info:
        read_caller(clients)
    assert info.value.code in ("APIG.0308", "429") and info.value.outcome is Outcome.RETRY
    assert emulator.stats()["actions"]["GetCallerIdentity"] == clients.retry.attempts


def test_read_user_has_keys_console_policies_groups_and_tags(clients: HuaweiClients, hw: EmuClients) -> None:
    d = deliver(hw)
    user = read_user(clients, d.user_id)
    assert (user.name, user.enabled, user.tag("managed-by")) == ("alice", True, "provision")
    assert [(k.access_key_id, k.active, k.last_used) for k in user.access_keys] == [
        (d.access_key_id, True, None)
    ]
    assert user.login_profile is not None and not user.login_profile.password_reset_required
    assert not user.mfa_known and user.mfa_devices == ()
    assert {p.ref for p in user.policies if p.via == "direct"} == {
        "system:PanguInvokePolicy",
        "system:ModelArtsWorkspaceReadOnlyPolicy",
    }
    assert [(p.ref, p.via) for p in user.policies if p.via != "direct"] == [
        ("custom:alice-keys", "group:alice-team")
    ]
    assert [g.name for g in user.groups] == ["alice-team"]
    read_caller(clients.for_key(d.access_key_id, d.secret))  # a use of the key...
    assert read_user(clients, d.user_id).access_keys[0].last_used  # ...is its last use


def test_read_account_reads_everything(clients: HuaweiClients, hw: EmuClients) -> None:
    d = deliver(hw)
    account = read_account(clients)
    assert [u.name for u in account.users] == ["alice"]
    assert [p.name for p in account.custom_policies] == ["alice-keys"]
    assert "modelarts:apiKey:list" in account.custom_policies[0].statements()[0]["Action"]
    ws = account.workspace(AGENT_WORKSPACE)
    assert ws is not None and ws.workspace_id == d.workspace_id and ws.visibility == "INTERNAL"
    assert ws.granted("alice") and [w.name for w in account.workspaces] == [AGENT_WORKSPACE]
    [key] = account.api_keys
    assert (key.key_id, key.label, key.ip_whitelist, key.open_to_any_address) == (
        d.api_key_id,
        "alice-main",
        ("127.0.0.1",),
        False,
    )
    assert d.api_key not in repr(account)
    [endpoint] = account.endpoints
    assert endpoint.endpoint_id == d.endpoint_id and endpoint.domains == (d.endpoint_domain,)
    assert endpoint.tag("managed-by") == "provision"
    assert [(s.name, s.builtin, s.attachments) for s in account.scps] == [("FullAccess", True, ())]
    scp_id = guardrail(
        hw, "no-policy-deletes", {"Effect": "Deny", "Action": ["organizations:policies:delete"]}
    )
    scps = {s.name: s for s in read_account(clients).scps}
    assert scps["no-policy-deletes"].policy_id == scp_id and "Deny" in scps["no-policy-deletes"].content
    assert [a.entity_id for a in scps["no-policy-deletes"].attachments] == [hw.domain_id]
    assert any("MFA" in n for n in account.notes)
    assert read_workspace(clients, "f" * 32) is None

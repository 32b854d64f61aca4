"""Huawei revoke proofs against the emulator: before the revocation they fail, after it they hold; the
proofs say that IAM tokens issued before may live up to 30 minutes and never show a secret."""

from __future__ import annotations

from huaweicloudsdkiam.v5 import (
    DeleteAccessKeyV5Request,
    DeleteLoginProfileV5Request,
    RemoveUserFromGroupReqBody,
    RemoveUserFromGroupV5Request,
)
from huaweicloudsdkmodelarts.v1 import UpdateWorkspaceReq, UpdateWorkspaceRequest

from provision.checks.huawei.proofs import TOKEN_NOTE, prove_revoked
from provision.checks.results import Credential
from provision.emulator.huawei.testing import HuaweiClients as EmuClients
from provision.emulator.testing import EmulatorHandle
from provision.providers.huawei.clients import HuaweiClients
from provision.providers.huawei.read import read_user
from tests.huawei_checks.conftest import AGENT_WORKSPACE, PASSWORD, Delivered, deliver


def _old(d: Delivered) -> tuple[Credential, ...]:
    return (
        Credential("access-key", d.access_key_id, d.secret),
        Credential("console-password", "", PASSWORD),
        Credential("api-key", d.api_key_id, d.api_key, workspace=AGENT_WORKSPACE, key_name="main"),
    )


def _revoke(hw: EmuClients, clients: HuaweiClients, d: Delivered) -> None:
    """What the revoke of the huawei branch does, by hand: keys, login, policies, groups, grants, API keys."""
    iam = hw.iam()
    user = read_user(clients, d.user_id)
    iam.delete_access_key_v5(DeleteAccessKeyV5Request(user_id=d.user_id, access_key_id=d.access_key_id))
    iam.delete_login_profile_v5(DeleteLoginProfileV5Request(user_id=d.user_id))
    for policy in (p for p in user.policies if p.via == "direct"):
        hw.signed("POST", f"/v5/policies/{policy.policy_id}/detach-user", {"user_id": d.user_id})
    for group in user.groups:
        iam.remove_user_from_group_v5(
            RemoveUserFromGroupV5Request(
                group_id=group.group_id, body=RemoveUserFromGroupReqBody(user_id=d.user_id)
            )
        )
    hw.modelarts().update_workspace(
        UpdateWorkspaceRequest(workspace_id=d.workspace_id, body=UpdateWorkspaceReq(grants=[]))
    )
    hw.signed("DELETE", f"/v1/{hw.project_id}/maas/api-auth/api-keys/{d.api_key_id}")


def test_proofs_fail_before_and_hold_after_the_revocation(
    emulator: EmulatorHandle, hw: EmuClients, clients: HuaweiClients
) -> None:
    d = deliver(hw)
    emulator.advance_clock(5)  # the API key is valid
    before = {p.id: p for p in prove_revoked(clients, "alice", _old(d), [AGENT_WORKSPACE])}
    assert {i for i, p in before.items() if p.holds} == {"iam-tokens"}
    assert before["iam-user/alice"].observed.startswith(
        "the user (enabled) still has 1 active access key(s); a console login; policies"
    )
    assert before["api-key/agent-delivery/main"].observed == "Pangu V2 still answers 200"

    _revoke(hw, clients, d)
    after = prove_revoked(clients, "alice", _old(d), [AGENT_WORKSPACE])
    assert all(p.holds for p in after), [p for p in after if not p.holds]
    by_id = {p.id: p for p in after}
    assert set(by_id) == {
        f"access-key/{d.access_key_id}",
        "console-password",
        "api-key/agent-delivery/main",
        f"workspace/{AGENT_WORKSPACE}",
        "iam-user/alice",
        "iam-tokens",
    }
    ak = by_id[f"access-key/{d.access_key_id}"]
    assert (ak.status, ak.code) == (401, "APIG.0301") and "up to 30 minutes" in ak.observed
    assert (by_id["console-password"].status, by_id["console-password"].code) == (401, "IAM.0101")
    assert by_id["api-key/agent-delivery/main"].status == 401
    assert by_id[f"workspace/{AGENT_WORKSPACE}"].observed == "INTERNAL workspace; grants: none"
    assert by_id["iam-tokens"].observed == TOKEN_NOTE
    shown = repr(after)
    assert d.secret not in shown and d.api_key not in shown and PASSWORD not in shown

"""ModelArts workspaces (grants, names, paging, async delete) through the SDK, and MaaS API keys (no SDK
method: requests signed by the SDK's own signer)."""

from __future__ import annotations

from huaweicloudsdkmodelarts.v1 import (
    CreateWorkspaceReq,
    CreateWorkspaceReqGrants,
    CreateWorkspaceRequest,
    DeleteWorkspaceRequest,
    ListWorkspaceRequest,
    ShowWorkspaceRequest,
    UpdateWorkspaceReq,
    UpdateWorkspaceRequest,
    ViewWorkspaceResponseGrants,
)

from provision.emulator.huawei.testing import HuaweiClients
from provision.emulator.testing import EmulatorHandle
from tests.emulator.huawei.conftest import new_user, sdk_error


def _create(
    hw: HuaweiClients,
    name: str,
    grants: list[CreateWorkspaceReqGrants] | None = None,
    auth_type: str = "INTERNAL",
) -> str:
    body = CreateWorkspaceReq(
        name=name, description="managed-by=provision", auth_type=auth_type, grants=grants
    )
    return str(hw.modelarts().create_workspace(CreateWorkspaceRequest(body=body)).id)


def test_workspace_with_internal_grants_by_name_or_id(hw: HuaweiClients) -> None:
    user_id, _ = new_user(hw)
    workspace_id = _create(hw, "agent-delivery", [CreateWorkspaceReqGrants(user_name="alice")])
    shown = hw.modelarts().show_workspace(ShowWorkspaceRequest(workspace_id=workspace_id))
    assert (shown.name, shown.auth_type, shown.status) == ("agent-delivery", "INTERNAL", "NORMAL")
    assert [(g.user_id, g.user_name, g.user_type) for g in shown.grants] == [(user_id, "alice", "IAM")]
    assert len(workspace_id) == 32
    hw.modelarts().update_workspace(
        UpdateWorkspaceRequest(workspace_id=workspace_id, body=UpdateWorkspaceReq(grants=[]))
    )
    assert hw.modelarts().show_workspace(ShowWorkspaceRequest(workspace_id=workspace_id)).grants == []
    unknown = sdk_error(lambda: _create(hw, "other-ws", [CreateWorkspaceReqGrants(user_name="nobody")]))
    assert unknown.status_code == 400 and "nobody" in unknown.error_msg
    assert ViewWorkspaceResponseGrants  # the SDK's model of the grants in show answers


def test_workspace_names_duplicate_reserved_and_not_found(hw: HuaweiClients) -> None:
    _create(hw, "agent-delivery")
    duplicate = sdk_error(lambda: _create(hw, "agent-delivery"))
    assert (duplicate.status_code, duplicate.error_code) == (400, "ModelArts.6101")
    for bad in ("abc", "default", "x" * 65, "has space"):
        assert sdk_error(lambda bad=bad: _create(hw, bad)).error_code == "ModelArts.0103"
    missing = sdk_error(lambda: hw.modelarts().show_workspace(ShowWorkspaceRequest(workspace_id="f" * 32)))
    assert (missing.status_code, missing.error_code) == (404, "ModelArts.6102")
    assert sdk_error(lambda: _create(hw, "bad-auth", auth_type="SHARED")).status_code == 400


def test_workspace_list_pages_with_offset_and_filters_by_name(hw: HuaweiClients) -> None:
    for i in range(4):
        _create(hw, f"team-{i}")
    first = hw.modelarts().list_workspace(
        ListWorkspaceRequest(limit=2, offset=0, sort_by="name", order="asc")
    )
    assert (first.total_count, first.count) == (5, 2)
    assert [w.name for w in first.workspaces] == ["default", "team-0"]
    rest = hw.modelarts().list_workspace(ListWorkspaceRequest(limit=2, offset=2, sort_by="name", order="asc"))
    assert [w.name for w in rest.workspaces] == ["team-1", "team-2"]
    found = hw.modelarts().list_workspace(ListWorkspaceRequest(name="TEAM-3"))
    assert [w.name for w in found.workspaces] == ["team-3"]


def test_accessible_filter_follows_the_grants(hw: HuaweiClients) -> None:
    user_id, alice = new_user(hw)
    hw.signed(
        "POST",
        "/v5/policies/" + _system_id("ModelArtsWorkspaceReadOnlyPolicy") + "/attach-user",
        {"user_id": user_id},
    )
    _create(hw, "granted-ws", [CreateWorkspaceReqGrants(user_id=user_id)])
    _create(hw, "private-ws", auth_type="PRIVATE")
    visible = alice.modelarts().list_workspace(ListWorkspaceRequest(filter_accessible=True))
    assert sorted(w.name for w in visible.workspaces) == ["default", "granted-ws"]
    denied = sdk_error(lambda: _create(alice, "mine-ws"))
    assert (denied.status_code, denied.error_code) == (403, "PAP5.0001")


def _system_id(name: str) -> str:
    from provision.emulator.huawei.policy import SYSTEM_BY_NAME

    return SYSTEM_BY_NAME[name].policy_id


def test_a_deleted_workspace_is_deleting_then_gone(emulator: EmulatorHandle, hw: HuaweiClients) -> None:
    workspace_id = _create(hw, "short-lived")
    assert (
        hw.modelarts().delete_workspace(DeleteWorkspaceRequest(workspace_id=workspace_id)).workspace_id
        == workspace_id
    )
    emulator.world.settings["async_delay_s"] = 60
    assert hw.modelarts().show_workspace(ShowWorkspaceRequest(workspace_id=workspace_id)).status == "DELETING"
    emulator.advance_clock(61)
    gone = sdk_error(lambda: hw.modelarts().show_workspace(ShowWorkspaceRequest(workspace_id=workspace_id)))
    assert gone.status_code == 404
    default = sdk_error(lambda: hw.modelarts().delete_workspace(DeleteWorkspaceRequest(workspace_id="0")))
    assert default.status_code == 400


# -- MaaS API keys ---------------------------------------------------------------------------------------
def _keys(hw: HuaweiClients) -> str:
    return f"/v2/{hw.project_id}/maas/api-auth/api-keys"


def test_a_key_is_shown_once_and_listed_masked(hw: HuaweiClients) -> None:
    created = hw.signed(
        "POST",
        _keys(hw),
        {"label": "alice-key", "allow_all": False, "ip_whitelist": ["10.0.0.0/8", "192.168.1.1-192.168.1.9"]},
    )
    assert created.status_code == 200
    secret = created.json()["api_key"]
    listed = hw.signed("GET", _keys(hw)).json()
    assert listed["api_key_list"]["total"] == 1 and listed["user_api_key_quota"] == 30
    item = listed["api_key_list"]["items"][0]
    assert item["label"] == "alice-key" and item["api_key"] != secret and "*" in item["api_key"]
    assert item["ip_whitelist"] == ["10.0.0.0/8", "192.168.1.1-192.168.1.9"]
    assert secret not in hw.signed("GET", _keys(hw)).text


def test_key_labels_whitelists_duplicates_and_not_found(hw: HuaweiClients) -> None:
    assert hw.signed("POST", _keys(hw), {"label": "k1", "allow_all": True}).status_code == 200
    duplicate = hw.signed("POST", _keys(hw), {"label": "k1", "allow_all": True})
    assert (duplicate.status_code, duplicate.json()["error_code"]) == (409, "MaaS.0009")
    for body in (
        {"label": "bad label", "allow_all": True},
        {"label": "k2"},
        {"label": "k3", "allow_all": True, "ip_whitelist": ["10.0.0.1"]},
        {"label": "k4", "allow_all": False, "ip_whitelist": ["300.0.0.1"]},
    ):
        assert hw.signed("POST", _keys(hw), body).status_code == 400, body
    default_label = hw.signed("POST", _keys(hw), {"allow_all": True}).json()["label"]
    assert default_label.startswith("ak-") and len(default_label) == 9
    missing = hw.signed("DELETE", f"/v1/{hw.project_id}/maas/api-auth/api-keys/nope")
    assert (missing.status_code, missing.json()["error_code"]) == (404, "MaaS.0004")


def test_thirty_keys_per_account_and_paging(hw: HuaweiClients) -> None:
    ids = [
        hw.signed("POST", _keys(hw), {"label": f"k{i}", "allow_all": True}).json()["id"] for i in range(30)
    ]
    over = hw.signed("POST", _keys(hw), {"label": "k30", "allow_all": True})
    assert (over.status_code, over.json()["error_code"]) == (400, "MaaS.0012")
    page = hw.signed("GET", _keys(hw), query={"offset": "25", "limit": "10"}).json()["api_key_list"]
    assert (page["total"], page["count"]) == (30, 5)
    assert hw.signed("DELETE", f"/v1/{hw.project_id}/maas/api-auth/api-keys/{ids[0]}").status_code == 200
    assert hw.signed("POST", _keys(hw), {"label": "k30", "allow_all": True}).status_code == 200


def test_validate_authorization_probes_policies_and_grants(hw: HuaweiClients) -> None:
    from huaweicloudsdkmodelarts.v1 import (
        AuthRequests,
        ValidateAuthorizationRequest,
        ValidateAuthorizationRequestBody,
    )

    user_id, alice = new_user(hw)
    hw.signed(
        "POST",
        "/v5/policies/" + _system_id("ModelArtsWorkspaceReadOnlyPolicy") + "/attach-user",
        {"user_id": user_id},
    )
    workspace_id = _create(hw, "probe-ws")

    def verdicts(client: HuaweiClients) -> list[str]:
        body = ValidateAuthorizationRequestBody(
            requests=[
                AuthRequests(action_id="1", action="modelarts:workspace:get"),
                AuthRequests(action_id="2", action="modelarts:workspace:delete"),
            ]
        )
        answer = client.modelarts().validate_authorization(
            ValidateAuthorizationRequest(workspace_id=workspace_id, body=body)
        )
        return [r.verdict for r in answer.results]

    assert verdicts(hw) == ["allow", "allow"]
    assert verdicts(alice) == ["deny", "deny"]  # not granted on the INTERNAL workspace
    hw.modelarts().update_workspace(
        UpdateWorkspaceRequest(
            workspace_id=workspace_id,
            body=UpdateWorkspaceReq(grants=[ViewWorkspaceResponseGrants(user_id=user_id)]),
        )
    )
    assert verdicts(alice) == ["allow", "deny"]  # the read-only policy does not allow delete

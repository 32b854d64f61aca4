"""Model Studio 2026-02-10 in the emulator, driven by the official SDK over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from alibabacloud_modelstudio20260210 import models as ms
from alibabacloud_modelstudio20260210.client import Client
from sdk_errors import sdk_error

from provision.emulator.alibaba import modelstudio
from provision.emulator.alibaba.modelstudio_catalog import DEFAULT_CATALOG, CatalogModel
from provision.emulator.alibaba.modelstudio_state import ms_state
from provision.emulator.httpio import parse_request
from provision.emulator.wire import Ctx

CATALOG_SIZE = len(DEFAULT_CATALOG)


@pytest.fixture
def client(emulator: Any) -> Client:
    return Client(emulator.sdk_config())


def create_workspace(client: Client, name: str) -> str:
    body = client.create_workspace(ms.CreateWorkspaceRequest(workspace_name=name)).body
    assert body.success is True
    return str(body.workspace.workspace_id)


@pytest.fixture
def workspace(client: Client) -> str:
    return create_workspace(client, "ws-delivery")


def grant(client: Client, workspace_id: str, mode: str = "KEEP", **models: bool | None) -> None:
    items = [ms.UpdateModelPermissionsRequestModels(model=m.replace("_", "-"), inference=v)
             for m, v in models.items()]
    body = client.update_model_permissions(ms.UpdateModelPermissionsRequest(
        workspace_id=workspace_id, access_all_entities=mode, models=items)).body
    assert body.success is True


def authorized(client: Client, workspace_id: str, **params: Any) -> list[str]:
    body = client.list_model_permissions(ms.ListModelPermissionsRequest(
        workspace_id=workspace_id, authorization_scope="AUTHORIZED", model_action="INFERENCE",
        max_results=100, **params)).body
    return [row.model for row in body.list]


# -- workspaces ---------------------------------------------------------------------------------------
def test_created_workspace_is_listed_with_region_and_api_host(client: Client, workspace: str) -> None:
    [found] = client.list_workspaces(ms.ListWorkspacesRequest(workspace_id=workspace)).body.workspaces
    assert (found.workspace_name, found.region) == ("ws-delivery", "cn-beijing")
    assert found.api_host == f"{workspace}.cn-beijing.maas.aliyuncs.com"
    assert found.gmt_create > 1_600_000_000_000  # milliseconds


def test_workspace_region_comes_from_a_regional_host(emulator: Any) -> None:
    request = parse_request("POST", "/modelstudio/workspaces?workspaceName=fin", {
        "Host": "modelstudio.cn-shanghai-finance-1.aliyuncs.com"}, b"", "cn-beijing")
    body = modelstudio.h_create_workspace(Ctx(emulator.world, emulator.account_id), request)
    assert body["workspace"]["region"] == "cn-shanghai-finance-1"
    assert body["workspace"]["apiHost"].endswith(".cn-shanghai-finance-1.maas.aliyuncs.com")


def test_list_workspaces_matches_names_fuzzily(client: Client) -> None:
    for name in ("team-alpha", "TEAM-beta", "other"):
        create_workspace(client, name)
    body = client.list_workspaces(ms.ListWorkspacesRequest(workspace_name="team")).body
    assert sorted(w.workspace_name for w in body.workspaces) == ["TEAM-beta", "team-alpha"]


def test_list_workspaces_pages_with_next_token(client: Client) -> None:
    created = [create_workspace(client, f"ws-{i}") for i in range(5)]
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        body = client.list_workspaces(ms.ListWorkspacesRequest(max_results=2, next_token=token)).body
        seen += [w.workspace_id for w in body.workspaces]
        pages, token = pages + 1, body.next_token
        assert body.total_count == 5
        if not token:
            break
    assert (seen, pages) == (created, 3)


def test_create_workspace_requires_a_name(client: Client) -> None:
    error = sdk_error(lambda: client.create_workspace(ms.CreateWorkspaceRequest(workspace_name="")))
    assert (error.status_code, error.code) == (400, "MissingParameter")
    assert error.data["success"] is False and error.data["httpStatusCode"] == 400


def test_delete_workspace_is_refused_while_api_keys_remain(client: Client, workspace: str) -> None:
    key = client.create_api_key(ms.CreateApiKeyRequest(workspace_id=workspace)).body.api_key
    refused = client.delete_workspace(workspace, ms.DeleteWorkspaceRequest()).body
    assert (refused.success, refused.is_deleted) == (True, False)
    assert [r.resource_type for r in refused.fail_reasons] == ["ApiKey"]
    client.delete_api_key(str(key.api_key_id))
    assert client.delete_workspace(workspace, ms.DeleteWorkspaceRequest()).body.is_deleted is True
    gone = sdk_error(lambda: client.delete_workspace(workspace, ms.DeleteWorkspaceRequest()))
    assert (gone.status_code, gone.code) == (404, "WorkspaceNotExist")


# -- catalog ------------------------------------------------------------------------------------------
def test_list_models_filters_with_json_array_parameters(client: Client) -> None:
    vision = client.list_models(ms.ListModelsRequest(capabilities=["VU"])).body
    assert sorted(m.model for m in vision.models) == ["qwen-vl-max", "qwen-vl-plus"]
    deepseek = client.list_models(ms.ListModelsRequest(providers=["deepseek"])).body
    assert {m.model for m in deepseek.models} == {"deepseek-v3", "deepseek-r1", "deepseek-v3.1"}
    [plus] = client.list_models(ms.ListModelsRequest(model="qwen-plus")).body.models
    assert plus.model_info.context_window == 131072 and plus.prices[0].prices[0].price_name == "input_token"


def test_list_models_pages_over_the_catalog(client: Client) -> None:
    first = client.list_models(ms.ListModelsRequest(max_results=10)).body
    second = client.list_models(ms.ListModelsRequest(max_results=10, next_token=first.next_token)).body
    assert (first.total_count, len(first.models), len(second.models)) == (CATALOG_SIZE, 10, CATALOG_SIZE - 10)
    assert second.next_token is None


# -- model grants -------------------------------------------------------------------------------------
def test_keep_grants_and_revokes_only_the_listed_models(client: Client, workspace: str) -> None:
    grant(client, workspace, qwen_plus=True, qwen_max=True)
    assert sorted(authorized(client, workspace)) == ["qwen-max", "qwen-plus"]
    grant(client, workspace, qwen_max=False)
    assert authorized(client, workspace) == ["qwen-plus"]


def test_an_omitted_permission_field_is_left_unchanged(client: Client, workspace: str) -> None:
    client.update_model_permissions(ms.UpdateModelPermissionsRequest(
        workspace_id=workspace, access_all_entities="KEEP",
        models=[ms.UpdateModelPermissionsRequestModels(model="qwen-plus", inference=True, fine_tune=True)]))
    grant(client, workspace, qwen_plus=False)
    [row] = client.list_model_permissions(ms.ListModelPermissionsRequest(
        workspace_id=workspace, filter=ms.ListModelPermissionsRequestFilter(model="qwen-plus"))).body.list
    assert (row.permissions.inference, row.permissions.fine_tune) == (False, True)


def test_open_authorizes_every_model_including_later_ones(client: Client, workspace: str,
                                                          emulator: Any) -> None:
    grant(client, workspace, mode="OPEN")
    assert len(authorized(client, workspace)) == CATALOG_SIZE
    with emulator.world.lock:
        ms_state(emulator.world, emulator.account_id).catalog = [*DEFAULT_CATALOG,
                                                                 CatalogModel(model="qwen-next")]
    assert "qwen-next" in authorized(client, workspace)


def test_close_switches_one_click_off_and_clears_grants(client: Client, workspace: str) -> None:
    grant(client, workspace, qwen_plus=True)
    grant(client, workspace, mode="OPEN")
    grant(client, workspace, mode="CLOSE")
    assert authorized(client, workspace) == []


def test_keep_needs_between_one_and_twenty_models(client: Client, workspace: str) -> None:
    empty = sdk_error(lambda: grant(client, workspace))
    assert (empty.status_code, empty.code) == (400, "InvalidParameter")
    models = [ms.UpdateModelPermissionsRequestModels(model="qwen-plus", inference=True)] * 21
    too_many = sdk_error(lambda: client.update_model_permissions(ms.UpdateModelPermissionsRequest(
        workspace_id=workspace, access_all_entities="KEEP", models=models)))
    assert (too_many.status_code, too_many.code) == (400, "InvalidParameter")


def test_granting_an_unknown_model_fails_and_changes_nothing(client: Client, workspace: str) -> None:
    error = sdk_error(lambda: grant(client, workspace, qwen_plus=True, qwen_nonexistent=True))
    assert (error.status_code, error.code) == (404, "ModelNotFound")
    assert authorized(client, workspace) == []


def test_list_model_permissions_pages_and_filters(client: Client, workspace: str) -> None:
    first = client.list_model_permissions(ms.ListModelPermissionsRequest(
        workspace_id=workspace, authorization_scope="AUTHORIZABLE", max_results=6)).body
    rest: list[str] = []
    token = first.next_token
    while token:
        body = client.list_model_permissions(ms.ListModelPermissionsRequest(
            workspace_id=workspace, authorization_scope="AUTHORIZABLE", max_results=6, next_token=token)).body
        rest += [r.model for r in body.list]
        token = body.next_token
    assert first.total_count == CATALOG_SIZE and len(first.list) + len(rest) == CATALOG_SIZE
    fuzzy = client.list_model_permissions(ms.ListModelPermissionsRequest(
        workspace_id=workspace, filter=ms.ListModelPermissionsRequestFilter(name="vl-"))).body
    assert sorted(r.model for r in fuzzy.list) == ["qwen-vl-max", "qwen-vl-plus"]
    too_large = sdk_error(lambda: client.list_model_permissions(ms.ListModelPermissionsRequest(
        workspace_id=workspace, max_results=1000)))
    assert (too_large.status_code, too_large.code) == (400, "InvalidParameter.maxResults")


# -- API keys -----------------------------------------------------------------------------------------
def create_key(client: Client, workspace: str, description: str = "", **auth: Any) -> Any:
    request = ms.CreateApiKeyRequest(workspace_id=workspace, description=description)
    if auth:
        scope = ms.CreateApiKeyRequestAuthModelAccessScope(
            allow_all_models=auth.get("allow_all_models"), accessible_models=auth.get("models"))
        request.auth = ms.CreateApiKeyRequestAuth(type="Custom", access_ips=auth.get("ips"),
                                                  model_access_scope=scope)
    return client.create_api_key(request).body.api_key


def test_api_key_value_is_shown_once_then_masked(client: Client, workspace: str, emulator: Any) -> None:
    key = create_key(client, workspace, "provision:ws-delivery/main managed-by=provision")
    assert key.api_key_value.startswith("sk-") and len(key.api_key_value) == 35
    assert (key.workspace_id, key.created_by) == (workspace, emulator.account_id)
    read = client.get_api_key(str(key.api_key_id)).body.api_key
    listed = client.list_api_keys(ms.ListApiKeysRequest(workspace_id=workspace)).body.api_keys[0]
    for shown in (read.api_key_value, listed.api_key_value):
        assert shown != key.api_key_value and "***" in shown
        assert shown[:5] == key.api_key_value[:5] and shown[-4:] == key.api_key_value[-4:]
    assert (read.disabled, read.workspace_name, read.auth.type) == (0, "ws-delivery", "All")


def test_custom_auth_is_stored_and_an_empty_ip_list_means_any(client: Client, workspace: str) -> None:
    key = create_key(client, workspace, allow_all_models=False, models=["qwen-plus"])
    auth = client.get_api_key(str(key.api_key_id)).body.api_key.auth
    assert auth.access_ips == ["0.0.0.0/0", "::/0"]
    assert (auth.model_access_scope.allow_all_models, auth.model_access_scope.accessible_models) == \
        (False, ["qwen-plus"])


def test_update_api_key_sets_description_and_replaces_auth(client: Client, workspace: str) -> None:
    key_id = str(create_key(client, workspace, "old", ips=["10.0.0.0/8"]).api_key_id)
    client.update_api_key(key_id, ms.UpdateApiKeyRequest(description="new"))
    assert client.get_api_key(key_id).body.api_key.auth.access_ips == ["10.0.0.0/8"]
    client.update_api_key(key_id, ms.UpdateApiKeyRequest(auth=ms.UpdateApiKeyRequestAuth(type="All")))
    read = client.get_api_key(key_id).body.api_key
    assert (read.description, read.auth.type, read.auth.access_ips) == ("new", "All", [])


def test_invalid_cidr_in_access_ips_is_rejected(client: Client, workspace: str) -> None:
    error = sdk_error(lambda: create_key(client, workspace, ips=["10.0.0.0/33"]))
    assert (error.status_code, error.code) == (400, "InvalidParameter.accessIps")


def test_list_api_keys_filters_orders_and_pages(client: Client, workspace: str) -> None:
    other = create_workspace(client, "ws-other")
    ids = [create_key(client, workspace, f"provision:ws-delivery/k{i}").api_key_id for i in range(5)]
    create_key(client, other, "provision:ws-other/k")
    seen: list[int] = []
    token = None
    while True:
        body = client.list_api_keys(ms.ListApiKeysRequest(workspace_id=workspace, max_results=2,
                                                          next_token=token)).body
        seen += [k.api_key_id for k in body.api_keys]
        token = body.next_token
        if not token:
            break
    assert seen == sorted(ids, reverse=True)  # DESC by apiKeyId is the default
    asc = client.list_api_keys(ms.ListApiKeysRequest(description="DELIVERY/K", order="ASC")).body
    assert [k.api_key_id for k in asc.api_keys] == ids
    [exact] = client.list_api_keys(ms.ListApiKeysRequest(api_key_id=ids[2])).body.api_keys
    assert exact.description == "provision:ws-delivery/k2"


def test_api_key_without_workspace_goes_to_the_default_workspace(client: Client) -> None:
    key = client.create_api_key(ms.CreateApiKeyRequest(description="default")).body.api_key
    listed = client.list_workspaces(ms.ListWorkspacesRequest(workspace_id=key.workspace_id)).body
    [default] = listed.workspaces
    assert default.workspace_name == "Default Workspace"
    refused = client.delete_workspace(key.workspace_id, ms.DeleteWorkspaceRequest()).body
    assert refused.is_deleted is False


def test_key_actions_on_an_unknown_key_are_404(client: Client) -> None:
    for call in (lambda: client.get_api_key("999"),
                 lambda: client.disable_api_key("999", ms.DisableApiKeyRequest()),
                 lambda: client.reset_api_key("999", ms.ResetApiKeyRequest()),
                 lambda: client.delete_api_key("999")):
        error = sdk_error(call)
        assert (error.status_code, error.code) == (404, "ApiKeyNotFound")


def test_odd_characters_in_path_ids_are_percent_encoded(client: Client) -> None:
    error = sdk_error(lambda: client.delete_workspace("ws 1/x?y", ms.DeleteWorkspaceRequest()))
    assert (error.status_code, error.code) == (404, "WorkspaceNotExist")
    assert "ws 1/x?y" in error.data["message"]


def test_seeded_workspaces_and_catalog_override(emulator: Any) -> None:
    world, account = emulator.world, emulator.account_id
    modelstudio.seed(world, account, {
        "models": [{"model": "qwen-plus"}, {"model": "custom-1", "provider": "acme"}],
        "workspaces": [{"name": "legacy", "models": ["custom-1"]}]})
    [legacy] = [w for w in ms_state(world, account).workspaces.values() if w.workspace_name == "legacy"]
    assert modelstudio.model_known(world, "custom-1") and not modelstudio.model_known(world, "qwen-max")
    assert modelstudio.model_granted(world, account, legacy.workspace_id, "custom-1")
    assert not modelstudio.model_granted(world, account, legacy.workspace_id, "qwen-plus")

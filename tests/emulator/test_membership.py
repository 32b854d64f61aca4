"""Workspace membership: the Bailian data API probe, the control API, and API keys losing their owner."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from alibabacloud_bailian20231229 import models as bl
from alibabacloud_bailian20231229.client import Client as BailianClient
from alibabacloud_modelstudio20260210 import models as ms
from alibabacloud_modelstudio20260210.client import Client as ModelStudioClient
from alibabacloud_tea_openapi.exceptions import ClientException
from sdk_errors import sdk_error

from provision.emulator.alibaba import modelstudio
from provision.emulator.alibaba.ram import user_id
from tests.emulator.conftest import APP_ID, RamUser, ram_user


@pytest.fixture
def root(emulator: Any) -> ModelStudioClient:
    return ModelStudioClient(emulator.sdk_config())


@pytest.fixture
def workspace(root: ModelStudioClient) -> str:
    body = root.create_workspace(ms.CreateWorkspaceRequest(workspace_name="agent-delivery")).body
    return str(body.workspace.workspace_id)


def bailian(emulator: Any, user: RamUser | None = None) -> BailianClient:
    config = emulator.sdk_config(user.key_id, user.secret) if user else emulator.sdk_config()
    return BailianClient(config)


def probe(client: BailianClient, workspace_id: str) -> Any:
    return client.list_published_agent(workspace_id, bl.ListPublishedAgentRequest()).body


def probe_error(client: BailianClient, workspace_id: str) -> ClientException:
    return sdk_error(lambda: probe(client, workspace_id))


def test_membership_decides_the_probe_for_a_data_reader(emulator: Any, workspace: str) -> None:
    alice = bailian(emulator, ram_user(emulator, "alice", "AliyunBailianDataReadOnlyAccess"))
    denied = probe_error(alice, workspace)
    assert (denied.status_code, denied.code) == (403, "Workspace.AccessDenied")
    emulator.add_member(workspace, "alice", "guest")
    assert probe(alice, workspace).success is True
    emulator.remove_member(workspace, "alice")
    assert probe_error(alice, workspace).code == "Workspace.AccessDenied"


def test_list_indices_is_a_membership_probe_too(emulator: Any, workspace: str) -> None:
    alice = bailian(emulator, ram_user(emulator, "alice", "AliyunBailianDataReadOnlyAccess"))
    with pytest.raises(ClientException) as info:
        alice.list_indices(workspace, bl.ListIndicesRequest())
    assert info.value.code == "Workspace.AccessDenied"
    emulator.add_member(workspace, "alice", "admin")
    body = alice.list_indices(workspace, bl.ListIndicesRequest()).body
    assert (body.success, body.data.total_count) == (True, 0)


def test_probe_lists_the_apps_of_the_workspace(emulator: Any, workspace: str) -> None:
    body = probe(bailian(emulator), workspace)
    assert [(a.code, a.name) for a in body.data.list] == [(APP_ID, "delivery-assistant")]
    assert body.data.total == 1


def test_super_admin_passes_without_membership(emulator: Any, workspace: str) -> None:
    boss = bailian(emulator, ram_user(emulator, "boss", "AliyunBailianFullAccess"))
    assert probe(boss, workspace).success is True


def test_without_a_data_policy_ram_refuses_before_membership(emulator: Any, workspace: str) -> None:
    bob = ram_user(emulator, "bob")
    emulator.add_member(workspace, "bob", "admin")
    denied = probe_error(bailian(emulator, bob), workspace)
    assert (denied.status_code, denied.code) == (403, "NoPermission")


def test_unknown_workspace_is_404_for_root_and_403_for_a_non_member(emulator: Any) -> None:
    missing = probe_error(bailian(emulator), "ws-missing")
    assert (missing.status_code, missing.code) == (404, "WorkspaceNotExist")
    alice = bailian(emulator, ram_user(emulator, "alice", "AliyunBailianDataReadOnlyAccess"))
    assert probe_error(alice, "ws-missing").code == "Workspace.AccessDenied"


def test_member_changes_are_validated(emulator: Any, workspace: str) -> None:
    ram_user(emulator, "alice")
    for args, status in (((workspace, "alice", "owner"), "400"), (("ws-missing", "alice", "guest"), "404"),
                         ((workspace, "nobody", "guest"), "404")):
        with pytest.raises(RuntimeError, match=f"→ {status}"):
            emulator.add_member(*args)
    emulator.add_member(workspace, "alice", "guest")
    emulator.add_member(workspace, "alice", "admin")
    world = emulator.world
    assert modelstudio.member_role(world, emulator.account_id, workspace, "alice") == "admin"
    emulator.remove_member(workspace, "alice")
    emulator.remove_member(workspace, "alice")  # idempotent
    assert modelstudio.member_role(world, emulator.account_id, workspace, "alice") is None


def chat(emulator: Any, api_key: str) -> Any:
    client = openai.OpenAI(api_key=api_key, base_url=emulator.url + "/compatible-mode/v1", max_retries=0)
    return client.chat.completions.create(model="qwen-plus", messages=[{"role": "user", "content": "ping"}])


def test_removing_the_owner_from_the_workspace_invalidates_its_keys(emulator: Any, workspace: str,
                                                                    root: ModelStudioClient) -> None:
    carol = ram_user(emulator, "carol", "AliyunBailianFullAccess")
    emulator.add_member(workspace, "carol", "admin")
    root.update_model_permissions(ms.UpdateModelPermissionsRequest(
        workspace_id=workspace, access_all_entities="OPEN"))
    as_carol = ModelStudioClient(emulator.sdk_config(carol.key_id, carol.secret))
    owned = as_carol.create_api_key(ms.CreateApiKeyRequest(workspace_id=workspace)).body.api_key
    by_root = root.create_api_key(ms.CreateApiKeyRequest(workspace_id=workspace)).body.api_key
    assert owned.created_by == user_id(emulator.world, emulator.account_id, "carol")  # the RAM user's id
    assert chat(emulator, owned.api_key_value).choices[0].message.content == "pong"

    emulator.remove_member(workspace, "carol")
    with pytest.raises(openai.AuthenticationError):
        chat(emulator, owned.api_key_value)
    assert chat(emulator, by_root.api_key_value).choices[0].message.content == "pong"
    assert root.get_api_key(str(owned.api_key_id)).body.api_key.disabled == 1
    with pytest.raises(ClientException) as info:
        root.enable_api_key(str(owned.api_key_id), ms.EnableApiKeyRequest())
    assert info.value.code == "ApiKey.OwnerNotMember"

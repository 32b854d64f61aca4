"""Fixtures shared by the emulator tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dashscope
import pytest
from alibabacloud_modelstudio20260210 import models as ms
from alibabacloud_modelstudio20260210.client import Client
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_ram20150501.client import Client as RamClient

from provision.emulator.testing import EmulatorHandle


@pytest.fixture
def ram(emulator: EmulatorHandle) -> RamClient:
    """A RAM client of the per-test emulator, signed by the default account's root key."""
    return RamClient(emulator.sdk_config())


@dataclass(frozen=True)
class RamUser:
    name: str
    key_id: str
    secret: str


def ram_user(emulator: Any, name: str, *policies: str) -> RamUser:
    """A RAM user with an AccessKey and system policies, made through the RAM SDK as an admin would."""
    ram = RamClient(emulator.sdk_config())
    ram.create_user(ram_models.CreateUserRequest(user_name=name))
    key = ram.create_access_key(ram_models.CreateAccessKeyRequest(user_name=name)).body.access_key
    for policy in policies:
        ram.attach_policy_to_user(ram_models.AttachPolicyToUserRequest(
            policy_type="System", policy_name=policy, user_name=name))
    return RamUser(name, key.access_key_id, key.access_key_secret)


# -- DashScope: a workspace granted qwen-plus and a key of it ----------------------------------------------
APP_ID = "8f3a1c2e5b7d4a6f9e0c1b2a3d4e5f60"  # seeded app of workspace "agent-delivery"
FIN_APP_ID = "2b4d6f8a0c1e3a5b7d9f1e3c5a7b9d0f"  # seeded app of workspace "agent-delivery-fin"


@dataclass(frozen=True)
class Setup:
    emulator: Any
    client: Client
    workspace: str
    key: str
    key_id: str


def new_key(client: Client, workspace: str, **auth: Any) -> Any:
    request = ms.CreateApiKeyRequest(workspace_id=workspace)
    if auth:
        request.auth = ms.CreateApiKeyRequestAuth(
            type="Custom", access_ips=auth.get("ips"),
            model_access_scope=ms.CreateApiKeyRequestAuthModelAccessScope(
                allow_all_models=not auth.get("models"), accessible_models=auth.get("models")))
    return client.create_api_key(request).body.api_key


def new_workspace(client: Client, name: str, *models: str) -> str:
    workspace = str(client.create_workspace(ms.CreateWorkspaceRequest(workspace_name=name)).body
                    .workspace.workspace_id)
    if models:
        client.update_model_permissions(ms.UpdateModelPermissionsRequest(
            workspace_id=workspace, access_all_entities="KEEP",
            models=[ms.UpdateModelPermissionsRequestModels(model=m, inference=True) for m in models]))
    return workspace


@pytest.fixture
def setup(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Setup:
    monkeypatch.setattr(dashscope, "base_http_api_url", emulator.url + "/api/v1")
    client = Client(emulator.sdk_config())
    workspace = new_workspace(client, "agent-delivery", "qwen-plus")
    key = new_key(client, workspace)
    return Setup(emulator, client, workspace, key.api_key_value, str(key.api_key_id))

"""The control API reads its bodies as JSON whatever the Content-Type (curl -d sends a form type), answers
a bad body with 400 and a short message, and never lets a bad faults body change the installed rules."""

from __future__ import annotations

import json
import urllib.request
from typing import Any
from urllib.error import HTTPError

import pytest
from alibabacloud_modelstudio20260210 import models as ms_models
from alibabacloud_modelstudio20260210.client import Client as ModelStudioClient
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_ram20150501.client import Client as RamClient

from provision.emulator.alibaba.modelstudio import member_role
from provision.emulator.testing import EmulatorHandle

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
FORM = {"Content-Type": "application/x-www-form-urlencoded"}  # what `curl -d` sends


def post(emu: EmulatorHandle, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(f"{emu.url}/_emulator/{path}", data=body, method="POST", headers=headers)
    try:
        with _OPENER.open(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.parametrize("headers", [FORM, {}], ids=["form-type", "no-content-type"])
def test_a_member_body_is_read_as_json_whatever_its_content_type(emulator: EmulatorHandle,
                                                                 headers: dict[str, str]) -> None:
    RamClient(emulator.sdk_config()).create_user(ram_models.CreateUserRequest(user_name="carol"))
    workspace_id = ModelStudioClient(emulator.sdk_config()).create_workspace(
        ms_models.CreateWorkspaceRequest(workspace_name="ws-curl")).body.workspace.workspace_id

    status, body = post(emulator, f"workspaces/{workspace_id}/members",
                        b'{"user": "carol", "role": "admin"}', headers)

    assert (status, body["role"]) == (200, "admin")
    assert member_role(emulator.world, emulator.account_id, workspace_id, "carol") == "admin"


def test_a_faults_body_sent_as_a_form_type_installs_the_rule(emulator: EmulatorHandle) -> None:
    status, body = post(emulator, "faults", b'{"latency_ms": 300}', FORM)

    assert status == 200 and body["rules"]["*"]["latency_ms"] == 300


@pytest.mark.parametrize(("raw", "message"), [
    (b"latency_ms=300", "the body is not JSON"),
    (b"[1, 2]", "the body must be a JSON object"),
    (b'{"latency_ms": -1}', "latency_ms: Input should be greater than or equal to 0"),
    (b'{"latency_ms": 5, "typo": 1}', "typo: Extra inputs are not permitted"),
    (b"{}", "no fault rule given"),
    (b'{"action": "CreateUser"}', "no fault rule given"),
], ids=["form-encoded", "not-an-object", "invalid-value", "unknown-field", "empty", "no-rule"])
def test_a_bad_faults_body_is_400_with_a_short_message_and_keeps_the_faults(
        emulator: EmulatorHandle, raw: bytes, message: str) -> None:
    emulator.set_faults(action="GetUser", throttle_rate=0.5)
    installed = emulator.control("GET", "faults")

    status, body = post(emulator, "faults", raw, FORM)

    assert (status, body["code"]) == (400, "InvalidParameter")
    assert message in body["message"]
    assert "pydantic" not in body["message"] and "http" not in body["message"]
    assert emulator.control("GET", "faults") == installed


def test_a_member_body_missing_the_user_is_400_naming_the_field(emulator: EmulatorHandle) -> None:
    status, body = post(emulator, "workspaces/ws-any/members", b'{"role": "guest"}', {})

    assert (status, body["message"]) == (400, "user: Field required")

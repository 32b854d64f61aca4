"""The server as the SDKs see it: dispatch, error shapes, data plane, control API, concurrency."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.error import HTTPError

import pytest
from alibabacloud_modelstudio20260210 import models as ms_models
from alibabacloud_modelstudio20260210.client import Client as ModelStudioClient
from alibabacloud_privatelink20200415 import models as pl_models
from alibabacloud_privatelink20200415.client import Client as PrivateLinkClient
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi import utils_models
from alibabacloud_tea_openapi.client import Client as OpenApiClient
from alibabacloud_tea_openapi.exceptions import ClientException
from darabonba.runtime import RuntimeOptions

from provision.emulator.alibaba.modelstudio import member_role
from provision.emulator.alibaba.sts import SERVICE as STS
from provision.emulator.testing import EmulatorHandle, running_emulator
from provision.emulator.wire import Body, CloudError, Ctx, DataResponse, DataRoute, Request, Route, Service
from provision.emulator.world import World

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _http(emu: EmulatorHandle, method: str, path: str, headers: dict[str, str] | None = None,
          body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(emu.url + path, data=body, method=method, headers=headers or {})
    try:
        with _OPENER.open(request, timeout=10) as response:
            return response.status, dict(response.headers.items()), response.read()
    except HTTPError as error:
        return error.code, dict(error.headers.items()), error.read()


def _call(emu: EmulatorHandle, action: str, version: str, style: str = "RPC", method: str = "POST",
          path: str = "/") -> dict[str, Any]:
    params = utils_models.Params(action=action, version=version, protocol="HTTP", pathname=path,
                                 method=method, auth_type="AK", style=style, req_body_type="formData",
                                 body_type="json")
    result: dict[str, Any] = OpenApiClient(emu.sdk_config()).call_api(
        params, utils_models.OpenApiRequest(), RuntimeOptions())
    return result


# -- a test-only service that exercises the server's wire handling ---------------------------------
def _roa_failure(ctx: Ctx, req: Request) -> Body:
    raise CloudError("WorkspaceNotExist", f"workspace {req.path_params['workspaceId']} not found", 404, "ROA")


def _roa_echo(ctx: Ctx, req: Request) -> Body:
    return {"workspaceId": req.path_params["workspaceId"], "success": True}


def _stream(world: World, req: Request) -> DataResponse:
    return DataResponse(200, stream=[json.dumps({"n": 1}), json.dumps({"n": 2}), "[DONE]"])


def _echo(world: World, req: Request) -> DataResponse:
    return DataResponse(200, body={"id": req.path_params["item"], "client_ip": req.client_ip})


PROBE = Service(
    name="probe",
    routes=(Route("2099-01-01", "Fail", _roa_failure, None, "GET", "/probe/{workspaceId}", "ROA"),
            Route("2099-01-01", "Echo", _roa_echo, None, "GET", "/probe/{workspaceId}/echo", "ROA")),
    data_routes=(DataRoute("POST", "/probe/stream", _stream), DataRoute("GET", "/probe/items/{item}", _echo)),
)


@pytest.fixture
def probe_emulator() -> Iterator[EmulatorHandle]:
    with running_emulator(services=(STS, PROBE)) as handle:
        yield handle


# -- signed API --------------------------------------------------------------------------------------
def test_caller_identity_of_root_key_is_the_account(emulator: EmulatorHandle) -> None:
    response = StsClient(emulator.sdk_config()).get_caller_identity()
    body = response.body
    assert (body.account_id, body.identity_type) == (emulator.account_id, "Account")
    assert body.arn == f"acs:ram::{emulator.account_id}:root"
    assert body.request_id and response.headers["x-acs-request-id"] == body.request_id


def test_caller_identity_of_ram_user_key_names_the_user(emulator: EmulatorHandle) -> None:
    root = RamClient(emulator.sdk_config())
    user = root.create_user(ram_models.CreateUserRequest(user_name="bob")).body.user
    key = root.create_access_key(ram_models.CreateAccessKeyRequest(user_name="bob")).body.access_key
    body = StsClient(emulator.sdk_config(key.access_key_id, key.access_key_secret)).get_caller_identity().body
    assert (body.identity_type, body.user_id, body.principal_id) == ("RAMUser", user.user_id, user.user_id)
    assert body.arn == f"acs:ram::{emulator.account_id}:user/bob"


def test_unknown_action_is_invalid_action_not_found(emulator: EmulatorHandle) -> None:
    with pytest.raises(ClientException) as caught:
        _call(emulator, "NoSuchAction", "2015-04-01")
    assert (caught.value.code, caught.value.status_code) == ("InvalidAction.NotFound", 404)


def test_roa_service_error_is_camel_case(probe_emulator: EmulatorHandle) -> None:
    with pytest.raises(ClientException) as caught:
        _call(probe_emulator, "Fail", "2099-01-01", "ROA", "GET", "/probe/ws%201")
    assert (caught.value.code, caught.value.status_code) == ("WorkspaceNotExist", 404)
    assert caught.value.data["success"] is False
    assert caught.value.data["httpStatusCode"] == 404
    assert "ws 1" in caught.value.data["message"]


def test_roa_path_id_with_encoded_slash_stays_one_segment(probe_emulator: EmulatorHandle) -> None:
    result = _call(probe_emulator, "Echo", "2099-01-01", "ROA", "GET", "/probe/a%2Fb/echo")
    assert result["body"]["workspaceId"] == "a/b"
    assert result["body"]["requestId"]


def test_roa_route_with_wrong_method_is_not_found(probe_emulator: EmulatorHandle) -> None:
    with pytest.raises(ClientException) as caught:
        _call(probe_emulator, "Echo", "2099-01-01", "ROA", "DELETE", "/probe/x/echo")
    assert caught.value.code == "InvalidAction.NotFound"


def test_gateway_errors_on_roa_calls_are_pascal_case(probe_emulator: EmulatorHandle) -> None:
    config = probe_emulator.sdk_config(secret="wrong")
    params = utils_models.Params(action="Echo", version="2099-01-01", protocol="HTTP",
                                 pathname="/probe/x/echo", method="GET", auth_type="AK", style="ROA",
                                 req_body_type="formData", body_type="json")
    with pytest.raises(ClientException) as caught:
        OpenApiClient(config).call_api(params, utils_models.OpenApiRequest(), RuntimeOptions())
    assert caught.value.data["Code"] == "SignatureDoesNotMatch"
    assert "Recommend" in caught.value.data


# -- data plane --------------------------------------------------------------------------------------
def test_data_route_streams_server_sent_events(probe_emulator: EmulatorHandle) -> None:
    status, headers, body = _http(probe_emulator, "POST", "/probe/stream", body=b"{}")
    assert status == 200
    assert headers["Content-Type"].startswith("text/event-stream")
    assert body.decode() == 'data: {"n": 1}\n\ndata: {"n": 2}\n\ndata: [DONE]\n\n'


def test_data_route_gets_path_params_and_client_ip(probe_emulator: EmulatorHandle) -> None:
    status, _, body = _http(probe_emulator, "GET", "/probe/items/i-1")
    assert status == 200
    assert json.loads(body) == {"id": "i-1", "client_ip": "127.0.0.1"}


def test_public_dashscope_host_reaches_data_routes(probe_emulator: EmulatorHandle) -> None:
    status, _, _ = _http(probe_emulator, "GET", "/probe/items/i-1", {"Host": "dashscope.aliyuncs.com"})
    assert status == 200


def test_unknown_privatelink_domain_is_endpoint_not_found(probe_emulator: EmulatorHandle) -> None:
    host = "ep-nothere.dashscope.cn-beijing.privatelink.aliyuncs.com"
    status, _, body = _http(probe_emulator, "GET", "/probe/items/i-1", {"Host": host})
    assert (status, json.loads(body)["code"]) == (404, "EndpointNotFound")


def test_unknown_data_path_is_not_found(probe_emulator: EmulatorHandle) -> None:
    status, _, body = _http(probe_emulator, "GET", "/nothing/here")
    assert (status, json.loads(body)["code"]) == (404, "NotFound")


# -- control API -------------------------------------------------------------------------------------
def test_health_lists_served_services(probe_emulator: EmulatorHandle) -> None:
    assert probe_emulator.control("GET", "health") == {"status": "ok", "services": ["sts", "probe"]}


def test_stats_count_calls_per_action_and_clear(emulator: EmulatorHandle) -> None:
    client = StsClient(emulator.sdk_config())
    for _ in range(3):
        client.get_caller_identity()
    with pytest.raises(ClientException):
        StsClient(emulator.sdk_config(secret="wrong")).get_caller_identity()
    stats = emulator.stats()
    assert (stats["total"], stats["actions"]) == (4, {"GetCallerIdentity": 4})
    last = stats["recent"][-1]
    assert (last["status"], last["code"], last["access_key_id"]) == (400, "SignatureDoesNotMatch", "")
    assert stats["recent"][0]["access_key_id"] == emulator.root_key_id
    assert "secret" not in json.dumps(stats).lower()
    emulator.clear_stats()
    assert emulator.stats()["total"] == 0


def test_clock_advance_moves_world_time(emulator: EmulatorHandle) -> None:
    before = emulator.world.clock.timestamp()
    emulator.advance_clock(3600)
    assert emulator.world.clock.timestamp() - before >= 3600
    identity = StsClient(emulator.sdk_config()).get_caller_identity().body  # signatures still valid
    assert identity.account_id == emulator.account_id


def test_reset_returns_to_the_seed(emulator: EmulatorHandle) -> None:
    client = RamClient(emulator.sdk_config())
    client.create_user(ram_models.CreateUserRequest(user_name="temp"))
    emulator.set_faults(action="GetUser", latency_ms=1)
    emulator.reset()
    with pytest.raises(ClientException) as caught:
        client.get_user(ram_models.GetUserRequest(user_name="temp"))
    assert caught.value.code == "EntityNotExist.User"
    assert emulator.control("GET", "faults") == {"rules": {}}
    assert emulator.stats()["actions"] == {"GetUser": 1}


def test_membership_control_adds_and_removes_a_member(emulator: EmulatorHandle) -> None:
    RamClient(emulator.sdk_config()).create_user(ram_models.CreateUserRequest(user_name="carol"))
    created = ModelStudioClient(emulator.sdk_config()).create_workspace(
        ms_models.CreateWorkspaceRequest(workspace_name="ws-members"))
    workspace_id = created.body.workspace.workspace_id
    emulator.add_member(workspace_id, "carol", "admin")
    assert member_role(emulator.world, emulator.account_id, workspace_id, "carol") == "admin"
    emulator.remove_member(workspace_id, "carol")
    assert member_role(emulator.world, emulator.account_id, workspace_id, "carol") is None


def test_membership_control_on_unknown_workspace_is_404(emulator: EmulatorHandle) -> None:
    status, _, body = _http(emulator, "POST", "/_emulator/workspaces/ws-missing/members",
                            {"Content-Type": "application/json"}, json.dumps({"user": "x"}).encode())
    assert (status, json.loads(body)["code"]) == (404, "WorkspaceNotExist")


def test_control_rejects_bad_body_and_unknown_path(emulator: EmulatorHandle) -> None:
    status, _, _ = _http(emulator, "POST", "/_emulator/faults", {"Content-Type": "application/json"},
                         json.dumps({"throttle_rate": 2}).encode())
    assert status == 400
    assert _http(emulator, "GET", "/_emulator/nope")[0] == 404


# -- accounts and concurrency ------------------------------------------------------------------------
def test_accounts_are_isolated(emulator: EmulatorHandle) -> None:
    other = emulator.world.accounts["1000000000000002"].account_id
    other_key = next(k for k in emulator.world.keys.values() if k.account_id == other and k.user_name is None)
    RamClient(emulator.sdk_config()).create_user(ram_models.CreateUserRequest(user_name="only-in-first"))
    other_client = RamClient(emulator.sdk_config(other_key.access_key_id, other_key.secret))
    assert StsClient(emulator.sdk_config(other_key.access_key_id, other_key.secret)) \
        .get_caller_identity().body.account_id == other
    with pytest.raises(ClientException) as caught:
        other_client.get_user(ram_models.GetUserRequest(user_name="only-in-first"))
    assert caught.value.code == "EntityNotExist.User"


def test_thirty_two_concurrent_sdk_clients_all_succeed(emulator: EmulatorHandle) -> None:
    calls_per_thread = 10
    errors: list[BaseException] = []
    barrier = threading.Barrier(32)

    def worker(n: int) -> None:
        try:
            client = RamClient(emulator.sdk_config())
            barrier.wait(timeout=10)
            client.create_user(ram_models.CreateUserRequest(user_name=f"u{n}"))
            sts_client = StsClient(emulator.sdk_config())
            for _ in range(calls_per_thread - 1):
                sts_client.get_caller_identity()
        except BaseException as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert emulator.stats()["total"] == 32 * calls_per_thread
    listed = RamClient(emulator.sdk_config()).list_users(ram_models.ListUsersRequest(max_items=1000))
    assert {u.user_name for u in listed.body.users.user} >= {f"u{n}" for n in range(32)}


def test_privatelink_domain_serves_only_once_the_endpoint_is_connected(emulator: EmulatorHandle) -> None:
    client = PrivateLinkClient(emulator.sdk_config())
    zone = pl_models.CreateVpcEndpointRequestZone
    zones = [zone(zone_id=f"cn-beijing-{z}", v_switch_id=f"vsw-2zedemo00000000{z}1") for z in ("a", "h")]
    created = client.create_vpc_endpoint(pl_models.CreateVpcEndpointRequest(
        region_id="cn-beijing", vpc_id="vpc-2zedemo0000000001", service_name="com.aliyuncs.dashscope",
        endpoint_type="Interface", endpoint_name="dashscope-ep", security_group_id=["sg-2zedemo0000000001"],
        zone=zones))
    host = {"Host": created.body.endpoint_domain}
    status, _, body = _http(emulator, "POST", "/compatible-mode/v1/chat/completions", host, b"{}")
    assert (status, json.loads(body)["code"]) == (503, "EndpointNotReady")
    emulator.advance_clock(60)
    status, _, body = _http(emulator, "POST", "/compatible-mode/v1/chat/completions", host, b"{}")
    assert status == 401  # reached the DashScope data plane, which wants an API key

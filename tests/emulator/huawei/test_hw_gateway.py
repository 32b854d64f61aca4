"""The Huawei gateway: SDK-HMAC-SHA256 exactly as the official SDK signs, its forgeries refused with
401 APIG.0301, the error shape, tokens, project look-ups, and Alibaba calls left alone."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.region.region import Region
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from huaweicloudsdkiam.v5 import (
    DeleteAccessKeyV5Request,
    ListUsersV5Request,
    UpdateAccessKeyReqBody,
    UpdateAccessKeyV5Request,
)
from huaweicloudsdkmodelarts.v1 import ListWorkspaceRequest, ModelArtsClient
from huaweicloudsdksts.v1 import GetCallerIdentityRequest

from provision.emulator.huawei.testing import HuaweiClients
from provision.emulator.testing import EmulatorHandle
from tests.emulator.huawei.conftest import new_user, password_token, sdk_error, with_login


def _signed_parts(
    hw: HuaweiClients, path: str, headers: dict[str, str] | None = None, sk: str | None = None
) -> tuple[str, dict[str, str]]:
    request = SdkRequest(
        method="GET",
        schema="http",
        host=urlsplit(hw.url).netloc,
        resource_path=path,
        query_params=[],
        header_params={"Content-Type": "application/json", "X-Project-Id": hw.project_id, **(headers or {})},
        body=b"",
    )
    Signer(BasicCredentials(hw.ak, sk or hw.sk, hw.project_id)).sign(request)
    return hw.url + request.uri, dict(request.header_params)


def test_the_root_key_signs_sdk_calls_and_sts_names_the_root(hw: HuaweiClients) -> None:
    identity = hw.sts().get_caller_identity(GetCallerIdentityRequest())
    assert identity.account_id == hw.domain_id
    assert identity.principal_urn == f"iam::{hw.domain_id}:root"


def test_a_wrong_secret_is_401_apig_0301_with_the_request_id_header(hw: HuaweiClients) -> None:
    error = sdk_error(
        lambda: hw.as_key(hw.ak, "not-the-secret").sts().get_caller_identity(GetCallerIdentityRequest())
    )
    assert (error.status_code, error.error_code) == (401, "APIG.0301")
    assert "verify aksk signature fail" in error.error_msg
    assert len(error.request_id) == 32


def test_a_header_changed_after_signing_fails_and_an_unsigned_identity_header_is_refused(
    hw: HuaweiClients,
) -> None:
    url, headers = _signed_parts(hw, "/v5/caller-identity")
    assert httpx.get(url, headers=headers, trust_env=False).status_code == 200
    tampered = {**headers, "X-Project-Id": "c0000000000000000000000000000002"}
    answer = httpx.get(url, headers=tampered, trust_env=False)
    assert answer.status_code == 401 and answer.json()["error_code"] == "APIG.0301"
    assert answer.headers["X-Request-Id"] == answer.json()["request_id"]
    smuggled = httpx.get(
        url, headers={**headers, "X-Domain-Id": "d0000000000000000000000000000002"}, trust_env=False
    )
    assert smuggled.status_code == 401 and "must be signed" in smuggled.json()["error_msg"]


def test_a_stale_x_sdk_date_is_refused(hw: HuaweiClients) -> None:
    stale = (datetime.now(UTC) - timedelta(minutes=20)).strftime("%Y%m%dT%H%M%SZ")
    url, headers = _signed_parts(hw, "/v5/caller-identity", {"X-Sdk-Date": stale})
    answer = httpx.get(url, headers=headers, trust_env=False)
    assert answer.status_code == 401 and "expired" in answer.json()["error_msg"]
    fresh = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y%m%dT%H%M%SZ")
    url, headers = _signed_parts(hw, "/v5/caller-identity", {"X-Sdk-Date": fresh})
    assert httpx.get(url, headers=headers, trust_env=False).status_code == 200


def test_unsigned_and_unknown_key_calls_are_401(hw: HuaweiClients) -> None:
    bare = httpx.get(hw.url + "/v5/caller-identity", trust_env=False)
    assert bare.status_code == 401 and bare.json()["error_code"] == "APIG.0301"
    error = sdk_error(
        lambda: hw.as_key("HWUNKNOWNKEY00000000", "x").iam().list_users_v5(ListUsersV5Request())
    )
    assert error.status_code == 401 and "does not exist" in error.error_msg


def test_an_inactive_or_deleted_user_key_stops_authenticating(hw: HuaweiClients) -> None:
    user_id, alice = new_user(hw)
    assert alice.sts().get_caller_identity(GetCallerIdentityRequest()).principal_id == user_id
    iam = hw.iam()
    iam.update_access_key_v5(
        UpdateAccessKeyV5Request(
            user_id=user_id, access_key_id=alice.ak, body=UpdateAccessKeyReqBody(status="inactive")
        )
    )
    assert sdk_error(lambda: alice.sts().get_caller_identity(GetCallerIdentityRequest())).status_code == 401
    iam.delete_access_key_v5(DeleteAccessKeyV5Request(user_id=user_id, access_key_id=alice.ak))
    error = sdk_error(lambda: alice.sts().get_caller_identity(GetCallerIdentityRequest()))
    assert (error.status_code, error.error_code) == (401, "APIG.0301")


def test_a_user_without_policies_is_denied_with_pap5_0001(hw: HuaweiClients) -> None:
    _, alice = new_user(hw)
    error = sdk_error(lambda: alice.iam().list_users_v5(ListUsersV5Request()))
    assert (error.status_code, error.error_code) == (403, "PAP5.0001")
    assert "iam:users:listUsersV5" in error.error_msg


def test_password_tokens_authenticate_until_the_user_loses_its_login(hw: HuaweiClients) -> None:
    user_id, _ = new_user(hw)
    with_login(hw, user_id)
    assert password_token(hw.url, "alice", "wrong-pass-2026").status_code == 401
    answer = password_token(hw.url, "alice", "Delivery-pass-2026")
    assert answer.status_code == 201
    token = answer.headers["X-Subject-Token"]
    assert answer.json()["token"]["user"]["id"] == user_id
    assert answer.json()["token"]["project"]["id"] == hw.project_id
    identity = httpx.get(hw.url + "/v5/caller-identity", headers={"X-Auth-Token": token}, trust_env=False)
    assert identity.json()["principal_id"] == user_id
    hw.signed("DELETE", f"/v5/users/{user_id}/login-profile")
    gone = httpx.get(hw.url + "/v5/caller-identity", headers={"X-Auth-Token": token}, trust_env=False)
    assert gone.status_code == 401 and gone.json()["error_code"] == "APIG.0301"


def test_the_root_user_gets_a_token_with_the_documented_password(hw: HuaweiClients) -> None:
    answer = password_token(hw.url, "provision-demo", "Emulator-root-01-pass1")
    assert answer.status_code == 201 and answer.json()["token"]["user"]["id"] == hw.domain_id


def test_with_region_finds_the_project_id_through_the_iam_lookup(hw: HuaweiClients) -> None:
    credentials = BasicCredentials(hw.ak, hw.sk)
    credentials.iam_endpoint = hw.url
    client = (
        ModelArtsClient.new_builder()
        .with_credentials(credentials)
        .with_region(Region("cn-southwest-2", hw.url))
        .build()
    )
    workspaces = client.list_workspace(ListWorkspaceRequest())
    assert [w.name for w in workspaces.workspaces] == ["default"]
    domains = hw.signed("GET", "/v3/auth/domains").json()["domains"]
    assert domains == [{"id": hw.domain_id, "name": "provision-demo", "enabled": True, "description": ""}]


def test_a_project_of_another_account_is_refused(emulator: EmulatorHandle, hw: HuaweiClients) -> None:
    other = HuaweiClients.root(emulator, "1000000000000002")
    answer = hw.signed("GET", f"/v1/{other.project_id}/workspaces")
    assert answer.status_code == 400 and "not a project" in answer.json()["error_msg"]


def test_unknown_huawei_paths_are_404_and_alibaba_calls_still_route(
    emulator: EmulatorHandle, hw: HuaweiClients
) -> None:
    answer = hw.signed("GET", "/v5/no-such-api")
    assert answer.status_code == 404 and answer.json()["error_code"] == "APIG.0101"
    from alibabacloud_sts20150401.client import Client as AliSts

    assert AliSts(emulator.sdk_config()).get_caller_identity().body.account_id == emulator.account_id


def test_calls_are_counted_and_faults_apply_by_operation(emulator: EmulatorHandle, hw: HuaweiClients) -> None:
    hw.sts().get_caller_identity(GetCallerIdentityRequest())
    assert emulator.stats()["actions"]["GetCallerIdentity"] == 1
    emulator.set_faults(action="ListUsersV5", throttle_rate=1.0, retry_after_ms=2000)
    answer = hw.signed("GET", "/v5/users")
    assert answer.status_code == 429 and answer.json()["error_code"] == "APIG.0308"
    assert answer.headers["Retry-After"] == "2"
    emulator.set_faults(action="CreateUserV5", error_rate=1.0, error_code="ServiceUnavailable")
    assert hw.signed("POST", "/v5/users", {"name": "bob"}).status_code == 503
    assert json.loads(json.dumps(emulator.stats()["faults_injected"]))["Throttling.User"] == 1


@pytest.mark.parametrize("path", ["/compatible-mode/v1/chat/completions", "/api/v1/apps/x/completion"])
def test_dashscope_paths_are_not_claimed(emulator: EmulatorHandle, path: str) -> None:
    answer = httpx.post(emulator.url + path, json={}, trust_env=False)
    assert answer.status_code == 401 and "error_code" not in answer.json()

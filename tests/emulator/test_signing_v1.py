"""The older RPC signature (HMAC-SHA1, SignatureVersion 1.0), driven by a raw httpx client with its own
small signer (written here from the algorithm, independent of the emulator's), and by the official SDK
in ``signature_algorithm='v2'`` mode; users, keys, paging and the gateway's errors."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from alibabacloud_privatelink20200415 import models as pl_models
from alibabacloud_privatelink20200415.client import Client as PrivateLinkClient
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi.exceptions import ClientException

from provision.emulator.testing import EmulatorHandle

RAM, STS = "2015-05-01", "2015-04-01"


def _enc(value: str) -> str:
    return quote(value, safe="~")


class V1Client:
    """A raw RPC client: every parameter signed with HMAC-SHA1, in the query (default) or a form body."""

    def __init__(self, emu: EmulatorHandle, key_id: str, secret: str) -> None:
        self.url, self.key_id, self.secret = emu.url, key_id, secret
        self.http = httpx.Client(trust_env=False, timeout=10)

    def signed(self, action: str, version: str, params: dict[str, str] | None = None, *,
               nonce: str | None = None, timestamp: datetime | None = None, secret: str | None = None,
               omit: tuple[str, ...] = ()) -> dict[str, str]:
        common = {"Action": action, "Version": version, "Format": "JSON", "AccessKeyId": self.key_id,
                  "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0",
                  "SignatureNonce": nonce or uuid.uuid4().hex,
                  "Timestamp": (timestamp or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")}
        all_params = {k: v for k, v in {**common, **(params or {})}.items() if k not in omit}
        canonical = "&".join(f"{_enc(k)}={_enc(v)}" for k, v in sorted(all_params.items()))
        to_sign = f"POST&{_enc('/')}&{_enc(canonical)}"
        key = f"{secret or self.secret}&".encode()
        digest = hmac.new(key, to_sign.encode(), hashlib.sha1).digest()
        all_params["Signature"] = base64.b64encode(digest).decode()
        return all_params

    def post(self, params: dict[str, str], *, form: bool = False,
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
        if form:
            response = self.http.post(self.url + "/", data=params, headers=headers)
        else:
            response = self.http.post(self.url + "/", params=params, headers=headers)
        return response.status_code, response.json()

    def call(self, action: str, version: str = RAM, params: dict[str, str] | None = None,
             **kwargs: Any) -> tuple[int, dict[str, Any]]:
        return self.post(self.signed(action, version, params, **kwargs))


@pytest.fixture
def v1(emulator: EmulatorHandle) -> V1Client:
    return V1Client(emulator, emulator.root_key_id, emulator.root_secret)


def test_users_are_created_read_and_paged_with_markers(v1: V1Client) -> None:
    for name in ("u1", "u2", "u3"):
        assert v1.call("CreateUser", params={"UserName": name, "DisplayName": f"User {name}"})[0] == 200
    status, got = v1.call("GetUser", params={"UserName": "u2"})
    assert (status, got["User"]["DisplayName"]) == (200, "User u2")
    names: list[str] = []
    marker: str | None = None
    pages = 0
    while True:
        paging = {"MaxItems": "2", **({"Marker": marker} if marker else {})}
        status, page = v1.call("ListUsers", params=paging)
        assert status == 200
        pages += 1
        names += [user["UserName"] for user in page["Users"]["User"]]
        if not page["IsTruncated"]:
            break
        marker = page["Marker"]
    assert (names, pages) == (["u1", "u2", "u3"], 2)


def test_a_created_key_signs_the_next_call_and_can_be_deleted(emulator: EmulatorHandle, v1: V1Client) -> None:
    v1.call("CreateUser", params={"UserName": "alice"})
    status, created = v1.call("CreateAccessKey", params={"UserName": "alice"})
    assert status == 200
    key = created["AccessKey"]
    as_alice = V1Client(emulator, key["AccessKeyId"], key["AccessKeySecret"])
    status, who = as_alice.call("GetCallerIdentity", STS)
    assert (status, who["IdentityType"], who["Arn"]) == (
        200, "RAMUser", f"acs:ram::{emulator.account_id}:user/alice")
    listed = v1.call("ListAccessKeys", params={"UserName": "alice"})[1]
    assert [k["AccessKeyId"] for k in listed["AccessKeys"]["AccessKey"]] == [key["AccessKeyId"]]
    assert v1.call("DeleteAccessKey", params={"UserName": "alice",
                                              "UserAccessKeyId": key["AccessKeyId"]})[0] == 200
    status, error = as_alice.call("GetCallerIdentity", STS)
    assert (status, error["Code"]) == (404, "InvalidAccessKeyId.NotFound")


def test_parameters_in_a_form_body_and_with_x_acs_headers_are_accepted(v1: V1Client) -> None:
    status, _ = v1.post(v1.signed("CreateUser", RAM, {"UserName": "formed"}), form=True)
    assert status == 200
    headed = v1.signed("GetUser", RAM, {"UserName": "formed"})
    status, got = v1.post(headed, headers={"x-acs-action": "GetUser", "x-acs-version": RAM})
    assert (status, got["User"]["UserName"]) == (200, "formed")


def test_a_service_error_keeps_its_code_and_status(v1: V1Client) -> None:
    v1.call("CreateUser", params={"UserName": "twice"})
    status, error = v1.call("CreateUser", params={"UserName": "twice"})
    assert (status, error["Code"]) == (409, "EntityAlreadyExists.User")


@pytest.mark.parametrize(("change", "expected"), [
    ({"secret": "not-the-secret"}, (400, "SignatureDoesNotMatch")),
    ({"timestamp": datetime.now(UTC) - timedelta(minutes=16)}, (400, "InvalidTimeStamp.Expired")),
    ({"omit": ("SignatureNonce",)}, (400, "MissingParameter")),
    ({"omit": ("Timestamp",)}, (400, "MissingParameter")),
    ({"omit": ("Action",)}, (400, "MissingParameter")),
    ({"omit": ("Version",)}, (400, "MissingParameter")),
])
def test_gateway_errors_are_the_clouds(v1: V1Client, change: dict[str, Any],
                                       expected: tuple[int, str]) -> None:
    status, error = v1.call("GetCallerIdentity", STS, **change)
    assert (status, error["Code"]) == expected


def test_missing_parameter_names_the_parameter(v1: V1Client) -> None:
    _, error = v1.call("GetCallerIdentity", STS, omit=("SignatureNonce",))
    assert "SignatureNonce" in error["Message"]


def test_unknown_access_key_is_not_found(emulator: EmulatorHandle) -> None:
    stranger = V1Client(emulator, "LTAI5tNoSuchKey000000", "x")
    status, error = stranger.call("GetCallerIdentity", STS)
    assert (status, error["Code"]) == (404, "InvalidAccessKeyId.NotFound")


def test_tampered_parameter_does_not_match(v1: V1Client) -> None:
    params = v1.signed("CreateUser", RAM, {"UserName": "meant"})
    params["UserName"] = "tampered"
    status, error = v1.post(params)
    assert (status, error["Code"]) == (400, "SignatureDoesNotMatch")
    assert "server string to sign is:POST&%2F&" in error["Message"]


def test_a_replayed_request_is_refused_and_changes_nothing(v1: V1Client) -> None:
    params = v1.signed("CreateUser", RAM, {"UserName": "once"})
    assert v1.post(params)[0] == 200
    v1.call("DeleteUser", params={"UserName": "once"})
    status, error = v1.post(params)
    assert (status, error["Code"]) == (400, "SignatureNonceUsed")
    assert v1.call("GetUser", params={"UserName": "once"})[1]["Code"] == "EntityNotExist.User"


def test_a_nonce_is_per_access_key(emulator: EmulatorHandle, v1: V1Client) -> None:
    v1.call("CreateUser", params={"UserName": "bob"})
    key = v1.call("CreateAccessKey", params={"UserName": "bob"})[1]["AccessKey"]
    as_bob = V1Client(emulator, key["AccessKeyId"], key["AccessKeySecret"])
    assert v1.call("GetCallerIdentity", STS, nonce="shared-nonce")[0] == 200
    assert as_bob.call("GetCallerIdentity", STS, nonce="shared-nonce")[0] == 200


def test_sdk_in_v2_mode_signs_with_hmac_sha1_and_is_accepted(emulator: EmulatorHandle) -> None:
    config = emulator.sdk_config()
    config.signature_algorithm = "v2"
    ram = RamClient(config)
    ram.create_user(ram_models.CreateUserRequest(user_name="v2.user", comments="a * b ~ c + d"))
    assert ram.get_user(ram_models.GetUserRequest(user_name="v2.user")).body.user.comments == "a * b ~ c + d"
    assert StsClient(config).get_caller_identity().body.identity_type == "Account"
    wrong = emulator.sdk_config(secret="wrong")
    wrong.signature_algorithm = "v2"
    with pytest.raises(ClientException) as caught:
        StsClient(wrong).get_caller_identity()
    assert (caught.value.code, caught.value.status_code) == ("SignatureDoesNotMatch", 400)


def test_sdk_in_v2_mode_signs_a_form_body(emulator: EmulatorHandle) -> None:
    config = emulator.sdk_config()
    config.signature_algorithm = "v2"
    client = PrivateLinkClient(config)
    assert client.check_product_open().body.success
    listed = client.list_vpc_endpoint_services_by_end_user(
        pl_models.ListVpcEndpointServicesByEndUserRequest(region_id="cn-beijing"))
    assert listed.body.services
    with pytest.raises(ClientException) as caught:  # TagResources sends a form body, signed too
        client.tag_resources(pl_models.TagResourcesRequest(
            region_id="cn-beijing", resource_type="vpcendpoint", resource_id=["ep-none"],
            tag=[pl_models.TagResourcesRequestTag(key="k", value="v")]))
    assert caught.value.code != "SignatureDoesNotMatch"

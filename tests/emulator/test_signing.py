"""ACS3-HMAC-SHA256 verification, driven through the official SDKs and hand-signed requests."""

from __future__ import annotations

import asyncio
import hashlib
import json
import urllib.request
from datetime import UTC, datetime, timedelta
from urllib.error import HTTPError

import pytest
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi.exceptions import ClientException

from provision.emulator.signing import DATE_FORMAT, authorization_header
from provision.emulator.testing import EmulatorHandle

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _signed_call(emu: EmulatorHandle, signed_at: datetime, sent_query: str | None = None,
                 secret: str | None = None) -> tuple[int, dict[str, str]]:
    """POST GetCallerIdentity signed by hand; ``sent_query`` replaces the signed query on the wire."""
    target = "/?Signed=a%20b"
    headers = {
        "host": emu.host_port, "x-acs-action": "GetCallerIdentity", "x-acs-version": "2015-04-01",
        "x-acs-date": signed_at.strftime(DATE_FORMAT), "x-acs-signature-nonce": "0123456789abcdef",
        "x-acs-content-sha256": hashlib.sha256(b"").hexdigest(), "accept": "application/json",
    }
    headers["Authorization"] = authorization_header(emu.root_key_id, secret or emu.root_secret, "POST",
                                                    target, headers)
    url = emu.url + (target if sent_query is None else f"/?{sent_query}")
    request = urllib.request.Request(url, data=b"", method="POST", headers=headers)
    try:
        with _OPENER.open(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except HTTPError as error:
        return error.code, json.loads(error.read())


def test_hand_signed_request_with_current_date_is_accepted(emulator: EmulatorHandle) -> None:
    status, body = _signed_call(emulator, datetime.now(UTC))
    assert status == 200
    assert body["Arn"] == f"acs:ram::{emulator.account_id}:root"


def test_stale_date_is_rejected_as_expired_timestamp(emulator: EmulatorHandle) -> None:
    status, body = _signed_call(emulator, datetime.now(UTC) - timedelta(minutes=16))
    assert (status, body["Code"]) == (400, "InvalidTimeStamp.Expired")


def test_date_within_fifteen_minutes_is_accepted(emulator: EmulatorHandle) -> None:
    status, _ = _signed_call(emulator, datetime.now(UTC) - timedelta(minutes=14))
    assert status == 200


def test_tampered_query_does_not_match_signature(emulator: EmulatorHandle) -> None:
    status, body = _signed_call(emulator, datetime.now(UTC), sent_query="Signed=other")
    assert (status, body["Code"]) == (400, "SignatureDoesNotMatch")


def test_wrong_secret_raises_signature_does_not_match(emulator: EmulatorHandle) -> None:
    client = StsClient(emulator.sdk_config(secret="not-the-secret"))
    with pytest.raises(ClientException) as caught:
        client.get_caller_identity()
    assert caught.value.code == "SignatureDoesNotMatch"
    assert caught.value.status_code == 400


def test_unknown_access_key_raises_not_found(emulator: EmulatorHandle) -> None:
    client = StsClient(emulator.sdk_config(access_key_id="LTAI5tNoSuchKey000000", secret="x"))
    with pytest.raises(ClientException) as caught:
        client.get_caller_identity()
    assert (caught.value.code, caught.value.status_code) == ("InvalidAccessKeyId.NotFound", 404)


def test_unsigned_request_is_rejected(emulator: EmulatorHandle) -> None:
    headers = {"x-acs-action": "GetCallerIdentity", "x-acs-version": "2015-04-01"}
    request = urllib.request.Request(emulator.url + "/", data=b"", method="POST", headers=headers)
    with pytest.raises(HTTPError) as caught:
        _OPENER.open(request, timeout=10)
    assert caught.value.code == 400
    assert json.loads(caught.value.read())["Code"] == "IncompleteSignature"


def test_async_call_is_verified(emulator: EmulatorHandle) -> None:
    client = StsClient(emulator.sdk_config())
    response = asyncio.run(client.get_caller_identity_async())
    assert response.body.account_id == emulator.account_id


def test_odd_characters_in_query_verify_sync_and_async(emulator: EmulatorHandle) -> None:
    client = RamClient(emulator.sdk_config())
    odd = "Ünïcode name * ~ + & = / % 'quote'"
    client.create_user(ram_models.CreateUserRequest(user_name="odd.sync", display_name="odd", comments=odd))
    asyncio.run(client.create_user_async(
        ram_models.CreateUserRequest(user_name="odd.async", display_name="odd", comments=odd)))
    for name in ("odd.sync", "odd.async"):
        assert client.get_user(ram_models.GetUserRequest(user_name=name)).body.user.comments == odd


def test_inactive_access_key_is_rejected(emulator: EmulatorHandle) -> None:
    root = RamClient(emulator.sdk_config())
    root.create_user(ram_models.CreateUserRequest(user_name="alice"))
    key = root.create_access_key(ram_models.CreateAccessKeyRequest(user_name="alice")).body.access_key
    as_alice = StsClient(emulator.sdk_config(key.access_key_id, key.access_key_secret))
    assert as_alice.get_caller_identity().body.identity_type == "RAMUser"
    root.update_access_key(ram_models.UpdateAccessKeyRequest(
        user_name="alice", user_access_key_id=key.access_key_id, status="Inactive"))
    with pytest.raises(ClientException) as caught:
        as_alice.get_caller_identity()
    assert (caught.value.code, caught.value.status_code) == ("InvalidAccessKeyId.Inactive", 403)

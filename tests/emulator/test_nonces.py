"""Signature nonces (ACS3 header): a replayed request is refused, a missing or unsigned nonce too; the
ledger forgets a nonce after 15 minutes. The HMAC-SHA1 signature's nonce is in test_signing_v1.py."""

from __future__ import annotations

import hashlib
import json
import urllib.request
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.error import HTTPError

import pytest
from alibabacloud_modelstudio20260210 import models as ms
from alibabacloud_modelstudio20260210.client import Client as ModelStudioClient
from alibabacloud_tea_openapi.exceptions import ServerException
from darabonba.policy.retry import RetryOptions

from provision.emulator.nonces import NonceLedger
from provision.emulator.signing import DATE_FORMAT, authorization_header
from provision.emulator.testing import EmulatorHandle
from provision.emulator.wire import CloudError

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _create_workspace(emu: EmulatorHandle, nonce: str | None, sign_nonce: bool = True,
                      secret: str | None = None) -> tuple[int, Any]:
    """A hand-signed ACS3 CreateWorkspace (ROA) with this nonce header (None: no header)."""
    target = "/modelstudio/workspaces?workspaceName=replayed"
    headers = {"host": emu.host_port, "x-acs-action": "CreateWorkspace", "x-acs-version": "2026-02-10",
               "x-acs-date": datetime.now(UTC).strftime(DATE_FORMAT),
               "x-acs-content-sha256": hashlib.sha256(b"").hexdigest(), "accept": "application/json"}
    if nonce is not None and sign_nonce:
        headers["x-acs-signature-nonce"] = nonce
    headers["Authorization"] = authorization_header(emu.root_key_id, secret or emu.root_secret, "POST",
                                                    target, headers)
    if nonce is not None and not sign_nonce:
        headers["x-acs-signature-nonce"] = nonce
    request = urllib.request.Request(emu.url + target, data=b"", method="POST", headers=headers)
    try:
        with _OPENER.open(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except HTTPError as error:
        return error.code, json.loads(error.read())


def _workspaces(emu: EmulatorHandle) -> list[str]:
    client = ModelStudioClient(emu.sdk_config())
    body = client.list_workspaces(ms.ListWorkspacesRequest(workspace_name="replayed", max_results=50)).body
    return [w.workspace_id for w in body.workspaces]


def test_a_replayed_create_workspace_is_refused_and_creates_nothing(emulator: EmulatorHandle) -> None:
    nonce = uuid.uuid4().hex
    assert _create_workspace(emulator, nonce)[0] == 200
    status, body = _create_workspace(emulator, nonce)
    assert (status, body["Code"]) == (400, "SignatureNonceUsed")
    assert len(_workspaces(emulator)) == 1
    assert _create_workspace(emulator, uuid.uuid4().hex)[0] == 200  # a fresh nonce is a new request
    assert len(_workspaces(emulator)) == 2


def test_a_request_without_a_nonce_is_refused(emulator: EmulatorHandle) -> None:
    status, body = _create_workspace(emulator, None)
    assert (status, body["Code"]) == (400, "MissingParameter")
    assert "x-acs-signature-nonce" in body["Message"]
    assert _workspaces(emulator) == []


def test_an_unsigned_nonce_is_refused(emulator: EmulatorHandle) -> None:
    status, body = _create_workspace(emulator, uuid.uuid4().hex, sign_nonce=False)
    assert (status, body["Code"]) == (400, "IncompleteSignature")


def test_a_bad_signature_does_not_use_up_the_nonce(emulator: EmulatorHandle) -> None:
    nonce = uuid.uuid4().hex
    status, body = _create_workspace(emulator, nonce, secret="not-the-secret")
    assert (status, body["Code"]) == (400, "SignatureDoesNotMatch")
    assert _create_workspace(emulator, nonce)[0] == 200


def test_sdk_retries_send_fresh_nonces(emulator: EmulatorHandle) -> None:
    """An injected failure comes after the signature check, so each attempt uses its nonce up."""
    emulator.set_faults(action="ListWorkspaces", error_rate=1.0, error_code="ServiceUnavailable")
    config = emulator.sdk_config()
    config.retry_options = RetryOptions({"retryable": True, "retryCondition": [
        {"maxAttempts": 3, "errorCode": ["ServiceUnavailable"],
         "backoff": {"policy": "Fixed", "period": 1}}]})
    with pytest.raises(ServerException) as caught:
        ModelStudioClient(config).list_workspaces(ms.ListWorkspacesRequest())
    assert caught.value.code == "ServiceUnavailable"
    codes = [r["code"] for r in emulator.stats()["recent"] if r["action"] == "ListWorkspaces"]
    assert codes == ["ServiceUnavailable"] * 3  # never SignatureNonceUsed
    assert len(emulator.server.nonces) == 3


def test_reset_forgets_nonces(emulator: EmulatorHandle) -> None:
    nonce = uuid.uuid4().hex
    assert _create_workspace(emulator, nonce)[0] == 200
    emulator.reset()
    assert _create_workspace(emulator, nonce)[0] == 200


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_ledger_remembers_a_nonce_for_fifteen_minutes_per_key() -> None:
    clock = _Clock()
    ledger = NonceLedger(clock=clock)
    ledger.use("LTAI-a", "n1")
    ledger.use("LTAI-b", "n1")
    clock.now += 899
    with pytest.raises(CloudError) as caught:
        ledger.use("LTAI-a", "n1")
    assert (caught.value.code, caught.value.status) == ("SignatureNonceUsed", 400)
    clock.now += 1
    ledger.use("LTAI-a", "n1")  # 900 s later: forgotten, accepted (and remembered again)
    assert len(ledger) == 1  # LTAI-b's expired too: the ledger does not grow without bound

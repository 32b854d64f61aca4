"""The older RPC signature (HMAC-SHA1, ``SignatureVersion=1.0``) that the ``aliyun`` CLI, Terraform's
provider, the older SDKs and ``Config(signature_algorithm='v2')`` still send.

Every parameter (query and form body, ``Signature`` excepted) is sorted by name, each name and value
RFC 3986-encoded, joined ``k=v&...``; then::

    StringToSign = METHOD + "&" + enc("/") + "&" + enc(CanonicalizedQueryString)
    Signature    = base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign))

The action and version are the ``Action`` / ``Version`` parameters (or the ``x-acs-*`` headers the
newer SDKs add in this mode).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from datetime import UTC, datetime

from provision.emulator.signing import check_timestamp, gateway_error, percent_encode
from provision.emulator.wire import Request, missing_parameter
from provision.emulator.world import KeyRecord, World

SIGNATURE_METHOD = "HMAC-SHA1"
SIGNATURE_VERSION = "1.0"
# the common parameters of a v1-signed call: consumed by the gateway, never seen by a handler
COMMON_PARAMETERS = ("AccessKeyId", "Action", "Format", "Signature", "SignatureMethod", "SignatureNonce",
                     "SignatureType", "SignatureVersion", "Timestamp", "Version")
_REQUIRED = ("Signature", "AccessKeyId", "SignatureMethod", "SignatureVersion", "Timestamp", "SignatureNonce")


def is_v1_signed(request: Request) -> bool:
    """Whether the request carries the v1 ``Signature`` parameter (and no ACS3 ``Authorization``)."""
    return "authorization" not in request.headers and (
        "Signature" in request.query or "Signature" in request.form)


def string_to_sign(method: str, params: Iterable[tuple[str, str]]) -> str:
    """The v1 string to sign of ``params`` (every parameter but ``Signature``)."""
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(v)}"
                         for k, v in sorted(p for p in params if p[0] != "Signature"))
    return f"{method.upper()}&{percent_encode('/')}&{percent_encode(canonical)}"


def signature(secret: str, text: str) -> str:
    """base64(HMAC-SHA1(secret + "&", text))."""
    digest = hmac.new(f"{secret}&".encode(), text.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def sign(params: dict[str, str], method: str, secret: str) -> str:
    """The ``Signature`` value of a request with these parameters (query and form together)."""
    return signature(secret, string_to_sign(method, params.items()))


def verify(request: Request, world: World, now: datetime | None = None) -> tuple[KeyRecord, str]:
    """The active key that signed ``request`` and its nonce; raises the gateway's CloudError otherwise.

    Checks, in order: the required parameters (``MissingParameter``), ``SignatureMethod`` /
    ``SignatureVersion`` (``IncompleteSignature``), the key (``InvalidAccessKeyId.NotFound``), the
    timestamp (``InvalidTimeStamp.Format`` / ``.Expired``), the signature (``SignatureDoesNotMatch``),
    the key's status (``InvalidAccessKeyId.Inactive``). The nonce is the caller's to record.
    """
    params = {**request.query, **request.form}
    for name in _REQUIRED:
        if not params.get(name):
            raise missing_parameter(name)
    if params["SignatureMethod"] != SIGNATURE_METHOD or params["SignatureVersion"] != SIGNATURE_VERSION:
        raise gateway_error("IncompleteSignature", f"The request signature does not conform to Aliyun "
                            f"standards: SignatureMethod must be {SIGNATURE_METHOD} and SignatureVersion "
                            f"{SIGNATURE_VERSION}.")
    key = world.lookup_key(params["AccessKeyId"])
    if key is None:
        raise gateway_error("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404)
    check_timestamp(params["Timestamp"], now or datetime.now(UTC), "Timestamp")
    text = string_to_sign(request.method, params.items())
    if not hmac.compare_digest(signature(key.secret, text), params["Signature"]):
        raise gateway_error("SignatureDoesNotMatch", "Specified signature is not matched with our "
                            f"calculation. server string to sign is:{text}")
    if not key.active:
        raise gateway_error("InvalidAccessKeyId.Inactive", "Specified access key is disabled.", 403)
    return key, params["SignatureNonce"]


def strip_common(request: Request) -> None:
    """Drop the signature's common parameters, so a handler sees the same parameters under both signatures."""
    for source in (request.query, request.form):
        for name in COMMON_PARAMETERS:
            source.pop(name, None)

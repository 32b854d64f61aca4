"""SDK-HMAC-SHA256: verify the signature the official Huawei SDKs put on every AK/SK call.

Rebuilt exactly as ``huaweicloudsdkcore/signer/signer.py`` computes it (reference §1.3): the raw
path unquoted then re-quoted segment by segment with a trailing ``/``, the sorted re-encoded query,
the signed headers (``name:value`` each, then a blank line), their names, and the SHA-256 of the
raw body (the empty-body hash for no body; ``X-Sdk-Content-Sha256`` when the client set it).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import quote, unquote, urlsplit

from provision.emulator.signing import canonical_query
from provision.emulator.wire import CloudError

ALGORITHM = "SDK-HMAC-SHA256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
MAX_SKEW_S = 900  # X-Sdk-Date more than 15 minutes from the gateway's clock is refused
EMPTY_HASH = hashlib.sha256(b"").hexdigest()
_AUTHORIZATION = re.compile(r"^SDK-HMAC-SHA256 Access=([^,]+), SignedHeaders=([^,]+), Signature=([0-9a-f]+)$")
# headers that carry identity or scope: a request sending one unsigned is refused
IDENTITY_HEADERS = ("host", "x-sdk-date", "x-project-id", "x-domain-id", "x-security-token")


def gateway_error(detail: str) -> CloudError:
    """The API gateway's 401 (reference §2.3): ``APIG.0301`` "Incorrect IAM authentication information"."""
    return CloudError("APIG.0301", f"Incorrect IAM authentication information: {detail}", 401)


def canonical_uri(raw_path: str) -> str:
    """Each segment of the unquoted path quoted (``~`` kept), with a trailing ``/``."""
    path = "/".join(quote(segment, safe="~") for segment in unquote(raw_path or "/").split("/"))
    return path if path.endswith("/") else path + "/"


def _wire_value(value: str) -> str:
    """The SDK sends header values as UTF-8 bytes read back as latin-1; undo that before hashing."""
    try:
        return value.encode("latin-1").decode("utf-8").strip()
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value.strip()


def payload_hash(headers: Mapping[str, str], body: bytes) -> str:
    if not body:
        return EMPTY_HASH
    return headers.get("x-sdk-content-sha256") or hashlib.sha256(body).hexdigest()


def string_to_sign(
    method: str, raw_target: str, headers: Mapping[str, str], signed: list[str], body: bytes, sdk_date: str
) -> str:
    """The string the SDK signs (``headers`` with lower-case names)."""
    split = urlsplit(raw_target)
    canonical_request = "\n".join(
        [
            method.upper(),
            canonical_uri(split.path),
            canonical_query(split.query),
            "".join(f"{name}:{_wire_value(headers.get(name, ''))}\n" for name in signed),
            ";".join(signed),
            payload_hash(headers, body),
        ]
    )
    return f"{ALGORITHM}\n{sdk_date}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"


def sign(secret: str, text: str) -> str:
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def parse_authorization(value: str) -> tuple[str, list[str], str]:
    """``(access key id, signed header names, signature)``; 401 when the header is not SDK-HMAC-SHA256."""
    if not value:
        raise gateway_error("the request is not signed (no Authorization header)")
    match = _AUTHORIZATION.match(value)
    if match is None:
        raise gateway_error(
            "malformed Authorization header (expected SDK-HMAC-SHA256 Access=..., "
            "SignedHeaders=..., Signature=...)"
        )
    return match.group(1), match.group(2).split(";"), match.group(3)


def check_date(value: str | None, now: datetime) -> None:
    if not value:
        raise gateway_error("X-Sdk-Date is missing")
    try:
        signed_at = datetime.strptime(value, DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise gateway_error(f"X-Sdk-Date {value!r} is not in the format yyyyMMddTHHmmssZ") from None
    if abs((now - signed_at).total_seconds()) > MAX_SKEW_S:
        raise gateway_error(
            "the request has expired: X-Sdk-Date is more than 15 minutes from the server time"
        )


def verify(
    method: str,
    raw_target: str,
    headers: Mapping[str, str],
    body: bytes,
    secret: str,
    signed: list[str],
    signature: str,
    now: datetime | None = None,
) -> None:
    """Raise the gateway's 401 unless ``signature`` is what the SDK computes with ``secret``."""
    unsigned = [name for name in IDENTITY_HEADERS if name in headers and name not in signed]
    if unsigned:
        raise gateway_error(f"the header(s) {', '.join(unsigned)} must be signed")
    missing = [name for name in signed if name not in headers]
    if missing:
        raise gateway_error(f"signed header(s) {', '.join(missing)} not sent")
    check_date(headers.get("x-sdk-date"), now or datetime.now(UTC))
    expected = sign(secret, string_to_sign(method, raw_target, headers, signed, body, headers["x-sdk-date"]))
    if not hmac.compare_digest(expected, signature):
        raise gateway_error("verify aksk signature fail")

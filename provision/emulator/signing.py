"""ACS3-HMAC-SHA256: verify the signature the official SDKs put on every AK-signed call.

The canonical request is rebuilt from what was received: the raw path, the query decoded and
re-encoded (the sync and async SDK transports encode it differently on the wire), the signed
headers in the order the client declared, and the SHA-256 of the raw body.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, urlsplit

from provision.emulator.wire import CloudError, Request, missing_parameter
from provision.emulator.world import KeyRecord, World

ALGORITHM = "ACS3-HMAC-SHA256"
MAX_SKEW_S = 900  # the gateway accepts x-acs-date within 15 minutes of its own clock
DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
NONCE_HEADER = "x-acs-signature-nonce"
# DATE_FORMAT as a regex: strptime costs more than the rest of the date check, on every signed call
_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})T(\d{1,2}):(\d{1,2}):(\d{1,2})Z$")


def percent_encode(value: str) -> str:
    """RFC 3986 (both signatures): space → %20, * → %2A, ~ kept."""
    return quote(value, safe="~")


def canonical_query(query_string: str) -> str:
    """Sorted ``k=v`` pairs, RFC 3986 encoded, from a query string in any wire encoding."""
    pairs = parse_qsl(query_string, keep_blank_values=True)
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(pairs))


def compute_signature(secret: str, method: str, raw_target: str, headers: Mapping[str, str],
                      signed_headers: list[str], payload_hash: str) -> str:
    """The hex signature of one request (``headers`` lower-case; ``signed_headers`` sorted)."""
    split = urlsplit(raw_target)
    canonical_request = "\n".join([
        method.upper(),
        split.path or "/",
        canonical_query(split.query),
        "".join(f"{name}:{headers[name].strip()}\n" for name in signed_headers),
        ";".join(signed_headers),
        payload_hash,
    ])
    string_to_sign = f"{ALGORITHM}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"
    return hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def authorization_header(access_key_id: str, secret: str, method: str, raw_target: str,
                         headers: Mapping[str, str], body: bytes = b"") -> str:
    """The ``Authorization`` value signing every header in ``headers`` (used to craft requests by hand)."""
    lower = {k.lower(): v for k, v in headers.items()}
    names = sorted(lower)
    signature = compute_signature(secret, method, raw_target, lower, names,
                                  hashlib.sha256(body).hexdigest())
    return f"{ALGORITHM} Credential={access_key_id},SignedHeaders={';'.join(names)},Signature={signature}"


def gateway_error(code: str, message: str, status: int = 400) -> CloudError:
    """A gateway error (signature, key, timestamp, nonce)."""
    return CloudError(code, message, status, "RPC")  # gateway errors are PascalCase, even on ROA APIs


def _parse_authorization(value: str) -> tuple[str, list[str], str]:
    algorithm, _, rest = value.partition(" ")
    if not value:
        raise gateway_error("IncompleteSignature", "The request is not signed: the Authorization "
                            "header is missing.")
    if algorithm != ALGORITHM:
        raise gateway_error("IncompleteSignature", f"Unsupported signature algorithm {algorithm!r}; "
                            f"the emulator accepts {ALGORITHM}, or the RPC HMAC-SHA1 signature "
                            "(Signature, SignatureMethod, ... parameters).")
    try:
        fields = dict(part.strip().split("=", 1) for part in rest.split(","))
        return fields["Credential"], fields["SignedHeaders"].split(";"), fields["Signature"]
    except (KeyError, ValueError):
        raise gateway_error("IncompleteSignature", "The request signature does not conform to "
                            "Aliyun standards: malformed Authorization header.") from None


def check_timestamp(value: str | None, now: datetime, name: str = "x-acs-date") -> None:
    """``value`` (``DATE_FORMAT``, UTC) is within 15 minutes of ``now``; ``name`` is where it was sent."""
    if value is None:
        raise missing_parameter(name)
    parts = _DATE.match(value)
    try:
        if parts is None:
            raise ValueError(value)
        year, month, day, hour, minute, second = (int(p) for p in parts.groups())
        signed_at = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        raise gateway_error("InvalidTimeStamp.Format",
                            "Specified time stamp or date value is not well formatted.") from None
    if abs((now - signed_at).total_seconds()) > MAX_SKEW_S:
        raise gateway_error("InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")


def verify(request: Request, world: World, now: datetime | None = None) -> KeyRecord:
    """The active key that signed ``request``; raises the gateway's CloudError otherwise.

    ``now`` defaults to the real UTC time, not the world clock: clients stamp requests with their
    own wall clock, and tests advance the world clock without touching it.
    """
    access_key_id, signed, signature = _parse_authorization(request.headers.get("authorization", ""))
    key = world.lookup_key(access_key_id)
    if key is None:
        raise gateway_error("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404)
    if (any(n not in signed for n in ("host", "x-acs-date")) or any(n not in request.headers for n in signed)
            or (NONCE_HEADER in request.headers and NONCE_HEADER not in signed)):
        raise gateway_error("IncompleteSignature", "The request signature does not conform to Aliyun "
                            "standards: host, x-acs-date and x-acs-signature-nonce must be signed, and "
                            "every signed header sent.")
    payload_hash = hashlib.sha256(request.body).hexdigest()
    if request.headers.get("x-acs-content-sha256") != payload_hash:
        raise gateway_error("SignatureDoesNotMatch", "The x-acs-content-sha256 header does not match "
                            "the SHA-256 of the request body.")
    check_timestamp(request.headers.get("x-acs-date"), now or datetime.now(UTC))
    if NONCE_HEADER not in request.headers:
        raise missing_parameter(NONCE_HEADER)
    expected = compute_signature(key.secret, request.method, request.raw_target, request.headers,
                                 signed, payload_hash)
    if not hmac.compare_digest(expected, signature):
        raise gateway_error("SignatureDoesNotMatch",
                            "Specified signature is not matched with our calculation.")
    if not key.active:
        raise gateway_error("InvalidAccessKeyId.Inactive", "Specified access key is disabled.", 403)
    return key

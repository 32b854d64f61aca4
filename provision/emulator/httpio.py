"""HTTP in and out: decode a raw request into a ``Request``; encode bodies and errors as the SDKs parse them.

Error bodies follow the reference (§8): gateway and RPC errors are PascalCase
``{RequestId, HostId, Code, Message, Recommend}``; Model Studio ROA service errors are camelCase
``{requestId, code, message, httpStatusCode, success: false}``. ``x-acs-retry-after`` turns an
error into the SDK's ``ThrottlingException``.
"""

from __future__ import annotations

import ipaddress
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from provision.emulator.wire import Body, CloudError, DataResponse, Request

JSON_TYPE = "application/json;charset=utf-8"
_REGION_IN_HOST = re.compile(r"^[a-z0-9-]+\.([a-z]{2}-[a-z0-9-]+)\.aliyuncs\.com$")


@dataclass(frozen=True)
class HttpResponse:
    """A finished response; ``code`` is the error code (empty on success), for the request log."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    code: str = ""
    chunks: tuple[bytes, ...] | None = None  # a stream: each written and flushed on its own (chunked)
    drop: bool = False  # close the connection without answering (a fault: the answer is lost)


def new_request_id() -> str:
    """A request id shaped like the cloud's (upper-case UUID)."""
    return str(uuid.uuid4()).upper()


def host_name(host_header: str) -> str:
    """The host without its port: ``127.0.0.1:8080`` → ``127.0.0.1``, ``[::1]:80`` → ``::1``."""
    if host_header.startswith("["):
        return host_header[1:].split("]", 1)[0]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def is_ip_literal(host: str) -> bool:
    """True for an IPv4/IPv6 address (never a PrivateLink endpoint domain)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def parse_request(method: str, raw_target: str, headers: Mapping[str, str], body: bytes,
                  default_region: str, client_ip: str = "") -> Request:
    """Decode one request: query and form flattened, JSON parsed, header names lower-cased."""
    lower = {k.lower(): v for k, v in headers.items()}
    split = urlsplit(raw_target)
    content_type = lower.get("content-type", "").lower()
    form: dict[str, str] = {}
    json_body: Any = None
    if body and content_type.startswith("application/x-www-form-urlencoded"):
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    elif body and "json" in content_type:
        try:
            json_body = json.loads(body)
        except ValueError:
            json_body = None  # the handler answers 400 for a body it cannot read
    request = Request(
        method=method.upper(), path=unquote(split.path or "/"), raw_target=raw_target,
        query=dict(parse_qsl(split.query, keep_blank_values=True)), form=form, headers=lower,
        body=body, json_body=json_body, action=lower.get("x-acs-action"),
        version=lower.get("x-acs-version"), host=lower.get("host", ""), client_ip=client_ip)
    if request.action is None and request.path == "/":  # RPC signed the older way: no x-acs-* headers
        request.action = request.get("Action")
        request.version = request.version or request.get("Version")
    region_in_host = _REGION_IN_HOST.match(host_name(request.host))
    request.region = (request.get("RegionId") or (region_in_host.group(1) if region_in_host else "")
                      or default_region)
    return request


def json_response(status: int, body: Body, request_id: str, headers: Mapping[str, str] | None = None,
                  code: str = "") -> HttpResponse:
    """A JSON response carrying ``x-acs-request-id``."""
    all_headers = {"Content-Type": JSON_TYPE, "x-acs-request-id": request_id, **(headers or {})}
    return HttpResponse(status, json.dumps(body, ensure_ascii=False).encode(), all_headers, code)


def api_success(body: Body, style: str) -> HttpResponse:
    """200 with the handler's body, plus ``RequestId`` (RPC) / ``requestId`` (ROA) when it has none."""
    request_id = str(body.get("RequestId") or body.get("requestId") or new_request_id())
    key = "RequestId" if style == "RPC" else "requestId"
    return json_response(200, {key: request_id, **body} if key not in body else body, request_id)


def api_error(error: CloudError, host: str, extra: Body | None = None) -> HttpResponse:
    """The error body the SDK turns into ClientException / ServerException / ThrottlingException."""
    request_id = new_request_id()
    body: Body
    if error.style == "RPC":
        body = {"RequestId": request_id, "HostId": host, "Code": error.code, "Message": error.message,
                "Recommend": f"https://api.aliyun.com/troubleshoot?q={error.code}", **(extra or {})}
    else:
        body = {"requestId": request_id, "code": error.code, "message": error.message,
                "httpStatusCode": error.status, "success": False}
    headers = {"x-acs-retry-after": str(error.retry_after_ms)} if error.retry_after_ms else {}
    return json_response(error.status, body, request_id, headers, error.code)


def data_error(status: int, code: str, message: str, openai_style: bool = False) -> HttpResponse:
    """A DashScope error: native ``{code,message,request_id}`` or OpenAI-compatible ``{error:{...}}``."""
    request_id = new_request_id()
    body: Body = {"code": code, "message": message, "request_id": request_id}
    if openai_style:
        body = {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code},
                "request_id": request_id}
    return json_response(status, body, request_id, code=code)


def _data_code(body: Body | None) -> str:
    if not body:
        return ""
    error = body.get("error")
    code = error.get("code") if isinstance(error, dict) else body.get("code")
    return str(code or "")


def data_success(response: DataResponse) -> HttpResponse:
    """A data-plane response: JSON, or Server-Sent Events when ``stream`` is set."""
    request_id = new_request_id()
    code = _data_code(response.body) if response.status >= 400 else ""
    if response.stream is None:
        return json_response(response.status, response.body or {}, request_id, response.headers, code)
    events = tuple(sse_event(payload, n, response.sse).encode() for n, payload in
                   enumerate(response.stream, start=1))
    headers = {"Content-Type": "text/event-stream;charset=utf-8", "Cache-Control": "no-cache",
               "x-acs-request-id": request_id, **response.headers}
    return HttpResponse(response.status, b"".join(events), headers, code, chunks=events)


def sse_event(payload: str, number: int, style: str) -> str:
    """One Server-Sent Event: OpenAI-compatible ``data: …``, or DashScope's native event with its id, the
    ``result`` event type and the ``:HTTP_STATUS/200`` comment line before the data."""
    if style == "dashscope":
        return f"id:{number}\nevent:result\n:HTTP_STATUS/200\ndata:{payload}\n\n"
    return f"data: {payload}\n\n"

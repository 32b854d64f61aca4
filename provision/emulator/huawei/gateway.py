"""The Huawei API gateway inside the one emulator server: it claims Huawei calls, authenticates them
(SDK-HMAC-SHA256, ``X-Auth-Token``, Bearer API keys), applies faults, VPC endpoint hosts and
authorization, runs the handler under ``world.lock`` and answers as the SDKs parse it: errors are
``{error_code, error_msg, request_id}`` with ``X-Request-Id`` (reference §2.1).

Claimed: any call without ``x-acs-action`` that carries an SDK-HMAC signature, ``X-Sdk-Date`` or
``X-Auth-Token``, or whose method and path fit the Huawei route table. Alibaba calls never do.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import unquote

from provision.emulator.faults import DROP
from provision.emulator.httpio import HttpResponse, host_name, json_response
from provision.emulator.huawei import signing
from provision.emulator.huawei.authz import authorize
from provision.emulator.huawei.routing import HwCaller, HwCtx, HwRoute, Reply
from provision.emulator.huawei.state import HuaweiState, find_key, hw_state
from provision.emulator.huawei.vpcep import endpoint_by_host
from provision.emulator.wire import Body, CloudError, Request
from provision.emulator.world import World

if TYPE_CHECKING:
    from provision.emulator.server import EmulatorServer

log = logging.getLogger("provision.emulator")
PUBLIC_SUFFIXES = (".myhuaweicloud.com",)  # the SDKs' default hosts: reached directly


def new_request_id() -> str:
    return uuid.uuid4().hex


def error_response(error: CloudError, extra: Body | None = None) -> HttpResponse:
    """``{error_code, error_msg, request_id}`` and the ``X-Request-Id`` the SDK reads the id from."""
    request_id = new_request_id()
    status, code, headers = error.status, error.code, {"X-Request-Id": request_id}
    if code.startswith("Throttling"):  # an injected throttle: the gateway's 429
        status, code = 429, "APIG.0308"
        if error.retry_after_ms:
            headers["Retry-After"] = str(max(1, round(error.retry_after_ms / 1000)))
    elif code in ("InternalError", "ServiceUnavailable"):
        code = "APIG.0202" if status == 503 else "APIG.0201"
    body: Body = {"error_code": code, "error_msg": error.message, "request_id": request_id, **(extra or {})}
    return json_response(status, body, request_id, headers, code)


def success_response(reply: Body | Reply) -> HttpResponse:
    if not isinstance(reply, Reply):
        reply = Reply(200, reply)
    request_id = new_request_id()
    headers = {"X-Request-Id": request_id, **reply.headers}
    if reply.stream is not None:
        headers["Content-Type"] = "text/event-stream;charset=UTF-8"
        headers["Cache-Control"] = "no-cache"
        return HttpResponse(reply.status, reply.stream.encode(), headers)
    if reply.status == 204 or reply.body is None:
        return HttpResponse(reply.status, b"", headers)
    return json_response(reply.status, reply.body, request_id, headers)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class HuaweiGateway:
    """Dispatches the Huawei calls of ``server`` through ``routes`` (an explicit table, first match wins)."""

    def __init__(self, server: EmulatorServer, routes: Sequence[HwRoute]) -> None:
        self.server = server
        self.routes = tuple(routes)

    def find(self, method: str, raw_path: str) -> tuple[HwRoute, dict[str, str]] | None:
        """The route and its (decoded) path params; matched on the raw path so an encoded ``/`` stays
        inside its segment."""
        for route in self.routes:
            params = route.match(method, raw_path)
            if params is not None:
                return route, {k: unquote(v) for k, v in params.items()}
        return None

    def claims(self, request: Request, raw_path: str) -> bool:
        """Whether ``request`` is a Huawei call (never one with ``x-acs-action``)."""
        if request.action:
            return False
        headers = request.headers
        if (
            headers.get("authorization", "").startswith("SDK-")
            or "x-sdk-date" in headers
            or "x-auth-token" in headers
        ):
            return True
        return self.find(request.method, raw_path) is not None

    def handle(self, request: Request, raw_path: str) -> tuple[str, HttpResponse, str]:
        """``(label for the request log, response, caller's key id)``."""
        found = self.find(request.method, raw_path)
        if found is None:
            label = f"{request.method} {request.path}"
            return (
                label,
                error_response(
                    CloudError(
                        "APIG.0101",
                        "The API does not exist or has not been published in the environment.",
                        404,
                    )
                ),
                "",
            )
        route, request.path_params = found
        world = self.server.world
        caller_key = ""
        try:
            decision = self.server.faults.decide(route.name, route.data_plane)
            if decision.delay_s:
                time.sleep(decision.delay_s)
            if decision.error is not None:
                raise decision.error
            with world.lock:
                source_vpce = self._source_vpce(world, request)
                caller = self._authenticate(world, route, request)
                caller_key = caller.access_key_id
                state = hw_state(world, caller.account_id) if caller.account_id else HuaweiState()
                self._check_project(state, request)
                ctx = HwCtx(world, caller.account_id, state, caller, request, source_vpce)
                authorize(ctx, route.action)
                reply = route.handler(ctx)
            if not route.read_only:
                self.server.mark_dirty()
                lost = self.server.faults.after_commit(route.name, route.data_plane)  # commit, then fail
                if lost == DROP:
                    return route.name, HttpResponse(503, b"", code="after_commit:drop", drop=True), caller_key
                if isinstance(lost, CloudError):
                    return route.name, error_response(lost), caller_key
            return route.name, success_response(reply), caller_key
        except CloudError as error:
            extra = {"encoded_authorization_message": None} if error.status == 403 else None
            return route.name, error_response(error, extra), caller_key
        except Exception:
            log.exception("Huawei handler %s failed", route.name)
            return (
                route.name,
                error_response(CloudError("APIG.0201", "Internal server error.", 500)),
                caller_key,
            )

    # -- steps ----------------------------------------------------------------------------------------
    def _source_vpce(self, world: World, request: Request) -> str | None:
        """The VPC endpoint a Host names (``g:SourceVpce``); None for the emulator's own and public hosts."""
        host = host_name(request.host).lower()
        if self.server._is_direct_host(host) or host.endswith(PUBLIC_SUFFIXES):
            return None
        found = endpoint_by_host(world, host)
        if found is None:
            raise CloudError("EndpointNotFound", f"No VPC endpoint has the domain {host}.", 404)
        endpoint_id, status = found
        if status != "accepted":
            raise CloudError("EndpointNotReady", f"The VPC endpoint {host} is {status}, not accepted.", 503)
        return endpoint_id

    def _authenticate(self, world: World, route: HwRoute, request: Request) -> HwCaller:
        headers = request.headers
        if route.auth == "apikey":
            from provision.emulator.huawei.maas import api_key_caller

            return api_key_caller(world, headers.get("authorization", ""), request.client_ip)
        if headers.get("authorization") or route.auth == "iam" and "x-auth-token" not in headers:
            return self._signed(world, request)
        if "x-auth-token" in headers:
            return self._token(world, headers["x-auth-token"])
        return HwCaller("", "password")  # POST /v3/auth/tokens unsigned: the body authenticates

    def _signed(self, world: World, request: Request) -> HwCaller:
        access_key_id, signed, signature = signing.parse_authorization(
            request.headers.get("authorization", "")
        )
        found = find_key(world, access_key_id)
        if found is None:
            raise signing.gateway_error(f"the access key {access_key_id} does not exist")
        account_id, key = found
        signing.verify(
            request.method, request.raw_target, request.headers, request.body, key.secret, signed, signature
        )
        if key.status != "active":
            raise signing.gateway_error(f"the access key {access_key_id} is inactive")
        state = hw_state(world, account_id)
        user = state.users.get(key.user_id) if key.user_id else None
        if key.user_id and (user is None or not user.enabled):
            raise signing.gateway_error("the user of this access key is disabled or deleted")
        key.last_used_at = world.clock.iso()
        return HwCaller(
            account_id, "aksk", key.user_id, user.user_name if user else state.domain_name, access_key_id
        )

    def _token(self, world: World, token: str) -> HwCaller:
        digest = _hash(token)
        for account_id in world.accounts:
            state = hw_state(world, account_id)
            record = state.tokens.get(digest)
            if record is None:
                continue
            if record.expires_ts < world.clock.timestamp():
                break
            if record.user_id is None:
                return HwCaller(account_id, "token", None, state.domain_name)
            user = state.users.get(record.user_id)
            if user is not None and user.enabled:
                return HwCaller(account_id, "token", user.user_id, user.user_name)
            break
        raise signing.gateway_error("decrypt token fail")

    @staticmethod
    def _check_project(state: HuaweiState, request: Request) -> None:
        project_id = request.path_params.get("project_id")
        if project_id is not None and state.region_of_project(project_id) is None:
            raise CloudError(
                "APIG.0201",
                f"The project_id {project_id} in the path is not a project of "
                f"the caller's account {state.domain_name} (see GET /v3/projects).",
                400,
            )


def token_digest(token: str) -> str:
    """How tokens are stored: their SHA-256, never the token itself."""
    return _hash(token)

"""The control API under ``/_emulator/``: unsigned JSON for tests and operators (reset, stats, faults,
clock, workspace membership — the one thing the cloud only offers in its console)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from provision.emulator.alibaba.modelstudio import remove_member, set_member
from provision.emulator.faults import FaultRule
from provision.emulator.httpio import HttpResponse, json_response, new_request_id
from provision.emulator.wire import Body, CloudError, Request

if TYPE_CHECKING:
    from provision.emulator.server import EmulatorServer


class _FaultsBody(FaultRule):
    action: str | None = None
    clear: bool = False


class _ClockBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    advance_s: float


class _MemberBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user: str
    role: Literal["guest", "admin"] = "guest"
    account_id: str | None = None  # default: the seed's first account


class ControlError(Exception):
    """A control-API failure answered as ``{"code", "message"}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


ControlHandler = Callable[[Request, dict[str, str]], Body]


def _json_object(raw: bytes) -> dict[str, Any]:
    """A control body as a JSON object (an empty body is ``{}``)."""
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError as error:
        raise ControlError(400, "InvalidParameter", f"the body is not JSON ({error})") from None
    if not isinstance(data, dict):
        raise ControlError(400, "InvalidParameter", "the body must be a JSON object")
    return data


def _problems(error: ValidationError) -> str:
    """A validation error in one line, ``field: problem; …``, without pydantic's links and input echo."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in error.errors())


class ControlApi:
    """Dispatches ``/_emulator/*`` through an explicit table of (method, path pattern, handler)."""

    def __init__(self, server: EmulatorServer) -> None:
        self.server = server
        self.table: list[tuple[str, re.Pattern[str], ControlHandler]] = [
            ("GET", re.compile(r"^/_emulator/health$"), self.health),
            ("POST", re.compile(r"^/_emulator/reset$"), self.reset),
            ("GET", re.compile(r"^/_emulator/stats$"), self.stats),
            ("DELETE", re.compile(r"^/_emulator/stats$"), self.clear_stats),
            ("GET", re.compile(r"^/_emulator/faults$"), self.get_faults),
            ("POST", re.compile(r"^/_emulator/faults$"), self.set_faults),
            ("POST", re.compile(r"^/_emulator/clock$"), self.advance_clock),
            ("POST", re.compile(r"^/_emulator/workspaces/(?P<workspace_id>[^/]+)/members$"), self.add_member),
            ("DELETE", re.compile(r"^/_emulator/workspaces/(?P<workspace_id>[^/]+)/members/(?P<user>[^/]+)$"),
             self.remove_member),
        ]

    def handle(self, request: Request) -> HttpResponse:
        """Answer one control request (404 for an unknown path, 400 for a bad body)."""
        request_id = new_request_id()
        for method, pattern, handler in self.table:
            match = pattern.match(request.path)
            if match and method == request.method:
                try:
                    return json_response(200, handler(request, match.groupdict()), request_id)
                except ControlError as error:
                    return json_response(error.status, {"code": error.code, "message": error.message},
                                         request_id, code=error.code)
        return json_response(404, {"code": "NotFound", "message": f"no control route {request.method} "
                                   f"{request.path}"}, request_id, code="NotFound")

    @staticmethod
    def _body(request: Request, model: type[BaseModel]) -> Any:
        """The body read as JSON whatever its Content-Type (``curl -d`` sends a form type), validated;
        400 with a short message when it is not JSON, not an object, or not valid."""
        data = _json_object(request.body)
        try:
            return model.model_validate(data)
        except ValidationError as error:
            raise ControlError(400, "InvalidParameter", _problems(error)) from None

    def health(self, request: Request, params: dict[str, str]) -> Body:
        """GET health: liveness plus the services served."""
        return {"status": "ok", "services": [s.name for s in self.server.services]}

    def reset(self, request: Request, params: dict[str, str]) -> Body:
        """POST reset: back to the seed; faults and stats cleared."""
        self.server.reset()
        return {"reset": True}

    def stats(self, request: Request, params: dict[str, str]) -> Body:
        """GET stats: counts per action, recent requests and injected faults."""
        return {**self.server.log.snapshot(), "faults_injected": dict(self.server.faults.injected)}

    def clear_stats(self, request: Request, params: dict[str, str]) -> Body:
        """DELETE stats."""
        self.server.log.clear()
        return {"cleared": True}

    def get_faults(self, request: Request, params: dict[str, str]) -> Body:
        """GET faults: the installed rules by action (``*`` = all)."""
        return {"rules": {k: r.model_dump() for k, r in self.server.faults.rules().items()}}

    def set_faults(self, request: Request, params: dict[str, str]) -> Body:
        """POST faults: install a rule (for ``action`` or all actions), or ``{"clear": true}``; a body
        naming no rule field is refused (it would silently install an empty rule)."""
        body: _FaultsBody = self._body(request, _FaultsBody)
        if not body.clear and not body.model_fields_set - {"action", "clear"}:
            fields = ", ".join(FaultRule.model_fields)
            raise ControlError(400, "InvalidParameter", f"no fault rule given: set one of {fields}, or "
                               '{"clear": true}')
        if body.clear:
            self.server.faults.clear()
        else:
            self.server.faults.set(FaultRule.model_validate(body.model_dump(exclude={"action", "clear"})),
                                   body.action)
        return self.get_faults(request, params)

    def advance_clock(self, request: Request, params: dict[str, str]) -> Body:
        """POST clock ``{"advance_s": N}``: move the world clock forward."""
        body: _ClockBody = self._body(request, _ClockBody)
        world = self.server.world
        with world.lock:
            world.clock.advance(body.advance_s)
            now = world.clock.iso()
        self.server.mark_dirty()
        return {"now": now}

    def add_member(self, request: Request, params: dict[str, str]) -> Body:
        """POST workspaces/{id}/members ``{"user", "role"}``: what an admin does in the console."""
        body: _MemberBody = self._body(request, _MemberBody)
        world = self.server.world
        account_id = body.account_id or world.default_account
        with world.lock:
            self._membership(lambda: set_member(world, account_id, params["workspace_id"], body.user,
                                                body.role))
        self.server.mark_dirty()
        return {"workspaceId": params["workspace_id"], "user": body.user, "role": body.role}

    def remove_member(self, request: Request, params: dict[str, str]) -> Body:
        """DELETE workspaces/{id}/members/{user}."""
        world = self.server.world
        account_id = request.query.get("account_id") or world.default_account
        with world.lock:
            self._membership(lambda: remove_member(world, account_id, params["workspace_id"], params["user"]))
        self.server.mark_dirty()
        return {"workspaceId": params["workspace_id"], "user": params["user"], "removed": True}

    @staticmethod
    def _membership(change: Callable[[], object]) -> None:
        try:
            change()
        except CloudError as error:
            raise ControlError(error.status, error.code, error.message) from None

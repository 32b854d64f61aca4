"""The Huawei side's vocabulary: the caller, a handler's context and reply, and one route of the table.

Huawei APIs are REST: a route is (method, path pattern) and names the IAM action a caller's identity
policies (and the organization's SCPs) must allow. ``auth`` says how the gateway authenticates it:
``iam`` (SDK-HMAC-SHA256 or ``X-Auth-Token``), ``password`` (``POST /v3/auth/tokens``: a signature is
verified when present, the body carries the password), ``apikey`` (``Authorization: Bearer``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from provision.emulator.huawei.state import HuaweiState
from provision.emulator.wire import Body, CloudError, Request, match_template
from provision.emulator.world import World

AuthKind = Literal["iam", "password", "apikey"]
Via = Literal["aksk", "token", "apikey", "password"]


@dataclass(frozen=True)
class HwCaller:
    """Who made the call: the root user (``user_id is None``) or an IAM user, and how it authenticated."""

    account_id: str
    via: Via
    user_id: str | None = None
    user_name: str = ""
    access_key_id: str = ""  # the AK (aksk) or the API key id (apikey)

    @property
    def is_root(self) -> bool:
        return self.user_id is None


@dataclass
class HwCtx:
    """What a handler gets: the world, the caller's account and state, the request, the VPC endpoint."""

    world: World
    account_id: str
    state: HuaweiState
    caller: HwCaller
    request: Request
    source_vpce: str | None = None  # the VPC endpoint the call came through (g:SourceVpce)

    @property
    def params(self) -> dict[str, str]:
        return self.request.path_params

    def now_iso(self) -> str:
        return self.world.clock.now().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    def now_ts(self) -> float:
        return self.world.clock.timestamp()

    def body(self) -> dict[str, Any]:
        """The JSON body as an object; 400 when it is not one."""
        data = self.request.json_body
        if data is None and not self.request.body:
            return {}
        if not isinstance(data, dict):
            raise CloudError("APIG.0201", "The request body is not a JSON object.", 400)
        return data

    def query_int(self, name: str, default: int, low: int, high: int, code: str) -> int:
        """An integer query parameter within ``[low, high]``; 400 ``code`` otherwise."""
        raw = self.request.query.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise CloudError(code, f"The parameter {name} must be an integer from {low} to {high}.", 400)
        return value


@dataclass(frozen=True)
class Reply:
    """A handler's answer when it is not a plain 200 JSON body: another status, headers or an SSE stream."""

    status: int = 200
    body: Body | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    stream: str | None = None  # a finished text/event-stream body


Handler = Callable[[HwCtx], "Body | Reply"]


@dataclass(frozen=True)
class HwRoute:
    """One Huawei API: ``name`` (the SDK operation, the label of stats and fault rules), the IAM action."""

    name: str
    method: str
    path: str
    handler: Handler
    action: str | None  # None: any authenticated caller
    auth: AuthKind = "iam"
    data_plane: bool = False

    @property
    def read_only(self) -> bool:
        return self.method == "GET" or self.data_plane

    def match(self, method: str, path: str) -> dict[str, str] | None:
        return match_template(self.path, path) if method == self.method else None

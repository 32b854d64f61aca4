"""The emulator's shared vocabulary: a parsed request, the caller, cloud errors and routes.

Service modules (``services/*.py``) only see these types; ``server.py`` turns HTTP into a
``Request`` and a ``CloudError`` or a returned body back into HTTP, exactly as the SDKs expect.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from provision.emulator.world import World

Style = Literal["RPC", "ROA"]
Body = dict[str, Any]  # a JSON response body, exactly as it goes on the wire
READ_VERBS = ("Get", "List", "Describe", "Check", "Query")  # actions named so change nothing


@cache
def _indexed(prefix: str, nested: bool) -> re.Pattern[str]:
    """``Prefix.N`` (or ``Prefix.N.Field``), compiled once per prefix: parameter helpers run per request."""
    return re.compile(rf"^{re.escape(prefix)}\.(\d+)" + (r"\.(.+)$" if nested else "$"))


@cache
def _template(path: str) -> re.Pattern[str]:
    """``/a/{id}/b`` → a regex with one named group per ``{name}`` segment, compiled once per route."""
    return re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$")


def match_template(template: str, path: str) -> dict[str, str] | None:
    """The ``{name}`` segments of ``path`` if it fits ``template``, else None."""
    m = _template(template).match(path)
    return m.groupdict() if m else None


@dataclass(frozen=True)
class Caller:
    """Who signed the request: the account's root key (``user_name is None``) or a RAM user's key."""

    account_id: str
    access_key_id: str
    user_name: str | None = None

    @property
    def is_root(self) -> bool:
        return self.user_name is None


@dataclass
class Request:
    """One decoded request. ``query`` and ``form`` hold flattened keys (``Zone.1.ZoneId``)."""

    method: str
    path: str  # percent-decoded path, e.g. /modelstudio/workspaces/ws 1
    raw_target: str  # path?query exactly as received (signed)
    query: dict[str, str]
    form: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes = b""
    json_body: Any = None
    action: str | None = None
    version: str | None = None
    host: str = ""
    client_ip: str = ""  # the TCP peer address (DashScope API keys may restrict it)
    region: str = ""  # from RegionId, else the region in the Host, else the world default
    caller: Caller | None = None
    path_params: dict[str, str] = field(default_factory=dict)

    # -- parameter helpers: query first, then form body, then path params ------------------------
    def get(self, name: str, default: str | None = None) -> str | None:
        for source in (self.query, self.form, self.path_params):
            if name in source:
                return source[name]
        return default

    def require(self, name: str, style: Style = "RPC") -> str:
        value = self.get(name)
        if value is None or value == "":
            raise missing_parameter(name, style)
        return value

    def get_bool(self, name: str, default: bool | None = None) -> bool | None:
        value = self.get(name)
        if value is None or value == "":
            return default
        return value.strip().lower() in ("true", "1", "yes")

    def get_int(self, name: str, default: int | None = None, style: Style = "RPC") -> int | None:
        value = self.get(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError:
            raise CloudError(f"InvalidParameter.{name}", f"The parameter {name} is invalid.",
                             400, style) from None

    def get_list(self, prefix: str) -> list[str]:
        """``Prefix.1=a&Prefix.2=b`` → ``["a", "b"]`` (ordered by index)."""
        pattern = _indexed(prefix, nested=False)
        items: list[tuple[int, str]] = []
        for source in (self.query, self.form):
            for key, value in source.items():
                m = pattern.match(key)
                if m:
                    items.append((int(m.group(1)), value))
        return [v for _, v in sorted(items)]

    def get_objects(self, prefix: str) -> list[dict[str, str]]:
        """``Zone.1.ZoneId=a&Zone.1.VSwitchId=b`` → ``[{"ZoneId": "a", "VSwitchId": "b"}]``."""
        pattern = _indexed(prefix, nested=True)
        found: dict[int, dict[str, str]] = {}
        for source in (self.query, self.form):
            for key, value in source.items():
                m = pattern.match(key)
                if m:
                    found.setdefault(int(m.group(1)), {})[m.group(2)] = value
        return [found[i] for i in sorted(found)]


class CloudError(Exception):
    """A cloud error with its exact code and HTTP status; ``server.py`` serialises it per ``style``."""

    def __init__(self, code: str, message: str, status: int = 400, style: Style = "RPC",
                 retry_after_ms: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.style = style
        self.retry_after_ms = retry_after_ms


def missing_parameter(name: str, style: Style = "RPC") -> CloudError:
    """400 ``MissingParameter`` naming the parameter (or signature header) that was not sent."""
    return CloudError("MissingParameter", f"The input parameter {name} that is mandatory for processing "
                      "this request is not supplied.", 400, style)


@dataclass(frozen=True)
class Ctx:
    """What a handler gets besides the request: the world and the caller's account."""

    world: World
    account_id: str

    def next_id(self, prefix: str) -> str:
        return self.world.ids.next(prefix)

    def now_iso(self) -> str:
        return self.world.clock.iso()

    def now_ms(self) -> int:
        return self.world.clock.millis()


Handler = Callable[[Ctx, Request], Body]


@dataclass(frozen=True)
class Route:
    """One signed API action (RPC: path "/"; ROA: a path pattern with ``{name}`` segments).

    ``ram_action`` is the RAM action a RAM user's policies must allow (``ram:CreateUser``,
    ``modelstudio:CreateWorkspace``); ``None`` means any authenticated caller may call it.
    """

    version: str
    action: str
    handler: Handler
    ram_action: str | None
    method: str = "POST"
    path: str = "/"
    style: Style = "RPC"

    @property
    def read_only(self) -> bool:
        """Whether the action only reads, by its verb (Get, List, Describe, Check, Query)."""
        return self.action.startswith(READ_VERBS)

    def match_path(self, path: str) -> dict[str, str] | None:
        """Path params if ``path`` fits this route's pattern, else None."""
        return {} if self.style == "RPC" else match_template(self.path, path)


def rpc_routes(version: str, product: str, handlers: Mapping[str, Handler]) -> tuple[Route, ...]:
    """One RPC route per action of ``handlers``, each needing the RAM action ``<product>:<Action>``."""
    return tuple(Route(version, action, handler, f"{product}:{action}")
                 for action, handler in handlers.items())


def roa_route(version: str, product: str, action: str, method: str, path: str, handler: Handler) -> Route:
    """An ROA route (``path`` with ``{name}`` segments) needing the RAM action ``<product>:<Action>``."""
    return Route(version, action, handler, f"{product}:{action}", method, path, "ROA")


@dataclass(frozen=True)
class DataResponse:
    """A response of the Bearer-authenticated data plane (DashScope / OpenAI-compatible)."""

    status: int
    body: Body | None = None
    stream: list[str] | None = None  # SSE ``data:`` payloads, already JSON-encoded; ``[DONE]`` last
    headers: Mapping[str, str] = field(default_factory=dict)
    # "openai": ``data: …`` events; "dashscope": native events with ``id:``, ``event:result`` and
    # ``:HTTP_STATUS/200`` lines before ``data:`` (as the DashScope SSE protocol sends them)
    sse: Literal["openai", "dashscope"] = "openai"
    changed: bool = False  # the call changed the world (an agent-app session): save it


DataHandler = Callable[["World", Request], DataResponse]


@dataclass(frozen=True)
class DataRoute:
    """An unsigned HTTP route (Bearer API key): the handler authenticates the key itself."""

    method: str
    path: str  # pattern with {name} segments
    handler: DataHandler

    def match_path(self, path: str) -> dict[str, str] | None:
        """Path params if ``path`` fits this route's pattern, else None."""
        return match_template(self.path, path)


SeedHook = Callable[["World", str, dict[str, Any]], None]


@dataclass(frozen=True)
class Service:
    """A cloud service as the server sees it.

    ``seed(world, account_id, section)`` loads the service's section of one seed account (the
    section named ``name`` in the seed file, or ``default_seed`` when the file has none); the
    service validates its own section.
    """

    name: str
    routes: tuple[Route, ...] = ()
    data_routes: tuple[DataRoute, ...] = ()
    seed: SeedHook | None = None
    default_seed: dict[str, Any] = field(default_factory=dict)

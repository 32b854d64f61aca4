"""The emulator's HTTP server: every service on one host:port, dispatched through an explicit route table.

Per request: parse → control API (``/_emulator/*``) → for signed calls (``x-acs-action``, or
``Action`` with a v1 ``Signature``): signature and nonce, fault injection, caller, route on
(version, action) [+ path for ROA], RAM authorization, handler under ``world.lock``; otherwise the
Bearer data plane (``DataRoute``), reached directly or through a PrivateLink endpoint domain in ``Host``.
"""

from __future__ import annotations

import json
import logging
import socket
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from provision.emulator import auth, gateway
from provision.emulator.alibaba.privatelink import endpoint_by_domain
from provision.emulator.catalog import SERVICES
from provision.emulator.control import ControlApi
from provision.emulator.faults import DROP, Faults
from provision.emulator.httpio import (
    HttpResponse,
    api_error,
    api_success,
    data_error,
    data_success,
    host_name,
    is_ip_literal,
    parse_request,
)
from provision.emulator.huawei import ROUTES as HUAWEI_ROUTES
from provision.emulator.huawei.gateway import HuaweiGateway
from provision.emulator.nonces import NonceLedger
from provision.emulator.stats import LogEntry, RequestLog
from provision.emulator.wire import Caller, CloudError, Ctx, DataRoute, Request, Route, Service
from provision.emulator.world import World, write_json_atomic

log = logging.getLogger("provision.emulator")

PUBLIC_DATA_HOSTS = frozenset({"dashscope.aliyuncs.com", "dashscope-finance.aliyuncs.com",
                               "dashscope-intl.aliyuncs.com"})
PUBLIC_DATA_SUFFIX = ".maas.aliyuncs.com"
_MAX_HEADERS, _MAX_LINE = 100, 65536  # the stdlib's limits


def _decoded(params: dict[str, str] | None) -> dict[str, str] | None:
    # Routes match the raw path so an encoded "/" inside an id stays inside its segment.
    return None if params is None else {k: unquote(v) for k, v in params.items()}


class Routes:
    """The dispatch table: signed actions by (version, action), data routes in declaration order."""

    def __init__(self, services: Sequence[Service]) -> None:
        self.api: dict[tuple[str, str], tuple[Service, Route]] = {}
        self.data: list[DataRoute] = []
        for service in services:
            for route in service.routes:
                key = (route.version, route.action)
                if key in self.api:
                    raise ValueError(f"route {key} declared by {self.api[key][0].name} and {service.name}")
                self.api[key] = (service, route)
            self.data.extend(service.data_routes)

    def find_api(self, request: Request, raw_path: str) -> tuple[Service, Route, dict[str, str]]:
        """The route of a signed call and its path params; 404 ``InvalidAction.NotFound`` otherwise."""
        found = self.api.get((request.version or "", request.action or ""))
        if found is not None:
            service, route = found
            params = _decoded(route.match_path(raw_path))
            if params is not None and (route.style == "RPC" or route.method == request.method):
                return service, route, params
        raise CloudError("InvalidAction.NotFound", f"Specified api is not found, please check your url and "
                         f"method. Action: {request.action}, Version: {request.version}.", 404, "RPC")

    def find_data(self, method: str, raw_path: str) -> tuple[DataRoute, dict[str, str]] | None:
        """The data route for ``method`` and path, with its path params."""
        for route in self.data:
            params = _decoded(route.match_path(raw_path)) if route.method == method else None
            if params is not None:
                return route, params
        return None


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # many SDK clients connect at once
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: EmulatorServer) -> None:
        self.emulator = emulator
        super().__init__(address, _Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that went away (killed mid-call, a dropped connection) is not the server's error."""
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: SDK clients reuse connections
    disable_nagle_algorithm = True  # a response goes out at once, not after the client's delayed ACK
    server: _HttpServer
    raw_requestline: bytes  # set by the stdlib's handle_one_request
    fields: dict[str, str]  # the request headers, lower-case names

    def parse_request(self) -> bool:
        """The request line and headers (``name: value`` lines, HTTP/1.0 or 1.1: all the SDKs send).

        Replaces the stdlib's, whose ``email`` header parser was half of the server's CPU per call.
        """
        self.close_connection = True
        self.command, self.request_version = "", "HTTP/1.0"  # what an error answer before the parse needs
        self.requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        words = self.requestline.split()
        if len(words) != 3 or words[2] not in ("HTTP/1.0", "HTTP/1.1"):
            self.send_error(HTTPStatus.BAD_REQUEST, f"Bad request line {self.requestline!r}")
            return False
        self.command, self.path, self.request_version = words
        fields: dict[str, str] = {}
        for _ in range(_MAX_HEADERS + 1):
            line = self.rfile.readline(_MAX_LINE + 1)
            if len(line) > _MAX_LINE:
                self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Line too long")
                return False
            if line in (b"\r\n", b"\n", b""):
                break
            name, colon, value = line.decode("iso-8859-1").partition(":")
            if not colon:
                self.send_error(HTTPStatus.BAD_REQUEST, f"Bad header line {line[:80]!r}")
                return False
            fields[name.strip().lower()] = value.strip()
        else:
            self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many headers")
            return False
        self.fields = fields
        connection = fields.get("connection", "").lower()
        self.close_connection = connection == "close" or (self.request_version == "HTTP/1.0"
                                                          and connection != "keep-alive")
        if fields.get("expect", "").lower() == "100-continue" and self.request_version == "HTTP/1.1":
            return self.handle_expect_100()
        return True

    def _read_body(self) -> bytes:
        if "chunked" in self.fields.get("transfer-encoding", "").lower():
            chunks = []
            while (size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)) > 0:
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
            return b"".join(chunks)
        return self.rfile.read(int(self.fields.get("content-length") or 0))

    def _serve(self) -> None:
        body = self._read_body()
        try:
            response = self.server.emulator.handle(self.command, self.path, self.fields, body,
                                                   str(self.client_address[0]))
        except Exception:
            log.exception("request %s %s failed", self.command, urlsplit(self.path).path)
            response = api_error(CloudError("InternalError", "The request processing has failed due to "
                                            "some unknown error.", 500), self.fields.get("host", ""))
        self._send(response)

    def _send(self, response: HttpResponse) -> None:
        """Status line, headers and body in one write (two writes would be two TCP segments); a stream
        goes out event by event instead (chunked, each chunk flushed), as the cloud writes it."""
        if response.drop:  # the write is done; its answer never arrives
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        reason = self.responses.get(response.status, ("",))[0]
        streamed = response.chunks is not None and self.command != "HEAD"
        length = "Transfer-Encoding: chunked" if streamed else f"Content-Length: {len(response.body)}"
        lines = [f"{self.protocol_version} {response.status} {reason}", f"Server: {self.version_string()}",
                 f"Date: {self.date_time_string()}",
                 *(f"{name}: {value}" for name, value in response.headers.items()), length, "", ""]
        head = "\r\n".join(lines).encode("latin-1")
        if not streamed:
            self.wfile.write(head if self.command == "HEAD" else head + response.body)
            return
        self.wfile.write(head)
        for chunk in response.chunks or ():
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass  # the request log (GET /_emulator/stats) replaces stderr access lines


class EmulatorServer:
    """Serves ``world`` over HTTP. ``reset()`` returns to the world as given; ``state_file`` persists it."""

    def __init__(self, world: World, services: Sequence[Service] = SERVICES, *, host: str = "127.0.0.1",
                 port: int = 0, state_file: Path | None = None, save_debounce_s: float = 0.2) -> None:
        self.services = tuple(services)
        self.routes = Routes(self.services)
        self.state_file = state_file
        self._initial = world.dump()
        self.world = world
        if state_file is not None and state_file.exists():
            self.world = World.load(json.loads(state_file.read_text(encoding="utf-8")))
        self.faults = Faults(world.ids.seed)
        self.log = RequestLog()
        self.nonces = NonceLedger()
        self.control = ControlApi(self)
        self.huawei = HuaweiGateway(self, HUAWEI_ROUTES)
        self._httpd = _HttpServer((host, port), self)
        self.host, self.port = str(self._httpd.server_address[0]), int(self._httpd.server_address[1])
        self._own_hosts = {"localhost", socket.gethostname().lower(), host.lower()}
        self._save_debounce_s = save_debounce_s
        self._dirty = threading.Event()
        self._save_lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        """``http://HOST:PORT``."""
        return f"http://{self.host}:{self.port}"

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        """Serve in background threads; returns at once."""
        # a short poll interval makes stop() (hence every test fixture teardown) quick
        self._threads = [threading.Thread(target=self._httpd.serve_forever, args=(0.02,),
                                          name="emulator-http", daemon=True)]
        if self.state_file is not None:
            self._threads.append(threading.Thread(target=self._save_loop, name="emulator-save", daemon=True))
        for thread in self._threads:
            thread.start()

    def serve_forever(self) -> None:
        """Serve in the calling thread until ``stop()`` is called from another thread."""
        self.start()
        self._stopping.wait()

    def stop(self) -> None:
        """Stop serving, then save the state file one last time."""
        self._stopping.set()
        self._dirty.set()  # wakes the save loop so it sees the stop
        self._httpd.shutdown()
        self._httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self.save()

    def save(self) -> None:
        """Write the state file now (no-op without one)."""
        if self.state_file is None:
            return
        with self._save_lock:
            world = self.world
            with world.lock:  # a consistent snapshot; requests wait for the dump only, not for the disk
                snapshot = world.dump()
                self._dirty.clear()
            write_json_atomic(self.state_file, snapshot)

    def mark_dirty(self) -> None:
        """Note a mutation: the state file is rewritten after the debounce delay."""
        if self.state_file is not None:
            self._dirty.set()

    def _save_loop(self) -> None:
        while self._dirty.wait() and not self._stopping.is_set():
            if not self._stopping.wait(self._save_debounce_s):  # debounce: one save per burst
                try:
                    self.save()
                except OSError:
                    log.exception("could not save %s; will retry on the next change", self.state_file)
                    self._dirty.clear()

    def reset(self) -> None:
        """Back to the world the server was started with (the seed); clears faults and stats."""
        self.world = World.load(self._initial)
        self.faults.clear()
        self.log.clear()
        self.nonces.clear()
        self.mark_dirty()

    # -- dispatch -----------------------------------------------------------------------------------
    def handle(self, method: str, raw_target: str, headers: Mapping[str, str], body: bytes,
               client_ip: str = "") -> HttpResponse:
        """Answer one HTTP request."""
        started = time.monotonic()
        world = self.world
        request = parse_request(method, raw_target, headers, body, world.default_region, client_ip)
        if request.path.startswith("/_emulator/"):
            return self.control.handle(request)
        raw_path = urlsplit(raw_target).path or "/"
        if self.huawei.claims(request, raw_path):  # Huawei Cloud: told apart by path and signature
            label, response, caller = self.huawei.handle(request, raw_path)
            self.log.record(LogEntry(world.clock.iso(), label, response.status, response.code, caller,
                                     round((time.monotonic() - started) * 1000, 3)))
            return response
        if gateway.is_signed_call(request):
            label = request.action or "(no Action)"
            response = self._api(world, request, raw_path)
        else:
            found = self.routes.find_data(request.method, raw_path)
            label = f"{request.method} {found[0].path if found else raw_path}"
            response = self._data(world, request, label, found)
        caller = request.caller.access_key_id if request.caller else ""
        self.log.record(LogEntry(world.clock.iso(), label, response.status, response.code, caller,
                                 round((time.monotonic() - started) * 1000, 3)))
        return response

    def _inject(self, label: str, data_plane: bool) -> None:
        decision = self.faults.decide(label, data_plane)
        if decision.delay_s:
            time.sleep(decision.delay_s)
        if decision.error is not None:
            raise decision.error

    def _api(self, world: World, request: Request, raw_path: str) -> HttpResponse:
        try:
            key = gateway.authenticate(request, world, self.nonces)
            self._inject(request.action or "", data_plane=False)  # after: a failed call used its nonce up
            request.caller = Caller(key.account_id, key.access_key_id, key.user_name)
            service, route, request.path_params = self.routes.find_api(request, raw_path)
            with world.lock:
                key.last_used, key.last_used_service = world.clock.iso(), service.name
                auth.authorize(world, request.caller, route.ram_action)
                body = route.handler(Ctx(world, key.account_id), request)
            if not route.read_only:  # a read's only trace, the key's last use, is saved with the next change
                self.mark_dirty()
                lost = self.faults.after_commit(request.action or "")
                if lost == DROP:
                    return HttpResponse(503, b"", code="after_commit:drop", drop=True)
                if isinstance(lost, CloudError):
                    return api_error(lost, request.host)
            return api_success(body, route.style)
        except auth.AccessDenied as denied:
            return api_error(denied, request.host, {"AccessDeniedDetail": denied.detail})
        except CloudError as error:
            return api_error(error, request.host)
        except Exception:
            log.exception("handler of %s failed", request.action)
            return api_error(CloudError("InternalError", "The request processing has failed due to some "
                                        "unknown error.", 500), request.host)

    def _data(self, world: World, request: Request, label: str,
              found: tuple[DataRoute, dict[str, str]] | None) -> HttpResponse:
        openai_style = request.path.startswith("/compatible-mode/")
        try:
            self._inject(label, data_plane=True)
        except CloudError as error:
            status = 429 if error.code.startswith("Throttling") else error.status
            return data_error(status, error.code, error.message, openai_style)
        host = host_name(request.host).lower()
        if not self._is_direct_host(host):
            with world.lock:
                endpoint = endpoint_by_domain(world, host)
            if endpoint is None:
                return data_error(404, "EndpointNotFound", f"No PrivateLink endpoint has the domain {host}.")
            _, endpoint_status, connection_status = endpoint
            if endpoint_status != "Active" or connection_status != "Connected":
                return data_error(503, "EndpointNotReady", f"The endpoint {host} is {endpoint_status}/"
                                  f"{connection_status}, not Active/Connected.")
        if found is None:
            return data_error(404, "NotFound", f"No route for {request.method} {request.path}.", openai_style)
        route, request.path_params = found
        try:
            with world.lock:
                response = route.handler(world, request)
        except Exception:
            log.exception("data handler %s failed", label)
            return data_error(500, "InternalError", "The request processing has failed.", openai_style)
        if response.changed:  # an agent-app session; model calls change nothing
            self.mark_dirty()
        return data_success(response)

    def _is_direct_host(self, host: str) -> bool:
        return (host in self._own_hosts or is_ip_literal(host) or host in PUBLIC_DATA_HOSTS
                or host.endswith(PUBLIC_DATA_SUFFIX))

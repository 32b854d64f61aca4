"""Run the emulator in-process for tests: ``running_emulator()`` and the pytest fixtures built on it.

    from provision.emulator.testing import running_emulator

    with running_emulator() as emu:
        client = RamClient(emu.sdk_config())            # root key of the default account
        emu.set_faults(action="CreateUser", throttle_rate=1.0, retry_after_ms=500)

As a pytest plugin (``pytest_plugins = ["provision.emulator.testing"]``): ``emulator`` is a fresh
server per test; ``emulator_session`` is shared by the session (call ``emulator_session.reset()``).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.parse import quote

from alibabacloud_tea_openapi.models import Config

from provision.emulator.catalog import SERVICES
from provision.emulator.seed import Seed, build_world, default_seed, load_seed
from provision.emulator.server import EmulatorServer
from provision.emulator.wire import Service
from provision.emulator.world import World

# The control helpers talk to 127.0.0.1 directly, whatever HTTP(S)_PROXY says.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class EmulatorHandle:
    """A running emulator: where it listens, its world, the default account's root key, control helpers."""

    server: EmulatorServer
    account_id: str
    root_key_id: str
    root_secret: str = field(repr=False)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return self.server.url

    @property
    def host_port(self) -> str:
        """``127.0.0.1:PORT`` (what ``Config.endpoint`` takes)."""
        return f"{self.server.host}:{self.server.port}"

    @property
    def world(self) -> World:
        """The live world (a new object after ``reset()``)."""
        return self.server.world

    def sdk_config(self, access_key_id: str | None = None, secret: str | None = None,
                   region: str = "cn-beijing") -> Config:
        """An SDK ``Config`` pointed at the emulator over HTTP; defaults to the root key."""
        return Config(access_key_id=access_key_id or self.root_key_id,
                      access_key_secret=secret or self.root_secret,
                      endpoint=self.host_port, protocol="http", region_id=region)

    # -- control API ---------------------------------------------------------------------------------
    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """Call ``/_emulator/<path>``; raises RuntimeError with the answer on a non-2xx status."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}/_emulator/{path}", data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with _OPENER.open(request, timeout=10) as response:
                result: dict[str, Any] = json.loads(response.read())
                return result
        except HTTPError as error:
            answer = error.read().decode()
            raise RuntimeError(f"{method} /_emulator/{path} → {error.code}: {answer}") from None

    def reset(self) -> None:
        """Back to the seed; faults and stats cleared."""
        self.control("POST", "reset")

    def stats(self) -> dict[str, Any]:
        """``{"total", "actions", "recent", "faults_injected"}``."""
        return self.control("GET", "stats")

    def clear_stats(self) -> None:
        """Forget the request log."""
        self.control("DELETE", "stats")

    def set_faults(self, action: str | None = None, **rule: Any) -> None:
        """Install a fault rule (``latency_ms``, ``jitter_ms``, ``throttle_rate``, ``retry_after_ms``,
        ``error_rate``, ``error_code``, ``error_limit``, ``qps``, ``data_plane``, ``after_commit_rate``,
        ``after_commit``, ``after_commit_limit``) for ``action`` or every action."""
        self.control("POST", "faults", {"action": action, **rule})

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self.control("POST", "faults", {"clear": True})

    def advance_clock(self, seconds: float) -> None:
        """Move the world clock forward."""
        self.control("POST", "clock", {"advance_s": seconds})

    def add_member(self, workspace_id: str, user: str, role: str = "guest") -> None:
        """Add a RAM user to a workspace, as an admin would in the console."""
        self.control("POST", f"workspaces/{quote(workspace_id, safe='')}/members",
                     {"user": user, "role": role})

    def remove_member(self, workspace_id: str, user: str) -> None:
        """Remove a RAM user from a workspace."""
        self.control("DELETE", f"workspaces/{quote(workspace_id, safe='')}/members/{quote(user, safe='')}")


@contextmanager
def running_emulator(seed: Seed | Path | None = None, state_file: Path | None = None,
                     async_delay_s: float | None = 0.05, services: Sequence[Service] = SERVICES,
                     host: str = "127.0.0.1", port: int = 0) -> Iterator[EmulatorHandle]:
    """Start an emulator on a free port for the duration of the block.

    ``seed`` defaults to the built-in seed with its documented keys (never the environment's);
    ``async_delay_s`` overrides the seed's (None keeps it).
    """
    seed_model = load_seed(seed) if isinstance(seed, Path) else seed or default_seed(use_env=False)
    world = build_world(seed_model, services)
    if async_delay_s is not None:
        world.settings["async_delay_s"] = async_delay_s
    server = EmulatorServer(world, services, host=host, port=port, state_file=state_file)
    server.start()
    first = seed_model.accounts[0]
    try:
        yield EmulatorHandle(server, first.account_id, first.root_access_key_id, first.root_access_key_secret)
    finally:
        server.stop()


try:
    import pytest
except ImportError:  # pragma: no cover - the fixtures exist only where pytest does
    pass
else:
    @pytest.fixture
    def emulator() -> Iterator[EmulatorHandle]:
        """A fresh emulator (default seed, async delay 0.05 s) for one test."""
        with running_emulator() as handle:
            yield handle

    @pytest.fixture(scope="session")
    def emulator_session() -> Iterator[EmulatorHandle]:
        """One emulator for the whole session; tests must call ``reset()`` before use."""
        with running_emulator() as handle:
            yield handle

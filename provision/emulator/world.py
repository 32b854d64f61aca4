"""The emulator's whole state: accounts, their per-service state, the key index, ids and the clock.

Each service keeps its state in a pydantic model registered with :func:`register_state`; the
world stores one instance per account (``world.state(account_id, RamState)``), so the whole world
serialises to JSON for persistence. Handlers run under ``world.lock``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, Field


class StateModel(BaseModel):
    """Base of a service's per-account state. Subclasses set ``service``."""

    service: ClassVar[str] = ""


S = TypeVar("S", bound=StateModel)
STATE_TYPES: dict[str, type[StateModel]] = {}


def register_state(cls: type[S]) -> type[S]:
    """Class decorator: make a service state known to persistence."""
    STATE_TYPES[cls.service] = cls
    return cls


class KeyRecord(BaseModel):
    """An AccessKey the signer accepts. ``user_name`` None = the account's root key."""

    access_key_id: str
    secret: str
    account_id: str
    user_name: str | None = None
    active: bool = True
    last_used: str | None = None  # ISO time of the last authenticated call (GetAccessKeyLastUsed)
    last_used_service: str | None = None


class Account(BaseModel):
    account_id: str
    alias: str = ""
    states: dict[str, dict[str, Any]] = Field(default_factory=dict)  # only used when (de)serialising


class Clock:
    """UTC clock: real time by default; with ``start`` it begins there (deterministic ids/dates).

    ``advance`` moves it forward (tests of expiry and async states use it).
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start
        self._t0 = time.monotonic()
        self._offset = 0.0

    def now(self) -> datetime:
        base = self._start + timedelta(seconds=time.monotonic() - self._t0) if self._start \
            else datetime.now(UTC)
        return base + timedelta(seconds=self._offset)

    def advance(self, seconds: float) -> None:
        self._offset += seconds

    def iso(self) -> str:
        return self.now().strftime("%Y-%m-%dT%H:%M:%SZ")

    def millis(self) -> int:
        return int(self.now().timestamp() * 1000)

    def timestamp(self) -> float:
        return self.now().timestamp()


class Ids:
    """Deterministic ids and secrets under a seed: ``next("ws")`` → ``ws-3f9a...``."""

    def __init__(self, seed: str = "provision-emulator") -> None:
        self.seed = seed
        self.counters: dict[str, int] = {}

    def _digest(self, prefix: str) -> str:
        n = self.counters.get(prefix, 0) + 1
        self.counters[prefix] = n
        return hashlib.sha256(f"{self.seed}/{prefix}/{n}".encode()).hexdigest()

    def next(self, prefix: str, length: int = 16) -> str:
        return f"{prefix}-{self._digest(prefix)[:length]}"

    def number(self, prefix: str) -> int:
        """A positive integer id (Model Studio apiKeyId is an int)."""
        self._digest(prefix)
        return 100000 + self.counters[prefix]

    def secret(self, prefix: str = "", length: int = 30) -> str:
        return prefix + self._digest("secret/" + prefix)[:length]


class World:
    """All emulated accounts. ``default_account`` is the one the root key in the seed belongs to."""

    def __init__(self, seed: str = "provision-emulator", clock_start: datetime | None = None,
                 default_region: str = "cn-beijing") -> None:
        self.lock = threading.RLock()
        self.accounts: dict[str, Account] = {}
        self.keys: dict[str, KeyRecord] = {}
        self.ids = Ids(seed)
        self.clock = Clock(clock_start)
        self.default_region = default_region
        self.default_account = ""
        self.settings: dict[str, float] = {"async_delay_s": 0.3}
        self._states: dict[tuple[str, str], StateModel] = {}

    # -- accounts and keys --------------------------------------------------------------------------
    def add_account(self, account_id: str, root_key_id: str, root_secret: str, alias: str = "") -> None:
        self.accounts[account_id] = Account(account_id=account_id, alias=alias)
        self.keys[root_key_id] = KeyRecord(access_key_id=root_key_id, secret=root_secret,
                                           account_id=account_id)
        if not self.default_account:
            self.default_account = account_id

    def lookup_key(self, access_key_id: str) -> KeyRecord | None:
        return self.keys.get(access_key_id)

    def state(self, account_id: str, cls: type[S]) -> S:
        """The account's state of one service, created empty on first use."""
        key = (account_id, cls.service)
        existing = self._states.get(key)
        if existing is None:
            existing = cls()
            self._states[key] = existing
        assert isinstance(existing, cls)
        return existing

    # -- persistence --------------------------------------------------------------------------------
    def dump(self) -> dict[str, Any]:
        accounts = {}
        for account_id, account in self.accounts.items():
            states = {svc: st.model_dump(mode="json") for (acc, svc), st in self._states.items()
                      if acc == account_id}
            accounts[account_id] = {"alias": account.alias, "states": states}
        return {
            "format": 1,
            "seed": self.ids.seed,
            "id_counters": dict(self.ids.counters),
            "clock_offset": self.clock._offset,
            # a fixed-start clock resumes where it stopped, not at its seed start
            "clock_start": (self.clock.now() - timedelta(seconds=self.clock._offset)).isoformat()
            if self.clock._start else None,
            "default_region": self.default_region,
            "default_account": self.default_account,
            "settings": dict(self.settings),
            "keys": [k.model_dump(mode="json") for k in self.keys.values()],
            "accounts": accounts,
        }

    @classmethod
    def load(cls, data: dict[str, Any]) -> World:
        start = data.get("clock_start")
        world = cls(seed=data["seed"], default_region=data["default_region"],
                    clock_start=datetime.fromisoformat(start) if start else None)
        world.ids.counters = dict(data["id_counters"])
        world.clock._offset = data.get("clock_offset", 0.0)
        world.default_account = data["default_account"]
        world.settings.update(data.get("settings", {}))
        for k in data["keys"]:
            rec = KeyRecord.model_validate(k)
            world.keys[rec.access_key_id] = rec
        for account_id, acc in data["accounts"].items():
            world.accounts[account_id] = Account(account_id=account_id, alias=acc.get("alias", ""))
            for svc, raw in acc["states"].items():
                state_cls = STATE_TYPES.get(svc)
                if state_cls is not None:
                    world._states[(account_id, svc)] = state_cls.model_validate(raw)
        return world

    def save(self, path: Path) -> None:
        """Write the whole world to ``path`` atomically."""
        write_json_atomic(path, self.dump())


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Atomic write: a temp file in the same folder, fsync, rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

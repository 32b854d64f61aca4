"""How many calls each cloud service gets at once, and how a throttled service is backed off as a whole.

The cloud's rate limits are per service (RAM, Model Studio, PrivateLink, ...), so the limits are too:
``PROVISION_WORKERS`` sets the calls in flight per service, as one number for every service (``8``) or
per service (``ram=8,modelstudio=4``; the others keep the default). Services are read concurrently, each
within its own limit. The default, 16, is the count with the shortest no-op plan in the sweep of
bench/workers_sweep.py (2 to 24 calls in flight at 20 ms per call; bench/README.md): fewer leave the
latency unused, more only add contention for the interpreter lock.

When a service answers "throttled", every thread calling that service waits (the cloud's Retry-After
when it sends one, else a backoff that grows with consecutive throttles), and the service's limit halves;
it grows back by one after ``limit × 32`` calls in a row succeed (additive increase, multiplicative
decrease). So a rate cap costs a few throttled calls, not a storm of retries.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from provision.errors import ProvisionError

WORKERS_ENV = "PROVISION_WORKERS"
# Calls in flight per service: chosen by bench/workers_sweep.py (bench/README.md, Concurrency)
DEFAULT_WORKERS = 16
MAX_WORKERS = 64
_GROWTH_RUN = 32  # successes in a row, per slot of the limit, before the limit grows by one
_FIRST_BACKOFF_S = 0.1
_MAX_BACKOFF_S = 5.0


@dataclass(frozen=True)
class Workers:
    """Calls in flight per service: a default and per-service overrides."""

    default: int = DEFAULT_WORKERS
    per_service: Mapping[str, int] = field(default_factory=dict)

    def of(self, service: str) -> int:
        return self.per_service.get(service, self.default)

    @classmethod
    def parse(cls, text: str, known: tuple[str, ...]) -> Workers:
        """``8`` or ``ram=8,modelstudio=4`` (a bare number among them sets the default)."""
        default, per_service = DEFAULT_WORKERS, {}
        example = f"e.g. {WORKERS_ENV}=8 or {WORKERS_ENV}=ram=8,modelstudio=4"
        for item in (part.strip() for part in text.split(",") if part.strip()):
            name, sep, value = item.rpartition("=") if "=" in item else ("", "", item)
            if sep and name.strip() not in known:
                raise ProvisionError(f"{WORKERS_ENV}={text!r}: unknown service {name.strip()!r}; "
                                     f"use one of {', '.join(known)}, {example}")
            if not value.strip().isdigit() or not 1 <= int(value) <= MAX_WORKERS:
                raise ProvisionError(f"{WORKERS_ENV}={text!r}: {value.strip() or 'nothing'} is not a count "
                                     f"of calls from 1 to {MAX_WORKERS}; {example}")
            if sep:
                per_service[name.strip()] = int(value)
            else:
                default = int(value)
        return cls(default, per_service)

    @classmethod
    def from_env(cls, known: tuple[str, ...]) -> Workers:
        return cls.parse(os.environ.get(WORKERS_ENV, ""), known)


class Governor:
    """One service's gate: at most ``limit`` calls in flight, and a shared pause after a throttle."""

    def __init__(self, limit: int) -> None:
        self.ceiling = limit
        self.limit = limit
        self._busy = 0
        self._streak = 0  # successes in a row
        self._throttles_in_a_row = 0
        self._resume_at = 0.0
        self._cond = threading.Condition()
        self._holder = threading.local()  # a call made while holding a slot (a create's look-up) reuses it
        self.throttled = 0  # throttled answers seen (for reports and benchmarks)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the service's slots for a call (waiting out a pause first)."""
        if getattr(self._holder, "held", False):
            yield
            return
        with self._cond:
            while True:
                wait = self._resume_at - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                elif self._busy >= self.limit:
                    self._cond.wait()
                else:
                    break
            self._busy += 1
        self._holder.held = True
        try:
            yield
        finally:
            self._holder.held = False
            with self._cond:
                self._busy -= 1
                self._cond.notify_all()

    def succeeded(self) -> None:
        with self._cond:
            self._throttles_in_a_row = 0
            self._streak += 1
            if self.limit < self.ceiling and self._streak >= self.limit * _GROWTH_RUN:
                self.limit += 1
                self._streak = 0
                self._cond.notify_all()

    def throttle(self, retry_after_s: float | None) -> None:
        """A throttled answer: pause the service (Retry-After, else a growing backoff), halve the limit."""
        with self._cond:
            self.throttled += 1
            self._throttles_in_a_row += 1
            self._streak = 0
            backoff = min(_MAX_BACKOFF_S, _FIRST_BACKOFF_S * 2 ** (self._throttles_in_a_row - 1))
            pause = retry_after_s if retry_after_s is not None else backoff
            self._resume_at = max(self._resume_at, time.monotonic() + pause)
            self.limit = max(1, self.limit // 2)


class Governors:
    """Every service's governor, shared by all the client sets of one run (``Clients.for_access_key``)."""

    def __init__(self, workers: Workers) -> None:
        self.workers = workers
        self._by_service: dict[str, Governor] = {}
        self._lock = threading.Lock()

    def of(self, service: str) -> Governor:
        with self._lock:
            governor = self._by_service.get(service)
            if governor is None:
                governor = self._by_service[service] = Governor(self.workers.of(service))
            return governor

    def throttled(self) -> dict[str, int]:
        """Throttled answers by service."""
        with self._lock:
            return {name: g.throttled for name, g in self._by_service.items() if g.throttled}

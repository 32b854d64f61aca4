"""Fault injection: latency, throttling, 5xx errors, a QPS cap, and "commit then fail" (a write done, its
answer replaced by a 503 or a dropped connection), per action or for every action.

Random draws come from one RNG seeded with the world seed, so a run with the same seed, rules and
request order injects the same faults.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from provision.emulator.wire import CloudError

ALL = "*"  # the key of the rule that applies to every action without its own rule


class FaultRule(BaseModel):
    """What to inject into the calls one rule covers (the control API's ``POST /_emulator/faults`` body)."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: int = Field(default=0, ge=0)
    jitter_ms: int = Field(default=0, ge=0)  # uniform extra delay in [0, jitter_ms]
    throttle_rate: float = Field(default=0.0, ge=0, le=1)
    retry_after_ms: int | None = Field(default=None, gt=0)  # set → x-acs-retry-after on throttles
    error_rate: float = Field(default=0.0, ge=0, le=1)
    error_code: Literal["InternalError", "ServiceUnavailable"] = "InternalError"
    error_limit: int | None = Field(default=None, ge=1)  # at most this many errors (before any write)
    qps: float | None = Field(default=None, gt=0)  # calls per second before Throttling.User
    data_plane: bool = False  # also apply to Bearer data-plane calls (the key is "METHOD /path")
    # commit then fail: a write (not a read) is performed, then its answer is lost
    after_commit_rate: float = Field(default=0.0, ge=0, le=1)
    after_commit: Literal["ServiceUnavailable", "drop"] = "ServiceUnavailable"  # 503, or close the socket
    after_commit_limit: int | None = Field(default=None, ge=1)  # at most this many answers lost by the rule


@dataclass(frozen=True)
class FaultDecision:
    """What to do with one call: wait ``delay_s``, then fail with ``error`` if set."""

    delay_s: float = 0.0
    error: CloudError | None = None


DROP = "drop"  # an after-commit fault: the connection is closed without an answer
_ERROR_STATUS = {"InternalError": 500, "ServiceUnavailable": 503}
_ERROR_MESSAGE = {"InternalError": "The request processing has failed due to some unknown error.",
                  "ServiceUnavailable": "The request has failed due to a temporary failure of the server."}


def _throttle(rule: FaultRule, why: str) -> CloudError:
    return CloudError("Throttling.User", f"Request was denied due to user flow control ({why}).", 400,
                      "RPC", retry_after_ms=rule.retry_after_ms)


class Faults:
    """The active rules and the counters of what was injected; thread-safe."""

    def __init__(self, seed: str) -> None:
        self._seed = seed
        self._lock = threading.Lock()
        self._rules: dict[str, FaultRule] = {}
        self._windows: dict[str, deque[float]] = {}
        self._rng = random.Random(f"{seed}/faults")
        self._lost: Counter[str] = Counter()  # answers lost after commit, per rule key
        self._errors: Counter[str] = Counter()  # errors answered before the call ran, per rule key
        self.injected: Counter[str] = Counter()

    def set(self, rule: FaultRule, action: str | None = None) -> None:
        """Install ``rule`` for ``action`` (or for every action), replacing the previous one."""
        key = action or ALL
        with self._lock:
            self._rules[key] = rule
            self._windows.pop(key, None)

    def clear(self) -> None:
        """Remove every rule, reset the RNG and the counters."""
        with self._lock:
            self._rules.clear()
            self._windows.clear()
            self._rng = random.Random(f"{self._seed}/faults")
            self._lost.clear()
            self._errors.clear()
            self.injected.clear()

    def rules(self) -> dict[str, FaultRule]:
        """The installed rules by action (``*`` for all)."""
        with self._lock:
            return dict(self._rules)

    def decide(self, action: str, data_plane: bool = False) -> FaultDecision:
        """Draw the fault for one call of ``action``; a per-action rule replaces the global one."""
        with self._lock:
            key = action if action in self._rules else ALL
            rule = self._rules.get(key)
            if rule is None or (data_plane and not rule.data_plane):
                return FaultDecision()
            delay_ms = rule.latency_ms + (self._rng.uniform(0, rule.jitter_ms) if rule.jitter_ms else 0.0)
            error = self._draw_error(key, rule)
            if delay_ms:
                self.injected["latency_ms"] += round(delay_ms)
            if error is not None:
                self.injected[error.code] += 1
            return FaultDecision(delay_ms / 1000, error)

    def after_commit(self, action: str, data_plane: bool = False) -> CloudError | str | None:
        """After a write of ``action`` succeeded: the error to answer instead (ServiceUnavailable), or
        :data:`DROP` to close the connection without an answer, or None to answer as usual."""
        with self._lock:
            key = action if action in self._rules else ALL
            rule = self._rules.get(key)
            if rule is None or not rule.after_commit_rate or (data_plane and not rule.data_plane):
                return None
            if rule.after_commit_limit is not None and self._lost[key] >= rule.after_commit_limit:
                return None
            if self._rng.random() >= rule.after_commit_rate:
                return None
            self._lost[key] += 1
            self.injected[f"after_commit:{rule.after_commit}"] += 1
            if rule.after_commit == DROP:
                return DROP
            return CloudError("ServiceUnavailable", _ERROR_MESSAGE["ServiceUnavailable"], 503, "RPC")

    def _draw_error(self, key: str, rule: FaultRule) -> CloudError | None:
        if rule.qps is not None:
            window = self._windows.setdefault(key, deque())
            now = time.monotonic()
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= rule.qps:
                return _throttle(rule, f"more than {rule.qps:g} calls per second")
        if rule.throttle_rate and self._rng.random() < rule.throttle_rate:
            return _throttle(rule, "injected")
        if rule.error_rate and (rule.error_limit is None or self._errors[key] < rule.error_limit) and \
                self._rng.random() < rule.error_rate:
            self._errors[key] += 1
            return CloudError(rule.error_code, _ERROR_MESSAGE[rule.error_code],
                              _ERROR_STATUS[rule.error_code], "RPC")
        if rule.qps is not None:
            self._windows[key].append(time.monotonic())
        return None

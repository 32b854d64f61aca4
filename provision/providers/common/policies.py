"""How long to keep trying: bounded retries with backoff (or the cloud's own retry-after), polling of
asynchronous cloud work, and the retry loop each cloud's call wrapper runs its SDK calls in.

Cloud-neutral: a cloud says which of its exceptions are transient and what retry-after they carry; the
mapping of exceptions to errors a user can act on stays in the cloud's own package.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

RetryAfter = Callable[[BaseException], "float | None"]  # an exception → the seconds the cloud asked to wait


def _no_retry_after(_exc: BaseException) -> float | None:
    return None


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries: exponential backoff with jitter, or the cloud's ``retry_after`` (capped)."""

    attempts: int = 6
    base_delay_s: float = 0.2
    max_delay_s: float = 4.0
    max_retry_after_s: float = 30.0

    def wait(self, state: RetryCallState, retry_after: RetryAfter = _no_retry_after) -> float:
        """Seconds to wait after a failed attempt: the cloud's retry-after if given, else backoff."""
        exc = state.outcome.exception() if state.outcome else None
        asked = retry_after(exc) if exc else None
        if asked:
            return min(asked, self.max_retry_after_s)
        backoff = wait_exponential(multiplier=self.base_delay_s, max=self.max_delay_s) + \
            wait_random(0, self.base_delay_s)
        return float(backoff(state))


DEFAULT_RETRY = RetryPolicy()


@dataclass(frozen=True)
class PollPolicy:
    """How long to wait for asynchronous cloud work (endpoints, zones, a new key becoming valid)."""

    interval_s: float = 2.0
    timeout_s: float = 600.0


def retried(resource: str, action: str, fn: Callable[[], T], policy: RetryPolicy, *,
            retryable: Callable[[BaseException], bool], retry_after: RetryAfter = _no_retry_after) -> T:
    """``fn()``, tried again while it raises what ``retryable`` accepts, at most ``policy.attempts`` times;
    the last exception is raised as it was (the caller maps it to its cloud's error)."""

    def wait(state: RetryCallState) -> float:
        seconds = policy.wait(state, retry_after)
        log.debug("%s %s: attempt %d failed, retrying in %.2fs", resource, action, state.attempt_number,
                  seconds)
        return seconds

    retrying = Retrying(stop=stop_after_attempt(policy.attempts), wait=wait,
                        retry=retry_if_exception(retryable), reraise=True)
    return retrying(fn)


def once_then_find(create: Callable[[], T], find: Callable[[], T | None]) -> Callable[[], T]:
    """A create without a ClientToken, made safe to retry: later attempts first look for what an
    earlier attempt may have created before its response was lost."""
    attempts = 0

    def attempt() -> T:
        nonlocal attempts
        attempts += 1
        found = find() if attempts > 1 else None
        return found if found is not None else create()

    return attempt

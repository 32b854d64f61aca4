"""The request log: call counts per action and a bounded list of recent requests (never secrets or bodies)."""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class LogEntry:
    """One handled request. ``action`` is the API action, or ``METHOD /path`` on the data plane."""

    time: str
    action: str
    status: int
    code: str
    access_key_id: str
    duration_ms: float


class RequestLog:
    """Thread-safe counters plus the last ``capacity`` requests."""

    def __init__(self, capacity: int = 500) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._recent: deque[LogEntry] = deque(maxlen=capacity)

    def record(self, entry: LogEntry) -> None:
        """Count one request and remember it."""
        with self._lock:
            self._counts[entry.action] += 1
            self._recent.append(entry)

    def clear(self) -> None:
        """Forget every count and entry."""
        with self._lock:
            self._counts.clear()
            self._recent.clear()

    def snapshot(self) -> dict[str, Any]:
        """``{"total": N, "actions": {...}, "recent": [...]}`` as the control API returns it."""
        with self._lock:
            return {"total": sum(self._counts.values()), "actions": dict(self._counts),
                    "recent": [asdict(e) for e in self._recent]}

"""What the Huawei readers share: dates as ISO-8601 UTC, SDK tags as pairs, reads run side by side."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

T = TypeVar("T")
PAGE = 200  # IAM v5 page size (1-200)
_WORKERS = 8


def iso(value: Any) -> str:
    """An SDK date (a ``datetime``, an ISO string or epoch milliseconds) as ISO-8601 UTC."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""
    return str(value)


def tags(
    items: Sequence[Any] | None, key: str = "tag_key", value: str = "tag_value"
) -> tuple[tuple[str, str], ...]:
    return tuple((str(getattr(t, key, "") or ""), str(getattr(t, value, "") or "")) for t in items or ())


def each(fn: Callable[[Any], T], items: Sequence[Any]) -> list[T]:
    if len(items) < 2:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(max_workers=min(_WORKERS, len(items))) as pool:
        return list(pool.map(fn, items))

"""Paged list calls: how one list call pages (:class:`Pager`), the paging styles of the clouds' APIs, and
the loop that fetches every page through the cloud's own call wrapper."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, TypeVar

I = TypeVar("I")  # noqa: E741  (an item type)


@dataclass(frozen=True)
class Pager(Generic[I]):
    """How one list call pages: fetch a page for a cursor (``None`` = first), its items, the next cursor."""

    fetch: Callable[[str | None], Any]  # cursor → SDK response
    items: Callable[[Any], Iterable[I] | None]  # response body → items
    next_cursor: Callable[[Any, str | None, int], str | None]  # (body, cursor, items on page) → next


def marker_pager(fetch: Callable[[str | None], Any], items: Callable[[Any], Iterable[I] | None]) -> Pager[I]:
    """RAM style: ``Marker`` in, ``IsTruncated`` + ``Marker`` out."""
    return Pager(fetch, items, lambda body, _cursor, _n: body.marker if body.is_truncated else None)


def token_pager(fetch: Callable[[str | None], Any], items: Callable[[Any], Iterable[I] | None]) -> Pager[I]:
    """PrivateLink / Model Studio style: ``NextToken`` in and out (empty when done)."""
    return Pager(fetch, items, lambda body, _cursor, n: (body.next_token or None) if n else None)


def page_number_pager(fetch: Callable[[str | None], Any], items: Callable[[Any], Iterable[I] | None],
                      page_size: int) -> Pager[I]:
    """VPC style: ``PageNumber`` (as the cursor, from 1) + ``PageSize``, until ``TotalCount`` is covered."""

    def next_page(body: Any, cursor: str | None, n: int) -> str | None:
        page = int(cursor or "1")
        return str(page + 1) if n and page * page_size < int(body.total_count or 0) else None

    return Pager(fetch, items, next_page)


def paginate(call: Callable[[Callable[[], Any]], Any], pager: Pager[I]) -> list[I]:
    """Every item of a paged list call; ``call`` runs one page's fetch through the cloud's call wrapper
    (retries, error mapping) and returns what ``pager.items`` and ``pager.next_cursor`` read."""
    found: list[I] = []
    cursor: str | None = None
    seen: set[str] = set()
    while True:
        page_cursor = cursor
        body = call(partial(pager.fetch, page_cursor))
        page = list(pager.items(body) or ())
        found.extend(page)
        cursor = pager.next_cursor(body, page_cursor, len(page))
        if not cursor or cursor in seen:  # a repeated cursor would loop forever
            return found
        seen.add(cursor)


def page_info_pager(fetch: Callable[[str | None], Any],
                    items: Callable[[Any], Iterable[I] | None]) -> Pager[I]:
    """IAM v5 / Organizations style: ``marker`` in, ``page_info.next_marker`` out (absent when done)."""

    def next_marker(response: Any, _cursor: str | None, _n: int) -> str | None:
        info = getattr(response, "page_info", None)
        marker = getattr(info, "next_marker", None) if info is not None else None
        return str(marker) if marker else None

    return Pager(fetch, items, next_marker)


def offset_pager(fetch: Callable[[int, int], Any], items: Callable[[Any], Iterable[I] | None],
                 total: Callable[[Any], int | None], limit: int) -> Pager[I]:
    """ModelArts / VPCEP / MaaS style: ``offset`` (as the cursor, from 0) + ``limit`` in, a total count out;
    done on a short page or when the total is covered."""

    def next_offset(response: Any, cursor: str | None, n: int) -> str | None:
        offset = int(cursor or "0") + n
        whole = total(response)
        return None if not n or n < limit or (whole is not None and offset >= whole) else str(offset)

    return Pager(lambda cursor: fetch(int(cursor or "0"), limit), items, next_offset)

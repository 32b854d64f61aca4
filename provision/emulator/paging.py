"""Paging, written once for every emulated list call; each API describes its own style as data.

* Token paging: an opaque token standing for an offset, spelled per API: RAM ``Marker`` (base64 of
  ``offset:N``), Model Studio ``nextToken`` (the decimal offset), PrivateLink ``NextToken`` (``nt-N``).
* Page-number paging: ``PageNumber``/``PageSize`` (VPC) and ``pageNo``/``pageSize`` (Bailian).

Each API keeps its own limits, defaults and error codes; the slicing and the next-page rule are here.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from provision.emulator.wire import CloudError, Style

T = TypeVar("T")
Fault = tuple[str, str]  # (error code, message) of an HTTP 400


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its items, the page size used, the whole list's length, where to go next."""

    items: list[T]
    size: int
    total: int
    next_token: str | None = None  # token paging: None on the last page
    number: int = 1  # page-number paging: the page returned


@dataclass(frozen=True)
class TokenFormat:
    """How an API spells an offset as a token; ``decode`` raises ValueError for a token it never issued."""

    encode: Callable[[int], str]
    decode: Callable[[str], int]


def _decimal(token: str) -> int:
    if not token.isdigit():
        raise ValueError(token)
    return int(token)


def _prefixed(token: str) -> int:
    if not token.startswith("nt-"):
        raise ValueError(token)
    return _decimal(token[3:])


MARKER = TokenFormat(  # RAM
    encode=lambda offset: base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode(),
    decode=lambda token: int(base64.urlsafe_b64decode(token.encode()).decode().removeprefix("offset:")))
DECIMAL = TokenFormat(encode=str, decode=_decimal)  # Model Studio
PREFIXED = TokenFormat(encode=lambda offset: f"nt-{offset}", decode=_prefixed)  # PrivateLink


def _error(fault: Fault, style: Style) -> CloudError:
    return CloudError(fault[0], fault[1], 400, style)


def _slice(items: Sequence[T], start: int, size: int) -> tuple[list[T], int | None]:
    """``items[start:start + size]`` and the offset of the next page (None when this one is the last)."""
    end = start + size
    return list(items[start:end]), (end if end < len(items) else None)


@dataclass(frozen=True)
class TokenPaging:
    """An API's token paging: size ``default`` and 1..``limit``, its token format and its two errors."""

    default: int
    limit: int
    tokens: TokenFormat
    bad_size: Fault
    bad_token: Fault
    style: Style = "RPC"

    def page(self, items: Sequence[T], size: int | None, token: str | None) -> Page[T]:
        """The page starting at ``token`` (the first page when it is empty)."""
        size = self.default if size is None else size
        if not 1 <= size <= self.limit:
            raise _error(self.bad_size, self.style)
        start = 0
        if token:
            try:
                start = self.tokens.decode(token)
            except ValueError:
                start = -1
            if start < 0:
                raise _error(self.bad_token, self.style)
        chunk, end = _slice(items, start, size)
        return Page(chunk, size, len(items), None if end is None else self.tokens.encode(end))


@dataclass(frozen=True)
class NumberPaging:
    """An API's page-number paging: numbers from 1, sizes 1..``limit``; 0 or absent means the default."""

    default: int
    limit: int
    bad_number: Fault
    bad_size: Fault
    style: Style = "RPC"

    def page(self, items: Sequence[T], number: int | None, size: int | None) -> Page[T]:
        """Page ``number`` of ``size`` items."""
        number, size = number or 1, size or self.default
        if number < 1:
            raise _error(self.bad_number, self.style)
        if not 1 <= size <= self.limit:
            raise _error(self.bad_size, self.style)
        chunk, _ = _slice(items, (number - 1) * size, size)
        return Page(chunk, size, len(items), number=number)

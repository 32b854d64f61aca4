"""The state file's records of console-only memberships (``state/statefile.py`` keeps them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Confirmation:
    """An operator's statement that a console-only membership is in place."""

    role: str
    confirmed_at: str  # ISO-8601 UTC
    confirmed_by: str


@dataclass(frozen=True)
class PendingRemoval:
    """A console removal of a workspace member that the tool asked for and nobody confirmed done yet."""

    since: str  # ISO-8601 UTC, when it was first asked for
    why: str  # "revoke: its expires_at … has passed", "expired: …", "not declared a member"

"""Diff desired specs against live resources into a Plan. Pure: no I/O, no SDK, no output library.

Every change, no-op included, carries a reason ("in sync", "drift: display_name", "manual:
membership"). The JSON form of a Plan is the source the text and markdown views are rendered from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from provision.resources import Live, Spec


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    NOOP = "no-op"
    MANUAL = "manual"  # a console step (membership): checklist item, never an API call
    REFUSED = "refused"  # a delete the guards refuse (protect, no --allow-destroy): shown, not run


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class Change:
    """One resource's planned change. ``drift`` marks a declared field changed outside the tool."""

    key: str
    action: Action
    reason: str
    desired: Spec | None = None
    live: Live | None = None
    fields: tuple[FieldChange, ...] = ()
    drift: bool = False
    cascade: tuple[str, ...] = ()  # the steps a delete performs, in order, spelled out

    @property
    def kind(self) -> str:
        return self.key.split("/", 1)[0]


@dataclass
class Plan:
    """The ordered changes (parents first for creates, children first for deletes) plus context."""

    changes: list[Change]
    warnings: list[str] = field(default_factory=list)  # policy lint, unmanaged look-alikes
    unmanaged: list[str] = field(default_factory=list)  # keys of look-alikes never touched
    manifest: str = ""
    live_fingerprint: str = ""  # hash of the live state planned against (stale-plan check)

    @property
    def actionable(self) -> list[Change]:
        return [c for c in self.changes if c.action in (Action.CREATE, Action.UPDATE, Action.DELETE)]

    @property
    def has_changes(self) -> bool:
        """Changes the tool can make. Pending manual steps are reported apart, not counted here."""
        return bool(self.actionable)

    @property
    def manual(self) -> list[Change]:
        return [c for c in self.changes if c.action is Action.MANUAL]

"""A plan's vocabulary: actions, changes with their reasons, the Plan and its summary. Pure.

``plan/diff.py`` makes a Plan from desired and live specs; ``plan/io.py`` writes and reads it as JSON;
the views and apply read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from provision.desired.kinds import Spec
from provision.desired.live import Live, Proof

SpecT = TypeVar("SpecT", bound=Spec)

DRIFT_ADDED = "drift: added outside provision"  # a child the tool never made, under a managed parent
DRIFT_DELETED = "drift: deleted outside provision"  # a resource the tool made that is gone
LOOK_ALIKE = "unmanaged look-alike: not touched (declare adopt: true to manage it)"
ADOPT = "adopt: take under management"
WITHHELD = "withheld"  # the reason's head for a declared resource of an expired user: not created
BLOCKED = ("blocked by an unmanaged look-alike (same name, no provision marker): declare adopt: true on it "
           "in the manifest to manage it, or rename one of them")


@dataclass(frozen=True)
class SecretFacts:
    """What the state file knows of keys whose secret the sink lacks (cloud ids): a secret the tool stored
    and nobody took away is lost; one handed off (``provision handoff``) is only elsewhere; a key an
    interrupted apply created never had its secret stored (an orphan: apply replaces it)."""

    stored: frozenset[str] = frozenset()
    handed_off: frozenset[str] = frozenset()
    orphaned: frozenset[str] = frozenset()


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    NOOP = "no-op"
    MANUAL = "manual"  # a console step (membership): checklist item, never an API call
    REFUSED = "refused"  # a delete the guards refuse (protect, no --allow-destroy): shown, not run


class Refusal(StrEnum):
    """Why the guards refuse a delete (the change's reason), and what lets it through."""

    NEEDS_ALLOW_DESTROY = "needs --allow-destroy"
    PROTECTED = "protect: true"

    @property
    def fix(self) -> str:
        if self is Refusal.PROTECTED:
            return "remove protect: true first, then re-run with --allow-destroy"
        return "re-run with --allow-destroy"


class InSync(str):
    """What a provider returns for a change that found the account already as wanted (a retried create,
    a delete of something gone): apply reports it as "already in sync", never as "created"/"deleted"."""

    __slots__ = ()


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
    cascade: tuple[str, ...] = ()  # the steps a delete performs, in order, as the provider described them
    rotate: bool = False  # the update also replaces keys whose secret the sink lacks (ROTATE_FLAG)
    expired: str = ""  # the expired user this change takes access from (or withholds it from), if any
    refusal: Refusal | None = None  # a REFUSED change: why, and what lets it through

    @property
    def kind(self) -> str:
        return self.key.split("/", 1)[0]

    @property
    def spec(self) -> Spec:
        """The desired spec, or the live one when nothing is desired (deletes, removals)."""
        if self.desired is not None:
            return self.desired
        assert self.live is not None, f"{self.key}: a change without desired nor live spec"
        return self.live.spec

    def spec_as(self, kind: type[SpecT]) -> SpecT:
        """:attr:`spec` as the class of the kind the caller handles; a change routed to the wrong handler
        fails here, loudly (an ``assert`` would vanish under ``python -O``)."""
        return _narrowed(self.key, self.spec, kind)

    def live_as(self, kind: type[SpecT]) -> SpecT | None:
        """The live spec as ``kind``, or None when nothing is live."""
        return None if self.live is None else _narrowed(self.key, self.live.spec, kind)


def _narrowed(key: str, spec: Spec, kind: type[SpecT]) -> SpecT:
    if not isinstance(spec, kind):
        raise TypeError(f"{key}: a {kind.__name__} was expected, not a {type(spec).__name__}")
    return spec


@dataclass(frozen=True)
class Summary:
    create: int
    update: int
    delete: int
    refused: int
    manual: int
    drift: int
    noop: int


@dataclass
class Plan:
    """The ordered changes (parents first for creates, children first for deletes) plus context."""

    changes: list[Change]
    warnings: list[str] = field(default_factory=list)  # policy lint, unmanaged look-alikes
    unmanaged: list[str] = field(default_factory=list)  # keys of look-alikes never touched
    # declared resources that are not delivered and that no change of this plan delivers: "key: why, and
    # what to do" (blocked by a look-alike, a lost secret, an orphan an interrupted apply left)
    undelivered: list[str] = field(default_factory=list)
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
    def delivered(self) -> bool:
        """The account holds what the manifest declares: nothing to change, refuse, or report undelivered
        (``plan --detailed-exitcode`` exits 0 only then; pending console steps are reported apart)."""
        return not self.has_changes and not self.summary().refused and not self.undelivered

    @property
    def manual(self) -> list[Change]:
        return [c for c in self.changes if c.action is Action.MANUAL]

    def summary(self) -> Summary:
        """Counts per action, plus the number of drifted changes."""
        count = {a: sum(1 for c in self.changes if c.action is a) for a in Action}
        return Summary(create=count[Action.CREATE], update=count[Action.UPDATE], delete=count[Action.DELETE],
                       refused=count[Action.REFUSED], manual=count[Action.MANUAL],
                       drift=sum(1 for c in self.changes if c.drift), noop=count[Action.NOOP])


def member_proof(live: Live) -> Proof:
    """How a live membership is known: probe, confirmation or pending removal (default: probe)."""
    return live.member.proven_by if live.member is not None else Proof.PROBE

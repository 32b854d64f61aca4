"""What a failed cloud call means, from one table of error codes per cloud.

Each cloud writes its table (``Rule`` rows, first match wins, ``fnmatch`` patterns over its error codes) and
the exact codes by which each action says "what you name is not there"; :class:`RuleTable` answers for both.
A code no row matches fails (:data:`DEFAULT_RULE`): an unknown code is never read as "already deleted".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from fnmatch import fnmatchcase


class Outcome(StrEnum):
    GONE = "gone"  # the thing is not there: fine for a delete
    EXISTS = "exists"  # the thing is already there: fine for a create, read and compare
    RETRY = "retry"  # transient: throttled, server side, network, resource busy
    FAIL = "fail"  # anything else: stop and tell the user


@dataclass(frozen=True)
class Rule:
    pattern: str  # fnmatch pattern over the cloud's error code, case-sensitive
    outcome: Outcome
    hint: str = ""


DEFAULT_RULE = Rule("*", Outcome.FAIL)  # a code no row matches fails


@dataclass(frozen=True)
class RuleTable:
    """One cloud's error codes: its rules (first match wins) and, per action, the exact codes that mean
    GONE (fine for a delete, "none" for a read); those codes from another action fall to the rules."""

    rules: Sequence[Rule]
    gone: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def rule_for(self, code: str) -> Rule:
        """The one table entry for a cloud error code (:data:`DEFAULT_RULE` when no row matches)."""
        return next((r for r in self.rules if fnmatchcase(code, r.pattern)), DEFAULT_RULE)

    def outcome_of(self, code: str, action: str = "") -> Outcome:
        """What ``code`` means for ``action``: GONE for the exact codes the action answers for a missing
        resource; otherwise the table's outcome."""
        if code in self.gone.get(action, frozenset()):
            return Outcome.GONE
        return self.rule_for(code).outcome

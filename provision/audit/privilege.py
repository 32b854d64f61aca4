"""Derive a user's Model Studio (Bailian) privilege from its RAM policies. Pure.

System policies are classified by name (the reference's table); custom policies by the actions of
their Allow statements. Deny statements and conditions are not evaluated: the level is what the
policies could grant at most, which is what a reviewer needs to see first.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from provision.audit.model import Level, PolicyRef, Privilege

ADMINISTRATOR = "AdministratorAccess"
BAILIAN_FULL = "AliyunBailianFullAccess"

# System policy → (super admin, control level, data level)
_SYSTEM: dict[str, tuple[bool, Level, Level]] = {
    ADMINISTRATOR: (True, Level.FULL, Level.FULL),
    BAILIAN_FULL: (True, Level.FULL, Level.FULL),
    "AliyunBailianControlFullAccess": (False, Level.FULL, Level.NONE),
    "AliyunBailianControlReadOnlyAccess": (False, Level.READ_ONLY, Level.NONE),
    "AliyunBailianDataFullAccess": (False, Level.NONE, Level.FULL),
    "AliyunBailianDataReadOnlyAccess": (False, Level.NONE, Level.READ_ONLY),
}
_CONTROL = ("modelstudio", "bailiancontrol")
_DATA = ("sfm", "bailiandata", "bailianchatbot")
_READ_VERBS = ("get", "list", "describe", "query")


@dataclass(frozen=True)
class HeldPolicy:
    """A policy a user holds and, for custom policies, its document (JSON text)."""

    ref: PolicyRef
    document: str = ""


def privilege_of(policies: Iterable[HeldPolicy]) -> Privilege:
    """The highest Model Studio privilege the policies grant, and the policies that grant any."""
    super_admin, control, data = False, Level.NONE, Level.NONE
    sources: list[str] = []
    for held in policies:
        if held.ref.policy_type == "System":
            grant = _SYSTEM.get(held.ref.name, (False, Level.NONE, Level.NONE))
        else:
            grant = _custom(held.document)
        if grant[0] or grant[1] is not Level.NONE or grant[2] is not Level.NONE:
            sources.append(held.ref.ref)
        super_admin = super_admin or grant[0]
        control, data = _max(control, grant[1]), _max(data, grant[2])
    return Privilege(super_admin=super_admin, control=control, data=data,
                     sources=tuple(dict.fromkeys(sources)))


def _max(a: Level, b: Level) -> Level:
    order = (Level.NONE, Level.READ_ONLY, Level.FULL)
    return a if order.index(a) >= order.index(b) else b


def _custom(document: str) -> tuple[bool, Level, Level]:
    """Classify the Allow actions of a custom policy document; unreadable documents grant nothing known."""
    try:
        statements = json.loads(document).get("Statement", []) if document else []
    except (ValueError, AttributeError):
        return False, Level.NONE, Level.NONE
    super_admin, control, data = False, Level.NONE, Level.NONE
    for statement in statements if isinstance(statements, list) else []:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action", [])
        for action in [actions] if isinstance(actions, str) else actions:
            service, _, verb = str(action).lower().partition(":")
            if service == "*":
                super_admin, control, data = True, Level.FULL, Level.FULL
                continue
            level = Level.READ_ONLY if verb.startswith(_READ_VERBS) else Level.FULL
            if service in _CONTROL:
                control = _max(control, level)
            elif service in _DATA:
                data = _max(data, level)
    return super_admin, control, data

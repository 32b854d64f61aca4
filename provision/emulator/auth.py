"""RAM policy evaluation for RAM-user callers: an explicit Deny wins, then any Allow, else implicit deny.

Supported: ``Statement`` as an object or a list, ``Action``/``NotAction`` as a string or a list,
``*`` and ``?`` wildcards matched case-insensitively. ``Resource`` (or ``NotResource``) must be
present but is not matched, and ``Condition`` blocks are treated as satisfied (documented in
docs/emulator.md).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Literal

from provision.emulator.alibaba.ram import effective_policy_documents
from provision.emulator.wire import Caller, CloudError
from provision.emulator.world import World

Decision = Literal["Allow", "ExplicitDeny", "ImplicitDeny"]


@lru_cache(maxsize=4096)
def _pattern(action_pattern: str) -> re.Pattern[str]:
    regex = re.escape(action_pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.compile(f"^{regex}$", re.IGNORECASE)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _statement_matches(statement: dict[str, Any], action: str) -> bool:
    if "Resource" not in statement and "NotResource" not in statement:
        return False
    if "Action" in statement:
        return any(isinstance(p, str) and _pattern(p).match(action) for p in _as_list(statement["Action"]))
    if "NotAction" in statement:
        return not any(isinstance(p, str) and _pattern(p).match(action)
                       for p in _as_list(statement["NotAction"]))
    return False


def evaluate(documents: list[dict[str, Any]], action: str) -> Decision:
    """How RAM decides ``action`` (e.g. ``ram:CreateUser``) under the caller's policy documents."""
    allowed = False
    for document in documents:
        for statement in _as_list(document.get("Statement")):
            if not isinstance(statement, dict) or not _statement_matches(statement, action):
                continue
            effect = str(statement.get("Effect", "")).lower()
            if effect == "deny":
                return "ExplicitDeny"
            if effect == "allow":
                allowed = True
    return "Allow" if allowed else "ImplicitDeny"


def is_allowed(documents: list[dict[str, Any]], action: str) -> bool:
    """True when the documents allow ``action`` and no statement denies it."""
    return evaluate(documents, action) == "Allow"


class AccessDenied(CloudError):
    """403 ``NoPermission`` with the ``AccessDeniedDetail`` the SDK exposes as ``access_denied_detail``."""

    def __init__(self, caller: Caller, action: str, decision: Decision) -> None:
        super().__init__("NoPermission", f"You are not authorized to do this action. Action: {action}",
                         403, "RPC")
        self.detail: dict[str, str] = {
            "PolicyType": "AccountLevelIdentityBasedPolicy",
            "AuthPrincipalOwnerId": caller.account_id,
            "AuthPrincipalType": "SubUser",
            "AuthPrincipalDisplayName": caller.user_name or "",
            "NoPermissionType": decision,
            "AuthAction": action,
            "EncodedDiagnosticMessage": "",
        }


def authorize(world: World, caller: Caller, action: str | None) -> None:
    """Raise AccessDenied unless the caller may call ``action``; root and ``None`` actions always pass."""
    if action is None or caller.user_name is None:
        return
    documents = effective_policy_documents(world, caller.account_id, caller.user_name)
    decision = evaluate(documents, action)
    if decision != "Allow":
        raise AccessDenied(caller, action, decision)

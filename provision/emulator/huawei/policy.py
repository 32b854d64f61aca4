"""Identity policies and SCPs (reference §5): the ``Version 5.0`` grammar, evaluation, the system policies.

Evaluation: an explicit ``Deny`` wins, then any ``Allow``, else an implicit deny. ``Action`` /
``NotAction`` patterns use ``*`` and ``?`` (case-insensitive). ``Resource`` is optional and not
matched. ``Condition`` supports ``StringEquals``, ``StringNotEquals``, ``StringLike``,
``StringNotLike`` and ``Bool`` (an ``IfExists`` suffix passes when the key is absent); a key absent
from the request fails every operator except the negated ones, as in IAM.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

from provision.emulator.auth import _pattern
from provision.emulator.wire import CloudError

Decision = Literal["Allow", "ExplicitDeny", "ImplicitDeny"]
MAX_DOCUMENT = 6144  # [UNVERIFIED] policy_size_quota
_STATEMENT_KEYS = {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}


def malformed(detail: str) -> CloudError:
    return CloudError("PAP5.0011", f"The policy document is malformed: {detail}.", 400)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def parse_document(text: str, code_prefix: str = "PAP5") -> dict[str, Any]:
    """A policy document (a JSON string) checked against the grammar; 400 ``PAP5.0011`` otherwise."""
    if len(text) > MAX_DOCUMENT:
        raise malformed(f"longer than {MAX_DOCUMENT} characters")
    try:
        document = json.loads(text)
    except ValueError:
        raise malformed("not JSON") from None
    if not isinstance(document, dict) or document.get("Version") not in ("5.0", "1.1"):
        raise malformed('it must be an object with "Version": "5.0"')
    statements = document.get("Statement")
    if not isinstance(statements, list) or not statements:
        raise malformed("Statement must be a non-empty list")
    for statement in statements:
        if not isinstance(statement, dict) or set(statement) - _STATEMENT_KEYS:
            raise malformed(f"unknown statement fields in {statement!r}")
        if statement.get("Effect") not in ("Allow", "Deny"):
            raise malformed("Effect must be Allow or Deny")
        if ("Action" in statement) == ("NotAction" in statement):
            raise malformed("a statement needs exactly one of Action and NotAction")
        condition = statement.get("Condition", {})
        if not isinstance(condition, dict) or not all(isinstance(v, dict) for v in condition.values()):
            raise malformed("Condition must be an object of operator → {key: values}")
        for field in ("Action", "NotAction", "Resource", "NotResource"):
            if field in statement and not all(isinstance(v, str) for v in _as_list(statement[field])):
                raise malformed(f"{field} must be a string or a list of strings")
    return document


def _condition_holds(operator: str, key: str, wanted: list[str], context: dict[str, str]) -> bool:
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    value = context.get(key)
    if value is None:
        return if_exists or base.startswith(("StringNot",))
    if base in ("StringEquals", "Bool"):
        return any(value.lower() == w.lower() if base == "Bool" else value == w for w in wanted)
    if base == "StringNotEquals":
        return all(value != w for w in wanted)
    if base == "StringLike":
        return any(_pattern(w).match(value) for w in wanted)
    if base == "StringNotLike":
        return not any(_pattern(w).match(value) for w in wanted)
    return False  # an operator the emulator does not know never holds


def _matches(statement: dict[str, Any], action: str, context: dict[str, str]) -> bool:
    if "Action" in statement:
        hit = any(isinstance(p, str) and _pattern(p).match(action) for p in _as_list(statement["Action"]))
    else:
        hit = not any(
            isinstance(p, str) and _pattern(p).match(action) for p in _as_list(statement.get("NotAction"))
        )
    if not hit:
        return False
    for operator, keys in (statement.get("Condition") or {}).items():
        for key, wanted in (keys or {}).items():
            if not _condition_holds(operator, key, [str(w) for w in _as_list(wanted)], context):
                return False
    return True


def evaluate(documents: list[dict[str, Any]], action: str, context: dict[str, str]) -> Decision:
    """How IAM decides ``action`` (``modelarts:workspace:create``) under the documents and request context."""
    allowed = False
    for document in documents:
        for statement in _as_list(document.get("Statement")):
            if isinstance(statement, dict) and _matches(statement, action, context):
                if statement.get("Effect") == "Deny":
                    return "ExplicitDeny"
                allowed = True
    return "Allow" if allowed else "ImplicitDeny"


@dataclass(frozen=True)
class SystemPolicy:
    name: str
    description: str
    actions: tuple[str, ...]

    @property
    def policy_id(self) -> str:
        """Stable across worlds: derived from the name."""
        return hashlib.sha256(f"system-policy/{self.name}".encode()).hexdigest()[:32]

    @property
    def document(self) -> str:
        return json.dumps(
            {"Version": "5.0", "Statement": [{"Effect": "Allow", "Action": list(self.actions)}]}
        )


# Names and contents are placeholders in the cloud's style [UNVERIFIED]: only the Workspace ones are
# documented (reference §3.6).
SYSTEM_POLICIES: tuple[SystemPolicy, ...] = (
    SystemPolicy("FullAccess", "Full permissions for all services", ("*",)),
    SystemPolicy("ReadOnlyAccess", "Read-only permissions for all services", ("*:*:get*", "*:*:list*")),
    SystemPolicy("IAMFullAccessPolicy", "Full permissions for IAM", ("iam:*",)),
    SystemPolicy("IAMReadOnlyPolicy", "Read-only permissions for IAM", ("iam:*:get*", "iam:*:list*")),
    SystemPolicy(
        "ModelArtsFullAccessPolicy",
        "Full permissions for ModelArts and ModelArts Studio",
        ("modelarts:*", "pangu:*"),
    ),
    SystemPolicy(
        "ModelArtsReadOnlyPolicy",
        "Read-only permissions for ModelArts",
        ("modelarts:*:get*", "modelarts:*:list*"),
    ),
    SystemPolicy(
        "ModelArtsWorkspaceAllPolicy", "All operations on ModelArts workspaces", ("modelarts:workspace:*",)
    ),
    SystemPolicy(
        "ModelArtsWorkspaceReadOnlyPolicy",
        "Read-only operations on ModelArts workspaces",
        ("modelarts:workspace:get", "modelarts:workspace:list"),
    ),
    SystemPolicy("PanguInvokePolicy", "Call Pangu models and agents", ("pangu:*",)),
    SystemPolicy("VPCEndpointFullAccessPolicy", "Full permissions for VPC Endpoint", ("vpcep:*",)),
    SystemPolicy(
        "VPCEndpointReadOnlyPolicy",
        "Read-only permissions for VPC Endpoint",
        ("vpcep:*:get*", "vpcep:*:list*"),
    ),
    SystemPolicy("OrganizationsFullAccessPolicy", "Full permissions for Organizations", ("organizations:*",)),
)
SYSTEM_BY_ID = {p.policy_id: p for p in SYSTEM_POLICIES}
SYSTEM_BY_NAME = {p.name: p for p in SYSTEM_POLICIES}

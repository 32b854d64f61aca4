"""The Huawei audit checks (``HUAWEI-NNN``): each a function over a :class:`HuaweiAudit` (the account's facts,
the access map ``audit/huawei.py`` makes of them, the manifest's word) yielding its findings' hits, registered
for the cloud. Ids never change meaning and are never reused; docs/audit.md lists them. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from provision.audit.findings import Check, Hit, register
from provision.audit.model import AccessMap, Severity, UserEntry, WorkspaceEntry
from provision.providers.huawei.read import CustomPolicy, HuaweiAccount

if TYPE_CHECKING:
    from provision.audit.huawei import Declared

CLOUD = "huaweicloud"
MAX_UNUSED_DAYS = 90
# System policies that reach the whole account (critical) or all of ModelArts / Pangu (high).
ADMIN_POLICIES = ("FullAccess", "Tenant Administrator", "IAMFullAccessPolicy", "Security Administrator")
MODELARTS_BROAD = ("ModelArtsFullAccessPolicy", "ModelArts FullAccess", "ModelArts Administrator")


@dataclass(frozen=True)
class HuaweiAudit:
    """What the Huawei checks look at: the account's facts, the map made of them, the manifest's word."""

    account: HuaweiAccount
    access_map: AccessMap
    declared: Declared


def as_list(value: Any) -> list[Any]:
    """A policy statement's field as a list (a single string, a list, or nothing)."""
    return value if isinstance(value, list) else [value] if value else []


def _console_without_mfa(a: HuaweiAudit) -> Iterator[Hit]:
    known = {u.name: u.mfa_known for u in a.account.users}
    for u in a.access_map.users:
        if u.console is not None and not u.console.mfa_bound:
            how = (
                "no MFA device enabled"
                if known.get(u.name, True)
                else "no MFA device listed (the endpoint offers no MFA API: bind state unknown)"
            )
            yield Hit(u.resource, f"console login enabled; {how}")


def _unused_keys(a: HuaweiAudit) -> Iterator[Hit]:
    for u in a.access_map.users:
        for k in u.active_keys:
            if k.last_used is None and (k.age_days or 0) > MAX_UNUSED_DAYS:
                yield Hit(
                    _key(u, k.access_key_id),
                    f"active, never used since created {k.created} ({k.age_days} days ago)",
                )
            elif k.last_used_days is not None and k.last_used_days > MAX_UNUSED_DAYS:
                yield Hit(
                    _key(u, k.access_key_id), f"active, last used {k.last_used} ({k.last_used_days} days ago)"
                )


def _second_key(a: HuaweiAudit) -> Iterator[Hit]:
    for u in a.access_map.users:
        if len(u.active_keys) > 1:
            yield Hit(
                u.resource,
                f"{len(u.active_keys)} active access keys: "
                f"{', '.join(k.access_key_id for k in u.active_keys)}",
            )


def _broad(names: tuple[str, ...], consequence: str, wildcards: tuple[str, ...]) -> Any:
    def check(a: HuaweiAudit) -> Iterator[Hit]:
        custom = {p.name: p for p in a.account.custom_policies}
        for u in a.access_map.users:
            held = [p for p in u.policies if p.policy_type == "System" and p.name in names]
            held += [
                p
                for p in u.policies
                if p.policy_type == "Custom" and p.name in custom and _allows_any(custom[p.name], wildcards)
            ]
            for p in held:
                reason = dict(u.justified).get(p.name)
                why = f"; manifest reason: {reason}" if reason else ""
                declared = (
                    "declared by the manifest"
                    if p.ref.lower() in (d.lower() for d in u.declared_policies)
                    else "not declared by the manifest"
                )
                yield Hit(u.resource, f"{p.ref} ({p.via}, {declared}): {consequence}{why}")

    return check


def _allows_any(policy: CustomPolicy, actions: tuple[str, ...]) -> bool:
    return any(
        a in actions
        for s in policy.statements()
        if s.get("Effect") == "Allow"
        for a in as_list(s.get("Action"))
    )


def _public_workspaces(a: HuaweiAudit) -> Iterator[Hit]:
    for w in a.account.workspaces:
        if w.visibility == "PUBLIC":
            grants = f"; its {len(w.grants)} grant(s) have no effect" if w.grants else ""
            yield Hit(
                f"{WorkspaceEntry(w.name).resource}",
                f"auth_type PUBLIC: every IAM user of the account may use it{grants}",
            )


def _open_api_keys(a: HuaweiAudit) -> Iterator[Hit]:
    entries = {e.api_key_id: e for e in a.access_map.api_keys}
    for key in a.account.api_keys:
        entry = entries[key.key_id]
        if key.open_to_any_address:
            how = "allow_all: true" if key.allow_all else "an empty ip_whitelist"
            yield Hit(
                entry.resource, f"MaaS key {key.label} ({key.key_id}) has {how}: callable from any address"
            )


def _expired_still_active(a: HuaweiAudit) -> Iterator[Hit]:
    for u in a.access_map.users:
        if not u.expired:
            continue
        left = (
            ([f"{len(u.active_keys)} active access key(s)"] if u.active_keys else [])
            + (["console login"] if u.console is not None else [])
            + (
                [f"workspace grants ({', '.join(m.workspace for m in u.memberships)})"]
                if u.memberships
                else []
            )
        )
        if left:
            yield Hit(u.resource, f"expires_at {u.expires_at} has passed; still has {' and '.join(left)}")


def _unmanaged_with_access(a: HuaweiAudit) -> Iterator[Hit]:
    for u in a.access_map.users:
        if not u.managed and (u.privilege.any or u.memberships):
            reach = (
                [f"ModelArts/Pangu privilege {u.privilege.label} from {', '.join(u.privilege.sources)}"]
                if u.privilege.any
                else []
            )
            reach += [f"granted in {', '.join(m.workspace for m in u.memberships)}"] if u.memberships else []
            yield Hit(
                u.resource, f"not managed by provision (no managed-by=provision tag); {'; '.join(reach)}"
            )


def _drift(a: HuaweiAudit) -> Iterator[Hit]:
    for d in a.access_map.drift:
        fields = "; ".join(f"{f.field}: account has {f.live}, manifest says {f.declared}" for f in d.fields)
        yield Hit(d.resource, d.reason + (f" ({fields})" if fields else ""))


def _key(user: UserEntry, access_key_id: str) -> str:
    """An access key's resource key, in the form the report attributes to its user."""
    return f"ram.access_key/{user.name}/{access_key_id}"


_APPLY = "provision plan -m MANIFEST, then provision apply"
HUAWEI_CHECKS: tuple[Check[HuaweiAudit], ...] = (
    Check(
        "HUAWEI-001",
        "Console user without MFA",
        Severity.HIGH,
        "Have the user bind a virtual MFA device (IAM console → Users → Security settings → MFA) and enable "
        "login protection; or remove the console login if it is not needed.",
        _console_without_mfa,
        ("console user without MFA", "console users without MFA"),
    ),
    Check(
        "HUAWEI-002",
        f"Access key unused (never, or not in {MAX_UNUSED_DAYS} days)",
        Severity.MEDIUM,
        "Deactivate, then delete the key; for a managed user lower access_keys in the manifest and apply.",
        _unused_keys,
        ("unused access key", "unused access keys"),
    ),
    Check(
        "HUAWEI-003",
        "Second active access key",
        Severity.LOW,
        "Keep one active key per user (IAM allows two); a second one only for the duration of a rotation.",
        _second_key,
        ("user with a second active access key", "users with a second active access key"),
    ),
    Check(
        "HUAWEI-004",
        "Account-wide administrator policy held",
        Severity.CRITICAL,
        "Detach it; grant only the ModelArts / Pangu policies the user needs (e.g. PanguInvokePolicy, "
        "ModelArtsWorkspaceReadOnlyPolicy).",
        _broad(ADMIN_POLICIES, "full control of the whole account", ("*", "iam:*")),
        ("user with an administrator policy", "users with an administrator policy"),
    ),
    Check(
        "HUAWEI-005",
        "Broad ModelArts / Pangu policy held (e.g. ModelArts FullAccess)",
        Severity.HIGH,
        "Replace it with workspace grants plus PanguInvokePolicy and ModelArtsWorkspaceReadOnlyPolicy; keep "
        "full access to a named few, with a reason in the manifest.",
        _broad(
            MODELARTS_BROAD,
            "every ModelArts and Pangu action, every workspace and API key",
            ("modelarts:*", "pangu:*"),
        ),
        ("user with a broad ModelArts policy", "users with a broad ModelArts policy"),
    ),
    Check(
        "HUAWEI-006",
        "Workspace PUBLIC instead of INTERNAL",
        Severity.MEDIUM,
        "Set auth_type INTERNAL with the users who need it as grants (declare them as the workspace's "
        "members and apply).",
        _public_workspaces,
        ("PUBLIC workspace", "PUBLIC workspaces"),
    ),
    Check(
        "HUAWEI-007",
        "API key without IP whitelist",
        Severity.MEDIUM,
        "Set ip_whitelist to the callers' egress addresses (CIDRs) and apply; allow_all only for a key "
        "that must be reachable from anywhere.",
        _open_api_keys,
        ("API key without IP whitelist", "API keys without IP whitelist"),
    ),
    Check(
        "HUAWEI-008",
        "Expired account still active",
        Severity.CRITICAL,
        f"Revoke it now: provision plan --only-expired -m MANIFEST, then apply (or {_APPLY}).",
        _expired_still_active,
        ("expired account still active", "expired accounts still active"),
    ),
    Check(
        "HUAWEI-009",
        "Drift from the manifest",
        Severity.MEDIUM,
        f"Review the change; restore the manifest with {_APPLY}, or update the manifest if it is intended.",
        _drift,
        ("resource drifted from the manifest", "resources drifted from the manifest"),
    ),
    Check(
        "HUAWEI-010",
        "Unmanaged user with ModelArts / Pangu access",
        Severity.HIGH,
        "Declare the user in the manifest (adopt: true) so its access is reviewed as code, or remove its "
        "ModelArts / Pangu policies and workspace grants.",
        _unmanaged_with_access,
        ("unmanaged user with ModelArts access", "unmanaged users with ModelArts access"),
    ),
)
register(CLOUD, HUAWEI_CHECKS)

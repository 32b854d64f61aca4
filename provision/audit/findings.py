"""The audit's checks: each has a stable id (``BAILIAN-NNN``), a severity, a title and a fix. Pure.

Ids never change meaning and are never reused; docs/audit.md lists them. A check looks at an
:class:`AccessMap` and yields one finding per offending resource, with the evidence that made it fire.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from provision.audit.model import (
    AccessMap,
    ApiKeyEntry,
    AuditReport,
    Finding,
    PolicyRef,
    Risk,
    Severity,
    UserEntry,
)
from provision.audit.privilege import ADMINISTRATOR, BAILIAN_FULL
from provision.desired.kinds import Kind

MAX_KEY_AGE_DAYS = 90
MAX_UNUSED_DAYS = 90
TOP_RISKS = 5  # check groups the summary lists at most
M = TypeVar("M")  # what a check looks at: the AccessMap (Alibaba), or a cloud's own facts (audit/huawei.py)


@dataclass(frozen=True)
class Hit:
    """What a check found: the resource and the evidence, and a fix fitted to this case (else the
    check's own)."""

    resource: str
    evidence: str
    fix: str = ""


@dataclass(frozen=True)
class Check(Generic[M]):
    check_id: str
    title: str
    severity: Severity
    fix: str
    run: Callable[[M], Iterable[Hit]]
    risk: tuple[str, str] = ("finding", "findings")  # what one finding is, singular and plural

    def count(self, n: int) -> str:
        """``3 console users without MFA``."""
        return f"{n} {self.risk[0] if n == 1 else self.risk[1]}"


def _console_without_mfa(m: AccessMap) -> Iterator[Hit]:
    for u in m.users:
        if u.console is not None and not u.console.mfa_bound:
            required = "required at sign-in, not bound yet" if u.console.mfa_required else "not required"
            yield Hit(u.resource, f"console login enabled; no MFA device bound (MFA {required})",
                      _mfa_fix(u, u.console.mfa_required))


def _mfa_fix(user: UserEntry, required: bool) -> str:
    """BAILIAN-001's fix for this user: what is left to do, never what the manifest already says."""
    bind = f"Have {user.name} sign in once and bind a virtual MFA device (or bind one for them: RAM " \
           f"console → Users → {user.name} → MFA)"
    if required:
        return f"{bind}; MFA is already required at sign-in, so nothing needs declaring. Or remove the " \
               "console login if it is not needed."
    if user.declared == "present":
        return f"{bind}; declare console_login.mfa_required: true for {user.name} and apply, so the " \
               "console enforces it. Or remove the console login if it is not needed."
    return f"{bind}, and require MFA at sign-in (RAM console → Users → {user.name} → Console access); or " \
           "remove the console login if it is not needed."


def _old_keys(m: AccessMap) -> Iterator[Hit]:
    for u in m.users:
        for k in u.active_keys:
            if k.age_days is not None and k.age_days > MAX_KEY_AGE_DAYS:
                yield Hit(_key(u, k.access_key_id), f"active, created {k.created} ({k.age_days} days ago)")


def _unused_keys(m: AccessMap) -> Iterator[Hit]:
    for u in m.users:
        for k in u.active_keys:
            if k.last_used is None:
                if k.age_days is not None and k.age_days <= MAX_UNUSED_DAYS:
                    continue  # too new to call unused
                age = f" ({k.age_days} days ago)" if k.age_days is not None else ""
                yield Hit(_key(u, k.access_key_id), f"active, never used since created {k.created}{age}")
            elif k.last_used_days is not None and k.last_used_days > MAX_UNUSED_DAYS:
                yield Hit(_key(u, k.access_key_id),
                          f"active, last used {k.last_used} ({k.last_used_days} days ago)")


def _several_keys(m: AccessMap) -> Iterator[Hit]:
    for u in m.users:
        if len(u.active_keys) > 1:
            ids = ", ".join(k.access_key_id for k in u.active_keys)
            yield Hit(u.resource, f"{len(u.active_keys)} active AccessKeys: {ids}")


def _holds(policy: str, consequence: str) -> Callable[[AccessMap], Iterator[Hit]]:
    def check(m: AccessMap) -> Iterator[Hit]:
        for u in m.users:
            held = [p for p in u.policies if p.policy_type == "System" and p.name == policy]
            if held:
                who = "; ".join(_attached_by(u, p, m.manifest_name) for p in held)
                reason = dict(u.justified).get(policy)
                why = f"; manifest reason: {reason}" if reason else ""
                yield Hit(u.resource, f"System:{policy} {who}: {consequence}{why}")
    return check


def _attached_by(user: UserEntry, policy: PolicyRef, audited: str) -> str:
    """Who manages one attachment of a policy: the manifest that declares it, or nobody (by hand)."""
    if policy.via != "direct":
        return f"attached via {policy.via} (provision manages no group: attached by hand)"
    if not user.managed:
        return "attached directly, by hand (the user is not managed by provision)"
    if user.owner and audited and user.owner != audited:
        return f"attached directly to a user of manifest {user.owner} (that manifest's audit says whether " \
               "it declares it)"
    if policy.ref in user.declared_policies:
        return f"attached directly by provision: manifest {user.owner or audited} declares it"
    return f"attached directly, by hand: the user is managed by manifest {user.owner or audited}, which " \
           "does not declare it"


def _expired_still_active(m: AccessMap) -> Iterator[Hit]:
    for u in m.users:
        if not u.expired:
            continue
        left = ([f"{len(u.active_keys)} active AccessKey(s)"] if u.active_keys else []) + \
            (["console login"] if u.console is not None else [])
        if left:
            yield Hit(u.resource, f"expires_at {u.expires_at} has passed; still has {' and '.join(left)}")


def _unmanaged_with_access(m: AccessMap) -> Iterator[Hit]:
    for u in m.users:
        if not u.managed and u.privilege.any:
            yield Hit(u.resource, f"not managed by provision; Model Studio privilege {u.privilege.label} "
                                  f"from {', '.join(u.privilege.sources)}")


def _drift(m: AccessMap) -> Iterator[Hit]:
    for d in m.drift:
        fields = "; ".join(f"{f.field}: account has {f.live}, manifest says {f.declared}" for f in d.fields)
        yield Hit(d.resource, d.reason + (f" ({fields})" if fields else ""))


def _all_models(m: AccessMap) -> Iterator[Hit]:
    for w in m.workspaces:
        if w.all_models:
            yield Hit(w.resource, f"every model is granted for inference ({len(w.granted_models)} models, "
                                  "including any added later)")


def _open_api_keys(m: AccessMap) -> Iterator[Hit]:
    for k in m.api_keys:
        if not k.disabled and not k.ip_allow_list:
            yield Hit(k.resource, f"enabled, no IP allow-list (callable from any address); {_scope(k)}")


def _orphan_api_keys(m: AccessMap) -> Iterator[Hit]:
    for k in m.api_keys:
        if k.disabled or not k.issued_to:
            continue
        user = m.user(k.issued_to)
        why = _revoked(user, k.issued_to)
        if why:
            yield Hit(k.resource, f"enabled; issued to {k.issued_to}, who {why}")


def _revoked(user: UserEntry | None, name: str) -> str:
    if user is None:
        return "does not exist in the account"
    if user.declared == "absent":
        return "is declared state: absent"
    if user.expired:
        return f"expired at {user.expires_at}"
    return ""


def _key(user: UserEntry, access_key_id: str) -> str:
    return f"ram.access_key/{user.name}/{access_key_id}"


def _scope(key: ApiKeyEntry) -> str:
    return "all models" if key.all_models else f"models {', '.join(key.allowed_models)}"


_MANIFEST = "provision plan -m MANIFEST, then provision apply"
CHECKS: tuple[Check[AccessMap], ...] = (
    Check("BAILIAN-001", "Console user without MFA", Severity.HIGH,
          "Bind a virtual MFA device to the user (RAM console → Users → MFA); declare "
          "console_login.mfa_required: true so the console enforces it, or remove an unneeded console login.",
          _console_without_mfa, ("console user without MFA", "console users without MFA")),
    Check("BAILIAN-002", f"AccessKey older than {MAX_KEY_AGE_DAYS} days", Severity.MEDIUM,
          "Rotate it: create a new AccessKey, move the workload to it, then deactivate and delete the old "
          "one.",
          _old_keys, (f"AccessKey older than {MAX_KEY_AGE_DAYS} days",
                      f"AccessKeys older than {MAX_KEY_AGE_DAYS} days")),
    Check("BAILIAN-003", f"AccessKey unused (never, or not in {MAX_UNUSED_DAYS} days)", Severity.MEDIUM,
          "Deactivate, then delete the key; for a managed user lower access_keys in the manifest and apply.",
          _unused_keys, ("unused AccessKey", "unused AccessKeys")),
    Check("BAILIAN-004", "More than one active AccessKey", Severity.LOW,
          "Keep one active key per user; a second one only for the duration of a rotation.",
          _several_keys, ("user with more than one active AccessKey",
                          "users with more than one active AccessKey")),
    Check("BAILIAN-005", f"{BAILIAN_FULL} held (super admin of every workspace)", Severity.HIGH,
          "Replace it with workspace membership plus AliyunBailianDataReadOnlyAccess; keep super admins to a "
          "named few declared with super_admin.reason in the manifest.",
          _holds(BAILIAN_FULL, "super admin of every workspace, may add members and create API keys"),
          (f"super admin ({BAILIAN_FULL})", f"super admins ({BAILIAN_FULL})")),
    Check("BAILIAN-006", f"{ADMINISTRATOR} held", Severity.CRITICAL,
          "Detach AdministratorAccess; grant only the Model Studio policies the user needs.",
          _holds(ADMINISTRATOR, "full control of the whole account, Model Studio included"),
          (f"user with {ADMINISTRATOR}", f"users with {ADMINISTRATOR}")),
    Check("BAILIAN-007", "Expired account still active", Severity.CRITICAL,
          f"Revoke it now: provision plan --only-expired -m MANIFEST, then apply (or {_MANIFEST}).",
          _expired_still_active, ("expired account still active", "expired accounts still active")),
    Check("BAILIAN-008", "Unmanaged user with Model Studio access", Severity.HIGH,
          "Declare the user in the manifest (adopt: true) so its access is reviewed as code, or remove its "
          "Model Studio policies.",
          _unmanaged_with_access, ("unmanaged user with Model Studio access",
                                   "unmanaged users with Model Studio access")),
    Check("BAILIAN-009", "Drift from the manifest", Severity.MEDIUM,
          f"Review the change; restore the manifest with {_MANIFEST}, or update the manifest if the change "
          "is intended.",
          _drift, ("resource drifted from the manifest", "resources drifted from the manifest")),
    Check("BAILIAN-010", "Workspace with all models granted", Severity.MEDIUM,
          "List only the models the workspace needs under models: (not all) and apply.",
          _all_models, ("workspace with all models granted", "workspaces with all models granted")),
    Check("BAILIAN-011", "API key without IP allow-list", Severity.MEDIUM,
          "Set ip_allow_list to the callers' egress addresses (CIDRs) and apply.",
          _open_api_keys, ("API key without IP allow-list", "API keys without IP allow-list")),
    Check("BAILIAN-012", "API key enabled but its user is revoked or absent", Severity.HIGH,
          "Disable or delete the key; provision apply deletes API keys issued to expired users.",
          _orphan_api_keys, ("enabled API key of a revoked or absent user",
                             "enabled API keys of revoked or absent users")),
)
CHECKS_BY_ID: dict[str, Check[Any]] = {c.check_id: c for c in CHECKS}
# Each cloud's checks, by ``AccessMap.cloud``: the report lists (and counts risks with) its cloud's checks.
CATALOGUES: dict[str, tuple[Check[Any], ...]] = {"alibaba": CHECKS}


def register(cloud: str, checks: tuple[Check[Any], ...]) -> None:
    """Add a cloud's checks (``audit/huawei.py`` registers Huawei's on import)."""
    CATALOGUES[cloud] = checks
    CHECKS_BY_ID.update((c.check_id, c) for c in checks)


def catalogue(access_map: AccessMap) -> tuple[Check[Any], ...]:
    """The checks of the map's cloud."""
    return CATALOGUES.get(access_map.cloud, CHECKS)


def run_checks(access_map: AccessMap, checks: Iterable[Check[AccessMap]] = CHECKS) -> tuple[Finding, ...]:
    """Every finding of every check, worst first (severity, then check id, then resource), each with
    the manifest that manages its resource and the user it is about."""
    return findings_of(access_map, access_map, checks)


def findings_of(facts: M, access_map: AccessMap, checks: Iterable[Check[M]]) -> tuple[Finding, ...]:
    """Every finding of checks that look at ``facts``, attributed (manifest, user) on ``access_map``."""
    found = [Finding(c.check_id, c.title, c.severity, hit.resource, hit.evidence, hit.fix or c.fix,
                     *subject(access_map, hit.resource))
             for c in checks for hit in c.run(facts)]
    return tuple(sorted(found, key=lambda f: (f.severity.rank, f.check_id, f.resource)))


def subject(m: AccessMap, resource: str) -> tuple[str, str]:
    """(manifest, user) of a resource key: the manifest that manages it ("" when none does) and the RAM
    user it belongs to ("" when none). Keys the map has no entry for (drift of a grant, an attachment,
    a membership) belong to the audited manifest: only its plan reports them."""
    kind, _, rest = resource.partition("/")
    first = rest.split("/", 1)[0]
    if kind in (Kind.USER, Kind.LOGIN_PROFILE, Kind.ACCESS_KEYS, Kind.ATTACHMENT, "ram.access_key"):
        user = m.user(first)
        return (owner_of(user.managed, user.owner, m) if user else m.manifest_name), first
    if kind == Kind.API_KEY:
        key = next((k for k in m.api_keys if k.resource == resource), None)
        if key is not None:
            return owner_of(key.managed, key.owner, m), key.issued_to or ""
    if kind == Kind.MEMBER:
        return m.manifest_name, rest.split("/", 1)[-1]
    for w in m.workspaces:
        if w.resource == resource:
            return owner_of(w.managed, w.owner, m), ""
    for e in m.endpoints:
        if e.resource == resource:
            return owner_of(e.managed, e.owner, m), ""
    return m.manifest_name, ""


UNNAMED = "provision"  # the owner of a managed resource when no manifest name is known at all


def owner_of(managed: bool, owner: str, m: AccessMap) -> str:
    """The manifest that manages a resource, "" when none does. A marker without a manifest name
    belongs to every manifest: to the audited one here."""
    return (owner or m.manifest_name or UNNAMED) if managed else ""


def top_risks(findings: Iterable[Finding], limit: int = TOP_RISKS,
              checks: Sequence[Check[Any]] = CHECKS) -> tuple[Risk, ...]:
    """The findings grouped by check, worst severity first, then the most frequent; info left out."""
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.check_id] = counts.get(f.check_id, 0) + 1
    risks = [Risk(c.check_id, c.severity, counts[c.check_id], c.count(counts[c.check_id]))
             for c in checks if c.check_id in counts and c.severity is not Severity.INFO]
    return tuple(sorted(risks, key=lambda r: (r.severity.rank, -r.count, r.check_id))[:limit])


def audit_report(access_map: AccessMap) -> AuditReport:
    """The access map with its findings and top risks."""
    findings = run_checks(access_map)
    return AuditReport(access_map, findings, top_risks(findings))

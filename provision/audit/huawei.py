"""The audit of a Huawei Cloud account: a :class:`HuaweiAccount` (``providers/huawei/read.py``) made into the
audit's :class:`AccessMap`, and the Huawei checks (``HUAWEI-NNN``) as findings of the audit's own model, so
the report, its formats and its layout are the Alibaba audit's. The checks themselves are in
``audit/huawei_checks.py``.

Interface for the ``huawei`` branch (``provision audit`` on a Huawei manifest)::

    account = read_account(clients)                        # providers.huawei.read
    declared = Declared(manifest="manifests/huawei.yaml", manifest_name="huawei-delivery",
                        users=(DeclaredUser("alice", expires_at="2027-03-31T00:00:00Z",
                                            policies=("system:PanguInvokePolicy",)),),
                        workspaces=("agent-delivery",), drift=plan_drift, console_steps=steps)
    report = huawei_report(account, now, declared)         # an AuditReport: render(report, "html"), ...

``Declared`` carries what only the manifest, the state file and the plan know (expiry, the declared
policies and workspaces, the drift and the pending console steps); the account carries the rest.
Ownership is read from the markers of ``providers/common/markers.py`` (both clouds write them): the
``managed-by=provision`` tag (and ``provision-manifest``) on IAM users and VPC endpoints, the key marker in a
MaaS key's description.
Ids never change meaning and are never reused; docs/audit.md lists them. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from provision.audit.common import days_since, iso, parse_time
from provision.audit.findings import findings_of, top_risks
from provision.audit.huawei_checks import (
    ADMIN_POLICIES,
    CLOUD,
    HUAWEI_CHECKS,
    MODELARTS_BROAD,
    HuaweiAudit,
    as_list,
)
from provision.audit.model import (
    AccessKeyEntry,
    AccessMap,
    ApiKeyEntry,
    AuditReport,
    ConsoleAccess,
    ConsoleStep,
    DriftEntry,
    EndpointEntry,
    Level,
    Membership,
    PolicyRef,
    Privilege,
    UserEntry,
    WorkspaceEntry,
)
from provision.providers.common.markers import KeyMarker, tags_owner
from provision.providers.huawei.read import CustomPolicy, HuaweiAccount, User

UNMARKED_KEYS = "maas"  # the "workspace" of an API key the tool did not mark: MaaS keys are account-wide
# System policy → (control level: workspaces / keys, data level: model calls)
_SYSTEM: dict[str, tuple[Level, Level]] = {
    "ModelArtsWorkspaceAllPolicy": (Level.FULL, Level.NONE),
    "ModelArtsWorkspaceReadOnlyPolicy": (Level.READ_ONLY, Level.NONE),
    "ModelArtsReadOnlyPolicy": (Level.READ_ONLY, Level.NONE),
    "ReadOnlyAccess": (Level.READ_ONLY, Level.NONE),
    "PanguInvokePolicy": (Level.NONE, Level.FULL),
}
_WILD = ("*", "modelarts:*", "pangu:*", "iam:*", "*:*:*")
NOTES = (
    "Workspace grants are read from ModelArts (INTERNAL workspaces list their users); a PUBLIC workspace "
    "admits every IAM user of the account, a PRIVATE one its creator and the account only.",
    "ModelArts Studio roles have no API: a role listed as a console step is pending an operator.",
    "MaaS API keys do not say who created them: a key's holder is known only from the tool's marker.",
    "IAM tokens issued to a user stay valid up to 30 minutes after its keys, password or permissions change.",
)


@dataclass(frozen=True)
class DeclaredUser:
    """What the manifest says of one IAM user."""

    name: str
    state: str = "present"  # present | absent
    expires_at: str | None = None  # ISO-8601 UTC
    policies: tuple[str, ...] = ()  # the identity policies it attaches: system:Name / custom:Name
    justified: tuple[tuple[str, str], ...] = ()  # (policy, reason) for a broad policy it declares


@dataclass(frozen=True)
class Declared:
    """What the manifest, the state file and the plan know that the account does not."""

    manifest: str = ""  # the manifest file
    manifest_name: str = ""
    users: tuple[DeclaredUser, ...] = ()
    workspaces: tuple[str, ...] = ()  # the workspace names it declares
    managed_workspace_ids: tuple[str, ...] = ()  # created or adopted by the tool (state file)
    drift: tuple[DriftEntry, ...] = ()  # from the plan
    console_steps: tuple[ConsoleStep, ...] = ()  # Studio roles pending in the console

    def user(self, name: str) -> DeclaredUser | None:
        return next((u for u in self.users if u.name == name), None)


# --- the collector: account → AccessMap ------------------------------------------------------------------


def access_map(account: HuaweiAccount, now: datetime, declared: Declared = Declared()) -> AccessMap:
    """The audit's map of a Huawei account as of ``now``."""
    managed_ws = set(declared.managed_workspace_ids)
    return AccessMap(
        as_of=iso(now),
        account_id=account.caller.account_id,
        caller=account.caller.principal_urn,
        cloud=CLOUD,
        manifest=declared.manifest,
        manifest_name=declared.manifest_name,
        site="",
        region=account.region,
        users=tuple(
            user_entry(u, account, declared, now) for u in sorted(account.users, key=lambda u: u.name)
        ),
        workspaces=tuple(
            WorkspaceEntry(
                name=w.name,
                workspace_id=w.workspace_id,
                created=w.created,
                managed=w.workspace_id in managed_ws,
                owner=declared.manifest_name if w.workspace_id in managed_ws else "",
                declared=w.name in declared.workspaces,
            )
            for w in sorted(account.workspaces, key=lambda w: w.name)
        ),
        api_keys=tuple(api_key_entry(k) for k in sorted(account.api_keys, key=lambda k: (k.label, k.key_id))),
        endpoints=tuple(endpoint_entry(e, account.region) for e in account.endpoints),
        drift=declared.drift,
        console_steps=declared.console_steps,
        notes=NOTES + account.notes,
    )


def user_entry(user: User, account: HuaweiAccount, declared: Declared, now: datetime) -> UserEntry:
    said = declared.user(user.name)
    owner = tags_owner(user.tags)
    expires = parse_time(said.expires_at) if said and said.expires_at else None
    console = None
    if user.login_profile is not None:
        console = ConsoleAccess(
            mfa_bound=user.mfa_enabled,
            mfa_required=False,
            password_reset_required=user.login_profile.password_reset_required,
        )
    return UserEntry(
        name=user.name,
        display_name=user.description,
        created=user.created,
        managed=owner is not None,
        owner=owner or "",
        declared=said.state if said else "",
        declared_policies=said.policies if said else (),
        expires_at=said.expires_at if said else None,
        expired=expires is not None and expires <= now,
        console=console,
        access_keys=tuple(
            AccessKeyEntry(
                k.access_key_id,
                "Active" if k.active else "Inactive",
                k.created,
                days_since(k.created, now),
                k.last_used,
                days_since(k.last_used, now),
            )
            for k in user.access_keys
        ),
        groups=tuple(g.name for g in user.groups),
        policies=tuple(PolicyRef(p.name, p.policy_type.capitalize(), p.via) for p in user.policies),
        privilege=privilege(user, account),
        justified=said.justified if said else (),
        memberships=tuple(
            Membership(w.name, "grant", "api") for w in account.workspaces if w.granted(user.name)
        ),
    )


def privilege(user: User, account: HuaweiAccount) -> Privilege:
    """What the user's identity policies allow on ModelArts / Pangu, at most (Deny and conditions not
    evaluated): super admin for an account-wide or ModelArts-wide policy."""
    custom = {p.name: p for p in account.custom_policies}
    control, data, admin, sources = Level.NONE, Level.NONE, False, []
    for p in user.policies:
        levels: tuple[bool, Level, Level] | None = None
        if p.policy_type == "system" and (p.name in ADMIN_POLICIES or p.name in MODELARTS_BROAD):
            levels = (True, Level.FULL, Level.FULL)
        elif p.policy_type == "system" and p.name in _SYSTEM:
            levels = (False, *_SYSTEM[p.name])
        elif p.policy_type == "custom" and p.name in custom:
            levels = _custom_levels(custom[p.name])
        if levels is None or levels == (False, Level.NONE, Level.NONE):
            continue
        admin = admin or levels[0]
        control, data = max(control, levels[1], key=_rank), max(data, levels[2], key=_rank)
        sources.append(f"{p.policy_type.capitalize()}:{p.name}")
    return Privilege(admin, control, data, tuple(dict.fromkeys(sources)))


def _rank(level: Level) -> int:
    return (Level.NONE, Level.READ_ONLY, Level.FULL).index(level)


def _custom_levels(policy: CustomPolicy) -> tuple[bool, Level, Level]:
    actions = [
        str(a) for s in policy.statements() if s.get("Effect") == "Allow" for a in as_list(s.get("Action"))
    ]
    admin = any(a in _WILD[:1] or a in ("modelarts:*", "pangu:*") for a in actions)
    control = Level.NONE
    for action in (a for a in actions if a.startswith("modelarts:")):
        verb = action.rsplit(":", 1)[-1].lower()
        control = max(control, Level.READ_ONLY if verb.startswith(("get", "list")) else Level.FULL, key=_rank)
    data = Level.FULL if any(a.startswith("pangu:") for a in actions) else Level.NONE
    return admin, Level.FULL if admin else control, Level.FULL if admin else data


def api_key_entry(key: Any) -> ApiKeyEntry:
    marker = KeyMarker.parse(key.description)
    return ApiKeyEntry(
        workspace=marker.workspace if marker else UNMARKED_KEYS,
        api_key_id=key.key_id,
        key_name=marker.key_name if marker else "",
        description=key.description,
        created_by=key.owner or "",
        created=key.created,
        all_models=True,
        ip_allow_list=() if key.allow_all else key.ip_whitelist,
        issued_to=marker.issued_to if marker else None,
        owner=marker.manifest if marker else "",
    )


def endpoint_entry(endpoint: Any, region: str) -> EndpointEntry:
    owner = tags_owner(endpoint.tags)
    return EndpointEntry(
        name=endpoint.tag("name") or endpoint.description or endpoint.endpoint_id,
        endpoint_id=endpoint.endpoint_id,
        region=region,
        vpc_id=endpoint.vpc_id,
        service_name=endpoint.service_name or endpoint.service_id,
        status=endpoint.status,
        domain=endpoint.domains[0] if endpoint.domains else "",
        managed=owner is not None,
        owner=owner or "",
    )


def huawei_report(account: HuaweiAccount, now: datetime, declared: Declared = Declared()) -> AuditReport:
    """The access map of a Huawei account with its findings (worst first) and top risks."""
    facts = HuaweiAudit(account, access_map(account, now, declared), declared)
    findings = findings_of(facts, facts.access_map, HUAWEI_CHECKS)
    return AuditReport(facts.access_map, findings, top_risks(findings, checks=HUAWEI_CHECKS))

"""Read the whole account (managed and unmanaged) into an AccessMap, then check it.

The account-wide reads live in ``providers.inventory``; memberships and drift come from the same
``make_plan`` the other commands use (membership probes and confirmations; ``plan.diff``).
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from provision.audit.common import days_since, drift_entries, iso
from provision.audit.findings import audit_report
from provision.audit.model import (
    AccessKeyEntry,
    AccessMap,
    ApiKeyEntry,
    AuditReport,
    ConsoleAccess,
    ConsoleStep,
    EndpointEntry,
    Membership,
    PolicyRef,
    UserEntry,
    WorkspaceEntry,
    ZoneEntry,
)
from provision.audit.privilege import BAILIAN_FULL, HeldPolicy, privilege_of
from provision.checks.contexts import AlibabaContext
from provision.desired.kinds import Spec
from provision.desired.resources import ApiKeySpec, MemberSpec
from provision.engine.flow import PlanResult, Prepared, make_plan
from provision.manifest import Manifest
from provision.plan.checklist import manual_steps
from provision.plan.diff import member_proof
from provision.providers.alibaba.inventory import (
    ApiKeyFacts,
    EndpointFacts,
    UserFacts,
    WorkspaceFacts,
    caller_identity,
    read_endpoints,
    read_users,
    read_workspaces,
)
from provision.providers.alibaba.modelstudio_keys import parse_description
from provision.providers.common.markers import KeyMarker, comments_owner

NOTES = (
    "Workspace membership has no public API: a membership listed here is proven by a probe (the user's own "
    "AccessKey from the secrets sink reached the workspace) or was confirmed by an operator "
    "(provision membership confirm). Memberships of other users are not known.",
    "Super admins (AliyunBailianFullAccess or AdministratorAccess) reach every workspace without membership.",
    "The membership probe signs with the member's own AccessKey from the secrets sink, so every plan or "
    "audit counts as a use of that key: last-used dates are read before probing, but a previous run's "
    "probe shows.",
    "'All models granted' is inferred: the workspace has every grantable model granted (no read-back of "
    "the one-click authorization exists).",
)


def run_audit(prepared: Prepared, context: AlibabaContext, now: datetime) -> AuditReport:
    """Read the account, build the access map as of ``now`` and run every check on it."""
    return audit_report(collect(prepared, context, now))


def collect(prepared: Prepared, context: AlibabaContext, now: datetime) -> AccessMap:
    """Every RAM user, workspace, API key and DashScope endpoint, with memberships and drift."""
    manifest = prepared.manifest
    regions = {manifest.cloud.region} | {e.region or manifest.cloud.region for e in manifest.endpoints}
    clients = context.clients
    with ThreadPoolExecutor(max_workers=4) as pool:
        caller = pool.submit(caller_identity, clients)
        users = pool.submit(read_users, clients)
        workspaces = pool.submit(read_workspaces, clients)
        endpoints = pool.submit(read_endpoints, clients, regions)
        facts = (caller.result(), users.result(), workspaces.result(), endpoints.result())
    # Only now: the membership probes sign with the members' own AccessKeys, which would refresh the
    # last-used dates read above.
    result = make_plan(prepared, context)
    identity, user_facts, workspace_facts, endpoint_facts = facts
    managed_ids = set(context.state.workspace_ids().values())
    applied = context.state.applied()
    issued_to = _issued_to(manifest, applied)
    steps = manual_steps(result.plan, prepared.source.command_args())
    return AccessMap(
        as_of=iso(now), account_id=identity.account_id, caller=identity.arn,
        manifest=str(prepared.source.manifest), manifest_name=manifest.name, site=manifest.cloud.site,
        region=manifest.cloud.region,
        users=tuple(user_entry(u, manifest, prepared.desired.expired, _memberships(result, u.name), now)
                    for u in sorted(user_facts, key=lambda u: u.name)),
        workspaces=tuple(workspace_entry(w, manifest, managed_ids)
                         for w in sorted(workspace_facts, key=lambda w: w.name)),
        api_keys=tuple(api_key_entry(k, w.name, issued_to)
                       for w in sorted(workspace_facts, key=lambda w: w.name) for k in w.api_keys),
        endpoints=tuple(endpoint_entry(e) for e in sorted(endpoint_facts, key=lambda e: (e.region, e.name))),
        drift=tuple(drift_entries(result, prepared.desired.expired, applied, issued_to)),
        console_steps=tuple(ConsoleStep(s.what, s.where, s.confirm) for s in steps),
        notes=NOTES)


# --- facts → entries -------------------------------------------------------------------------------------


def _millis(value: int | None) -> str:
    return iso(datetime.fromtimestamp(value / 1000, UTC)) if value else ""


def user_entry(facts: UserFacts, manifest: Manifest, expired: frozenset[str],
               memberships: tuple[Membership, ...], now: datetime) -> UserEntry:
    """A RAM user's entry: its keys aged as of ``now``, its privilege, what the manifest says of it."""
    declared = next((u for u in manifest.users if u.name == facts.name), None)
    policies = [HeldPolicy(PolicyRef(p.name, p.policy_type, f"group:{p.group}" if p.group else "direct"),
                           p.document) for p in facts.policies]
    justified = [(a.policy, a.reason) for a in declared.allow_privileged] if declared else []
    attaches = ([f"System:{p}" for p in declared.policies.system]
                + [f"Custom:{p}" for p in declared.policies.custom]) if declared else []
    if declared is not None and declared.super_admin is not None:
        justified.append((BAILIAN_FULL, declared.super_admin.reason))
        attaches.append(f"System:{BAILIAN_FULL}")
    console = None
    if facts.login is not None:
        console = ConsoleAccess(mfa_bound=facts.mfa_serial is not None,
                                mfa_required=facts.login.mfa_bind_required,
                                password_reset_required=facts.login.password_reset_required)
    return UserEntry(
        name=facts.name, display_name=facts.display_name, email=facts.email, created=facts.create_date,
        managed=facts.managed, owner=comments_owner(facts.comments) or "",
        declared=declared.state if declared else "", declared_policies=tuple(dict.fromkeys(attaches)),
        expires_at=iso(declared.expires_at) if declared and declared.expires_at else None,
        expired=facts.name in expired, console=console,
        access_keys=tuple(AccessKeyEntry(k.access_key_id, k.status, k.create_date,
                                         days_since(k.create_date, now), k.last_used,
                                         days_since(k.last_used, now)) for k in facts.keys),
        groups=facts.groups, policies=tuple(p.ref for p in policies), privilege=privilege_of(policies),
        justified=tuple(justified), memberships=memberships)


def _memberships(result: PlanResult, user: str) -> tuple[Membership, ...]:
    found = [Membership(lv.spec.workspace, lv.spec.role or "", member_proof(lv)) for lv in result.live
             if isinstance(lv.spec, MemberSpec) and lv.spec.user == user]
    return tuple(sorted(found, key=lambda m: m.workspace))


def workspace_entry(facts: WorkspaceFacts, manifest: Manifest, managed_ids: set[str]) -> WorkspaceEntry:
    return WorkspaceEntry(name=facts.name, workspace_id=facts.workspace_id,
                          created=_millis(facts.gmt_create_ms), managed=facts.workspace_id in managed_ids,
                          owner=manifest.name if facts.workspace_id in managed_ids else "",
                          declared=any(w.name == facts.name for w in manifest.workspaces),
                          all_models=facts.all_models, granted_models=facts.granted)


def _issued_to(manifest: Manifest, applied: Mapping[str, Spec]) -> dict[tuple[str, str], str]:
    """(workspace, key name) → the user the key is delivered to: the manifest, else what was last applied."""
    found = {(a.workspace, a.key_name): a.issued_to for a in applied.values()
             if isinstance(a, ApiKeySpec) and a.issued_to}
    found.update({(w.name, k.name): k.issued_to for w in manifest.workspaces for k in w.api_keys
                  if k.issued_to})
    return found


def api_key_entry(facts: ApiKeyFacts, workspace: str,
                  issued_to: Mapping[tuple[str, str], str]) -> ApiKeyEntry:
    marked = parse_description(facts.description)
    name = marked[1] if marked and marked[0] == workspace else ""
    return ApiKeyEntry(workspace=workspace, api_key_id=facts.api_key_id, workspace_id=facts.workspace_id,
                       key_name=name, description=facts.description, created_by=facts.created_by,
                       created=_millis(facts.gmt_create_ms), disabled=facts.disabled,
                       all_models=facts.allow_all_models, allowed_models=facts.models,
                       ip_allow_list=facts.ip_allow_list, owner=_key_owner(facts.description),
                       issued_to=facts.issued_to or (issued_to.get((workspace, name)) if name else None))


def _key_owner(description: str) -> str:
    marker = KeyMarker.parse(description)
    return marker.manifest if marker else ""


def endpoint_entry(facts: EndpointFacts) -> EndpointEntry:
    return EndpointEntry(name=facts.name, endpoint_id=facts.endpoint_id, region=facts.region,
                         vpc_id=facts.vpc_id, service_name=facts.service_name, status=facts.status,
                         connection_status=facts.connection_status, domain=facts.domain,
                         managed=facts.managed, owner=facts.owner,
                         zones=tuple(ZoneEntry(z.zone_id, z.vswitch_id, z.status) for z in facts.zones))

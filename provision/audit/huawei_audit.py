"""`provision audit` on Huawei Cloud: the whole account read through ``providers/huawei/read.py``, drawn into
the audit's one access map (``audit/model.py``) and checked by the same checks and renderers.

What maps how: IAM v5 users → users (console = login profile, MFA = a bound device), AK/SKs → access
keys, identity policies → policies (``System``/``Custom``), ModelArts workspaces → workspaces, MaaS API
keys → API keys (an empty ``ip_whitelist`` is "reachable from anywhere"), VPC endpoints → endpoints. A
PUBLIC workspace (every IAM user of the account may use it) is noted. Drift is the planner's.
"""

from __future__ import annotations

from datetime import datetime

from provision.audit.collect import days_since, drift_entries, iso
from provision.audit.findings import audit_report
from provision.audit.model import (
    AccessKeyEntry,
    AccessMap,
    ApiKeyEntry,
    AuditReport,
    ConsoleAccess,
    EndpointEntry,
    PolicyRef,
    UserEntry,
    WorkspaceEntry,
)
from provision.engine.flow import Context, Prepared, make_plan
from provision.errors import ProvisionError
from provision.manifest import Manifest
from provision.providers.huawei.base import TAG_NAME, tag_owner, unmarked
from provision.providers.huawei.clients import HuaweiClients
from provision.providers.huawei.read import ApiKey, HuaweiAccount, User, VpcEndpoint, Workspace, read_account
from provision.providers.huawei.workspaces import parse_marker

NOTES = (
    "Huawei Cloud: workspace access is the workspace's auth_type and its INTERNAL grants (read by API); "
    "ModelArts Studio roles have no API and are not shown.",
    "IAM tokens issued before a revoke may stay valid up to 30 minutes.",
)


def run_audit(prepared: Prepared, context: Context, now: datetime) -> AuditReport:
    """Read the account, build the access map as of ``now`` and run every check on it."""
    clients = context.clients
    if not isinstance(clients, HuaweiClients):
        raise ProvisionError("Huawei audit needs a Huawei Cloud context (cloud.provider: huaweicloud)")
    account = read_account(clients)
    result = make_plan(prepared, context)
    manifest = prepared.manifest
    issued = {(w.name, k.name): k.issued_to for w in manifest.workspaces for k in w.api_keys if k.issued_to}
    public = [w.name for w in account.workspaces if w.visibility == "PUBLIC"]
    notes = NOTES + ((f"PUBLIC workspaces (every IAM user of the account may use them): {', '.join(public)}",)
                     if public else ())
    return audit_report(AccessMap(
        as_of=iso(now), account_id=account.caller.account_id, caller=account.caller.principal_urn,
        manifest=str(prepared.source.manifest), manifest_name=manifest.name, site=manifest.cloud.provider,
        region=account.region,
        users=tuple(user_entry(u, manifest, prepared.desired.expired, now)
                    for u in sorted(account.users, key=lambda u: u.name)),
        workspaces=tuple(workspace_entry(w, manifest) for w in sorted(account.workspaces,
                                                                      key=lambda w: w.name)),
        api_keys=tuple(api_key_entry(k, issued, manifest) for k in account.api_keys),
        endpoints=tuple(endpoint_entry(e, account) for e in account.endpoints),
        drift=tuple(drift_entries(result, prepared.desired.expired, context.state.applied(), issued)),
        notes=notes + account.notes))


def user_entry(user: User, manifest: Manifest, expired: frozenset[str], now: datetime) -> UserEntry:
    declared = next((u for u in manifest.users if u.name == user.name), None)
    owner = tag_owner(user.tags)
    console = None
    if user.login_profile is not None:
        console = ConsoleAccess(mfa_bound=any(d.enabled for d in user.mfa_devices), mfa_required=False,
                                password_reset_required=user.login_profile.password_reset_required)
    policies = tuple(PolicyRef(p.name, "Custom" if p.policy_type == "custom" else "System", p.via)
                     for p in user.policies)
    attaches = ([f"System:{p}" for p in declared.policies.system]
                + [f"Custom:{p}" for p in declared.policies.custom]) if declared else []
    return UserEntry(
        name=user.name, display_name=user.description, created=user.created, managed=owner.managed,
        owner=owner.manifest if owner.managed else "", declared=declared.state if declared else "",
        declared_policies=tuple(attaches),
        expires_at=iso(declared.expires_at) if declared and declared.expires_at else None,
        expired=user.name in expired, console=console,
        access_keys=tuple(AccessKeyEntry(k.access_key_id, k.status.capitalize(), k.created,
                                         days_since(k.created, now), k.last_used, days_since(k.last_used,
                                                                                             now))
                          for k in user.access_keys),
        groups=tuple(g.name for g in user.groups), policies=policies,
        justified=tuple((a.policy, a.reason) for a in declared.allow_privileged) if declared else ())


def workspace_entry(ws: Workspace, manifest: Manifest) -> WorkspaceEntry:
    _, owner = unmarked(ws.description)
    return WorkspaceEntry(name=ws.name, workspace_id=ws.workspace_id, created=ws.created,
                          managed=owner.managed,
                          owner=owner.manifest if owner.managed else "",
                          declared=any(w.name == ws.name for w in manifest.workspaces), all_models=False)


def api_key_entry(key: ApiKey, issued: dict[tuple[str, str], str], manifest: Manifest) -> ApiKeyEntry:
    """A MaaS key; a marked key declared by this manifest is its (the key's marker names no manifest)."""
    marker = parse_marker(key.description)
    workspace, name, to = marker if marker else ("", "", None)
    return ApiKeyEntry(workspace=workspace or "(account)", api_key_id=key.key_id, key_name=name,
                       description=key.description, created=key.created, all_models=True,
                       ip_allow_list=() if key.allow_all else key.ip_whitelist,
                       issued_to=to or (issued.get((workspace, name)) if name else None),
                       owner=_key_owner(manifest, workspace, name) if marker else "")


def _key_owner(manifest: Manifest, workspace: str, name: str) -> str:
    declared = any(w.name == workspace and any(k.name == name for k in w.api_keys)
                   for w in manifest.workspaces)
    return manifest.name if declared else "provision"


def endpoint_entry(e: VpcEndpoint, account: HuaweiAccount) -> EndpointEntry:
    owner = tag_owner(e.tags)
    return EndpointEntry(name=dict(e.tags).get(TAG_NAME) or e.endpoint_id, endpoint_id=e.endpoint_id,
                         region=account.region, vpc_id=e.vpc_id, service_name=e.service_name, status=e.status,
                         domain=e.domains[0] if e.domains else "", managed=owner.managed,
                         owner=owner.manifest if owner.managed else "")

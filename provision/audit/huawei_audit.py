"""`provision audit` on Huawei Cloud: the account read through ``providers/huawei/read.py`` and what only the
manifest, the state file and the plan know (``Declared``) handed to ``audit/huawei.py``, whose access map
and HUAWEI-NNN checks the audit's renderers print like Alibaba's. Drift is the planner's.
"""

from __future__ import annotations

from datetime import datetime

from provision.audit.common import drift_entries, iso
from provision.audit.huawei import Declared, DeclaredUser, huawei_report
from provision.audit.model import AuditReport
from provision.checks.huawei.context import HuaweiContext
from provision.engine.flow import Prepared, make_plan
from provision.manifest import Manifest
from provision.providers.huawei.read import read_account


def run_audit(prepared: Prepared, context: HuaweiContext, now: datetime) -> AuditReport:
    """Read the account, then the plan (its drift), and run the Huawei checks as of ``now``."""
    clients = context.clients
    account = read_account(clients)
    result = make_plan(prepared, context)
    manifest = prepared.manifest
    issued = {(w.name, k.name): k.issued_to for w in manifest.workspaces for k in w.api_keys if k.issued_to}
    drift = tuple(drift_entries(result, prepared.desired.expired, context.state.applied(), issued))
    declared = Declared(manifest=str(prepared.source.manifest), manifest_name=manifest.name,
                        users=tuple(declared_users(manifest)),
                        workspaces=tuple(w.name for w in manifest.workspaces),
                        managed_workspace_ids=tuple(context.state.workspace_ids().values()), drift=drift)
    return huawei_report(account, now, declared)


def declared_users(manifest: Manifest) -> list[DeclaredUser]:
    """What the manifest says of each IAM user: state, expiry, the policies it attaches and why."""
    return [DeclaredUser(u.name, u.state, iso(u.expires_at) if u.expires_at else None,
                         tuple([f"system:{p}" for p in u.policies.system]
                               + [f"custom:{p}" for p in u.policies.custom]),
                         tuple((a.policy, a.reason) for a in u.allow_privileged))
            for u in manifest.users]

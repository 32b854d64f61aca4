"""Who may call what: the identity policies of IAM users and the organization's SCPs (reference §5)."""

from __future__ import annotations

import json
from typing import Any

from provision.emulator.huawei.policy import SYSTEM_BY_ID, Decision, evaluate
from provision.emulator.huawei.routing import HwCtx
from provision.emulator.huawei.state import HuaweiState, HwUser
from provision.emulator.wire import CloudError


def policy_document(state: HuaweiState, policy_id: str) -> dict[str, Any] | None:
    """The default version of a custom policy, or a system policy's document."""
    system = SYSTEM_BY_ID.get(policy_id)
    if system is not None:
        return dict(json.loads(system.document))
    policy = state.policies.get(policy_id)
    if policy is None:
        return None
    version = next(v for v in policy.versions if v.version_id == policy.default_version_id)
    return dict(json.loads(version.document))


def identity_documents(state: HuaweiState, user: HwUser) -> list[dict[str, Any]]:
    """The documents of the user's policies and its groups' policies, each policy once."""
    ids = list(user.policies)
    for group in state.groups.values():
        if user.user_id in group.users:
            ids += [p for p in group.policies if p not in ids]
    return [doc for doc in (policy_document(state, p) for p in dict.fromkeys(ids)) if doc is not None]


def scp_documents(state: HuaweiState) -> list[dict[str, Any]]:
    """The SCPs in force for the account: attached to it or to its organization's root, once the
    ``service_control_policy`` type is enabled."""
    org = state.organization
    if org is None or org.policy_types.get("service_control_policy") != "enabled":
        return []
    entities = {state.domain_id, org.root_id}
    return [json.loads(scp.content) for scp in state.scps.values() if entities & set(scp.attached)]


def request_context(ctx: HwCtx) -> dict[str, str]:
    """The global condition keys of the request (``g:SourceVpce``, ``g:PrincipalAccount``...)."""
    context = {"g:PrincipalAccount": ctx.state.domain_id, "g:RequestedRegion": "cn-southwest-2"}
    if ctx.source_vpce:
        context["g:SourceVpce"] = ctx.source_vpce
    if ctx.caller.user_name:
        context["g:UserName"] = ctx.caller.user_name
    return context


def denied(action: str, decision: Decision, by: str) -> CloudError:
    error = CloudError(
        "PAP5.0001" if by == "identity policy" else "Organizations.SCPDenied",
        f"Access denied: {action} is not allowed ({decision} by {by}).",
        403,
    )
    return error


def authorize(ctx: HwCtx, action: str | None) -> None:
    """Raise 403 unless the caller may call ``action``: SCPs bind every caller of the account (root
    included), identity policies bind IAM users; ``None`` actions always pass."""
    if action is None:
        return
    context = request_context(ctx)
    scps = scp_documents(ctx.state)
    if scps and evaluate(scps, action, context) == "ExplicitDeny":
        raise denied(action, "ExplicitDeny", "a service control policy")
    if ctx.caller.is_root or ctx.caller.via == "apikey":
        return
    user = ctx.state.users.get(ctx.caller.user_id or "")
    documents = identity_documents(ctx.state, user) if user else []
    decision = evaluate(documents, action, context)
    if decision != "Allow":
        raise denied(action, decision, "identity policy")

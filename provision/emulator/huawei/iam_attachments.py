"""IAM v5 policy attachments (reference §3.4-3.5): a policy attached to and detached from users and groups,
and the lists of what is attached where. At most ``MAX_ATTACHED`` policies per user or group.
"""

from __future__ import annotations

from provision.emulator.huawei.iam_common import (
    conflict,
    group_of,
    not_found,
    page,
    quota,
    required_id,
    user_of,
)
from provision.emulator.huawei.iam_policies import MAX_ATTACHED, policy_body
from provision.emulator.huawei.policy import SYSTEM_BY_ID
from provision.emulator.huawei.routing import HwCtx, HwRoute, Reply
from provision.emulator.wire import Body


def _policy_exists(ctx: HwCtx) -> str:
    policy_id = ctx.params["policy_id"]
    if policy_id not in SYSTEM_BY_ID and policy_id not in ctx.state.policies:
        raise not_found("policy", policy_id)
    return policy_id


def _attach(ctx: HwCtx, holder: list[str], what: str) -> Reply:
    policy_id = _policy_exists(ctx)
    if policy_id in holder:
        raise conflict(f"The policy is already attached to the {what}.")
    if len(holder) >= MAX_ATTACHED:
        raise quota(f"The {what} already has {MAX_ATTACHED} attached policies.")
    holder.append(policy_id)
    return Reply(200, None)


def _detach(ctx: HwCtx, holder: list[str], what: str) -> Reply:
    policy_id = _policy_exists(ctx)
    if policy_id not in holder:
        raise not_found(f"attachment of the policy to the {what}", policy_id)
    holder.remove(policy_id)
    return Reply(200, None)


def _user_from_body(ctx: HwCtx) -> list[str]:
    user_id = required_id(ctx.body(), "user_id")
    user = ctx.state.users.get(user_id)
    if user is None:
        raise not_found("user", user_id)
    user.attached_at.setdefault(ctx.params["policy_id"], ctx.now_iso())
    return user.policies


def attach_user(ctx: HwCtx) -> Reply:
    return _attach(ctx, _user_from_body(ctx), "user")


def detach_user(ctx: HwCtx) -> Reply:
    return _detach(ctx, _user_from_body(ctx), "user")


def attach_group(ctx: HwCtx) -> Reply:
    return _attach(ctx, group_of(ctx, required_id(ctx.body(), "group_id")).policies, "group")


def detach_group(ctx: HwCtx) -> Reply:
    return _detach(ctx, group_of(ctx, required_id(ctx.body(), "group_id")).policies, "group")


def _attached_rows(ctx: HwCtx, policy_ids: list[str], times: dict[str, str]) -> list[Body]:
    rows = []
    for policy_id in policy_ids:
        body = policy_body(ctx.state, policy_id)
        if body is not None:
            rows.append(
                {
                    "policy_name": body["policy_name"],
                    "policy_id": policy_id,
                    "urn": body["urn"],
                    "attached_at": times.get(policy_id, body["created_at"]),
                }
            )
    return rows


def list_attached_user_policies(ctx: HwCtx) -> Body:
    user = user_of(ctx)
    return page(ctx, _attached_rows(ctx, user.policies, user.attached_at), "attached_policies")


def list_attached_group_policies(ctx: HwCtx) -> Body:
    return page(ctx, _attached_rows(ctx, group_of(ctx).policies, {}), "attached_policies")


def list_entities_for_policy(ctx: HwCtx) -> Body:
    policy_id = _policy_exists(ctx)
    entity_type = ctx.request.query.get("entity_type")
    users = [
        {"user_id": u.user_id, "attached_at": u.attached_at.get(policy_id, u.created_at)}
        for u in ctx.state.users.values()
        if policy_id in u.policies
    ]
    groups = [
        {"group_id": g.group_id, "attached_at": g.created_at}
        for g in ctx.state.groups.values()
        if policy_id in g.policies
    ]
    result = page(
        ctx,
        users if entity_type != "group" else groups,
        "policy_users" if entity_type != "group" else "policy_groups",
    )
    if entity_type is None:
        result["policy_groups"] = groups
    result.setdefault("policy_users", [])
    result.setdefault("policy_groups", [])
    result["policy_agencies"] = []
    return result

P = "/v5/policies"
G = "/v5/groups"
ROUTES: tuple[HwRoute, ...] = (
    HwRoute(
        "AttachUserPolicyV5", "POST", P + "/{policy_id}/attach-user", attach_user, "iam:users:attachPolicyV5"
    ),
    HwRoute(
        "DetachUserPolicyV5", "POST", P + "/{policy_id}/detach-user", detach_user, "iam:users:detachPolicyV5"
    ),
    HwRoute(
        "AttachGroupPolicyV5",
        "POST",
        P + "/{policy_id}/attach-group",
        attach_group,
        "iam:groups:attachPolicyV5",
    ),
    HwRoute(
        "DetachGroupPolicyV5",
        "POST",
        P + "/{policy_id}/detach-group",
        detach_group,
        "iam:groups:detachPolicyV5",
    ),
    HwRoute(
        "ListEntitiesForPolicyV5",
        "GET",
        P + "/{policy_id}/attached-entities",
        list_entities_for_policy,
        "iam:policies:listEntitiesV5",
    ),
    HwRoute(
        "ListAttachedUserPoliciesV5",
        "GET",
        "/v5/users/{user_id}/attached-policies",
        list_attached_user_policies,
        "iam:users:listAttachedPoliciesV5",
    ),
    HwRoute(
        "ListAttachedGroupPoliciesV5",
        "GET",
        G + "/{group_id}/attached-policies",
        list_attached_group_policies,
        "iam:groups:listAttachedPoliciesV5",
    ),
)

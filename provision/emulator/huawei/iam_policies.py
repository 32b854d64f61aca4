"""IAM v5 identity policies (system and custom, with versions), attachments and groups (reference §3.4-3.5).

A custom policy starts at ``v1``; at most 5 versions (409 ``PAP5.0028``), version ids never reused; the
default version cannot be deleted. A policy that is still attached cannot be deleted; a group with
members or policies cannot be deleted. The limits are listed in docs/emulator.md.
"""

from __future__ import annotations

import re

from provision.emulator.huawei.iam_common import (
    check_description,
    conflict,
    delete_conflict,
    group_body,
    group_of,
    invalid,
    not_found,
    page,
    quota,
    required_id,
    user_of,
)
from provision.emulator.huawei.policy import SYSTEM_BY_ID, SYSTEM_POLICIES, SystemPolicy, parse_document
from provision.emulator.huawei.routing import HwCtx, HwRoute, Reply
from provision.emulator.huawei.state import HuaweiState, HwGroup, HwPolicy, PolicyVersion, hex_id
from provision.emulator.wire import Body, CloudError

POLICY_NAME = re.compile(r"^[A-Za-z0-9_+=.@-]{1,128}$")
GROUP_NAME = re.compile(r"^[\w\u4e00-\u9fff{}\- ]{1,128}$")
PATH = re.compile(r"^([A-Za-z0-9_+=.@-]+/)*$")
MAX_VERSIONS = 5
MAX_CUSTOM = 300  # custom policies per account [UNVERIFIED]
MAX_ATTACHED = 50  # policies attached to one user or group [UNVERIFIED]
MAX_GROUPS = 50  # groups per account [UNVERIFIED]


def _urn(state: HuaweiState, name: str, system: bool) -> str:
    return f"iam::system:policy:{name}" if system else f"iam::{state.domain_id}:policy:{name}"


def _attachments(state: HuaweiState, policy_id: str) -> int:
    users = sum(1 for u in state.users.values() if policy_id in u.policies)
    return users + sum(1 for g in state.groups.values() if policy_id in g.policies)


def _system_body(state: HuaweiState, policy: SystemPolicy) -> Body:
    return {
        "policy_type": "system",
        "policy_name": policy.name,
        "policy_id": policy.policy_id,
        "urn": _urn(state, policy.name, True),
        "path": "",
        "default_version_id": "v1",
        "attachment_count": _attachments(state, policy.policy_id),
        "description": policy.description,
        "created_at": "2024-01-01T00:00:00.000Z",
        "updated_at": "2024-01-01T00:00:00.000Z",
    }


def _custom_body(state: HuaweiState, policy: HwPolicy) -> Body:
    return {
        "policy_type": "custom",
        "policy_name": policy.policy_name,
        "policy_id": policy.policy_id,
        "urn": _urn(state, policy.policy_name, False),
        "path": policy.path,
        "default_version_id": policy.default_version_id,
        "attachment_count": _attachments(state, policy.policy_id),
        "description": policy.description,
        "created_at": policy.created_at,
        "updated_at": policy.updated_at,
    }


def policy_body(state: HuaweiState, policy_id: str) -> Body | None:
    system = SYSTEM_BY_ID.get(policy_id)
    if system is not None:
        return _system_body(state, system)
    custom = state.policies.get(policy_id)
    return _custom_body(state, custom) if custom else None


def _custom_of(ctx: HwCtx) -> HwPolicy:
    policy = ctx.state.policies.get(ctx.params["policy_id"])
    if policy is None:
        if ctx.params["policy_id"] in SYSTEM_BY_ID:
            raise invalid("A system policy cannot be changed.")
        raise not_found("policy", ctx.params["policy_id"])
    return policy


def _document(value: object) -> str:
    if not isinstance(value, str):
        raise invalid("policy_document must be a JSON string.")
    parse_document(value)
    return value


def create_policy(ctx: HwCtx) -> Reply:
    body = ctx.body()
    name = body.get("policy_name")
    if not isinstance(name, str) or not POLICY_NAME.match(name):
        raise invalid("policy_name must be 1-128 letters, digits or _+=.@-.")
    path = str(body.get("path") or "")
    if not PATH.match(path):
        raise CloudError(
            "PAP5.0030", "The path is invalid: segments of [A-Za-z0-9_+=.@-] each ending in /.", 400
        )
    description = check_description(body.get("description"), 1000)
    document = _document(body.get("policy_document"))
    if any(p.policy_name == name for p in ctx.state.policies.values()) or name in {
        p.name for p in SYSTEM_POLICIES
    }:
        raise conflict(f"A policy named {name} already exists.")
    if len(ctx.state.policies) >= MAX_CUSTOM:
        raise quota(f"The account already has {MAX_CUSTOM} custom policies.")
    now = ctx.now_iso()
    policy = HwPolicy(
        policy_id=hex_id(ctx.world, "hw-policy"),
        policy_name=name,
        path=path,
        description=description,
        created_at=now,
        updated_at=now,
        versions=[PolicyVersion(version_id="v1", document=document, created_at=now)],
    )
    ctx.state.policies[policy.policy_id] = policy
    return Reply(201, {"policy": _custom_body(ctx.state, policy)})


def get_policy(ctx: HwCtx) -> Body:
    body = policy_body(ctx.state, ctx.params["policy_id"])
    if body is None:
        raise not_found("policy", ctx.params["policy_id"])
    return {"policy": body}


def list_policies(ctx: HwCtx) -> Body:
    query, state = ctx.request.query, ctx.state
    policy_type = query.get("policy_type")
    if policy_type not in (None, "", "custom", "system"):
        raise invalid("policy_type must be custom or system.")
    rows = [] if policy_type == "custom" else [_system_body(state, p) for p in SYSTEM_POLICIES]
    if policy_type != "system":
        rows += [_custom_body(state, p) for p in state.policies.values()]
    if query.get("path_prefix"):
        rows = [r for r in rows if r["path"].startswith(query["path_prefix"])]
    if query.get("only_attached") == "true":
        rows = [r for r in rows if r["attachment_count"] > 0]
    return page(ctx, rows, "policies")


def update_policy(ctx: HwCtx) -> Reply:
    policy = _custom_of(ctx)
    policy.description = check_description(ctx.body().get("description"), 1000)
    policy.updated_at = ctx.now_iso()
    return Reply(200, None)


def delete_policy(ctx: HwCtx) -> Reply:
    policy = _custom_of(ctx)
    if _attachments(ctx.state, policy.policy_id):
        raise delete_conflict(f"The policy {policy.policy_name} is still attached: detach it first.")
    del ctx.state.policies[policy.policy_id]
    return Reply(204)


# -- versions ---------------------------------------------------------------------------------------------
def _version_body(policy: HwPolicy, version: PolicyVersion) -> Body:
    return {
        "document": version.document,
        "version_id": version.version_id,
        "is_default": version.version_id == policy.default_version_id,
        "created_at": version.created_at,
    }


def _version_of(ctx: HwCtx) -> tuple[HwPolicy, PolicyVersion]:
    policy_id = ctx.params["policy_id"]
    system = SYSTEM_BY_ID.get(policy_id)
    if system is not None:
        policy = HwPolicy(
            policy_id=policy_id,
            policy_name=system.name,
            created_at="",
            updated_at="",
            versions=[PolicyVersion(version_id="v1", document=system.document, created_at="")],
        )
    else:
        policy = _custom_of(ctx)
    version = next((v for v in policy.versions if v.version_id == ctx.params["version_id"]), None)
    if version is None:
        raise not_found("policy version", ctx.params["version_id"])
    return policy, version


def create_version(ctx: HwCtx) -> Reply:
    policy, body = _custom_of(ctx), ctx.body()
    document = _document(body.get("policy_document"))
    if len(policy.versions) >= MAX_VERSIONS:
        raise CloudError(
            "PAP5.0028",
            f"The policy {policy.policy_name} already has {MAX_VERSIONS} versions: "
            "delete a non-default version first.",
            409,
        )
    version = PolicyVersion(version_id=f"v{policy.next_version}", document=document, created_at=ctx.now_iso())
    policy.next_version += 1
    policy.versions.append(version)
    if body.get("set_as_default") is True:
        policy.default_version_id = version.version_id
    policy.updated_at = ctx.now_iso()
    return Reply(201, {"policy_version": _version_body(policy, version)})


def list_versions(ctx: HwCtx) -> Body:
    policy = _custom_of(ctx)
    return page(ctx, [_version_body(policy, v) for v in reversed(policy.versions)], "versions")


def get_version(ctx: HwCtx) -> Body:
    return {"policy_version": _version_body(*_version_of(ctx))}


def delete_version(ctx: HwCtx) -> Reply:
    policy, version = _version_of(ctx)
    if version.version_id == policy.default_version_id:
        raise delete_conflict("The default version cannot be deleted: set another version as default first.")
    policy.versions.remove(version)
    return Reply(204)


def set_default_version(ctx: HwCtx) -> Reply:
    policy, version = _version_of(ctx)
    policy.default_version_id = version.version_id
    policy.updated_at = ctx.now_iso()
    return Reply(200, None)


# -- attachments ------------------------------------------------------------------------------------------
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


# -- groups -----------------------------------------------------------------------------------------------
def create_group(ctx: HwCtx) -> Reply:
    body = ctx.body()
    name = body.get("group_name")
    if not isinstance(name, str) or not GROUP_NAME.match(name):
        raise invalid("group_name must be 1-128 letters, digits, Chinese characters, spaces or _-{}.")
    if any(g.group_name == name for g in ctx.state.groups.values()):
        raise conflict(f"A group named {name} already exists.")
    if len(ctx.state.groups) >= MAX_GROUPS:
        raise quota(f"The account already has {MAX_GROUPS} groups.")
    group = HwGroup(
        group_id=hex_id(ctx.world, "hw-group"),
        group_name=name,
        description=check_description(body.get("description")),
        created_at=ctx.now_iso(),
    )
    ctx.state.groups[group.group_id] = group
    return Reply(201, {"group": group_body(ctx.state, group)})


def list_groups(ctx: HwCtx) -> Body:
    user_id = ctx.request.query.get("user_id")
    groups = [g for g in ctx.state.groups.values() if not user_id or user_id in g.users]
    return page(ctx, [group_body(ctx.state, g) for g in groups], "groups")


def show_group(ctx: HwCtx) -> Body:
    return {"group": group_body(ctx.state, group_of(ctx))}


def update_group(ctx: HwCtx) -> Reply:
    group, body = group_of(ctx), ctx.body()
    if "new_group_name" in body:
        name = body["new_group_name"]
        if not isinstance(name, str) or not GROUP_NAME.match(name):
            raise invalid("new_group_name is not valid.")
        if any(g.group_name == name and g.group_id != group.group_id for g in ctx.state.groups.values()):
            raise conflict(f"A group named {name} already exists.")
        group.group_name = name
    if "new_description" in body:
        group.description = check_description(body["new_description"])
    return Reply(200, None)


def delete_group(ctx: HwCtx) -> Reply:
    group = group_of(ctx)
    if group.users or group.policies:
        raise delete_conflict(f"The group {group.group_name} still has members or attached policies.")
    del ctx.state.groups[group.group_id]
    return Reply(204)


def add_user(ctx: HwCtx) -> Reply:
    group, user_id = group_of(ctx), required_id(ctx.body(), "user_id")
    if user_id not in ctx.state.users:
        raise not_found("user", user_id)
    if user_id in group.users:
        raise conflict(f"The user is already a member of {group.group_name}.")
    group.users.append(user_id)
    return Reply(200, None)


def remove_user(ctx: HwCtx) -> Reply:
    group, user_id = group_of(ctx), required_id(ctx.body(), "user_id")
    if user_id not in group.users:
        raise not_found(f"member of group {group.group_name}", user_id)
    group.users.remove(user_id)
    return Reply(200, None)


P = "/v5/policies"
G = "/v5/groups"
ROUTES: tuple[HwRoute, ...] = (
    HwRoute("CreatePolicyV5", "POST", P, create_policy, "iam:policies:createV5"),
    HwRoute("ListPoliciesV5", "GET", P, list_policies, "iam:policies:listV5"),
    HwRoute("GetPolicyV5", "GET", P + "/{policy_id}", get_policy, "iam:policies:getV5"),
    HwRoute("UpdatePolicyV5", "PUT", P + "/{policy_id}", update_policy, "iam:policies:updateV5"),
    HwRoute("DeletePolicyV5", "DELETE", P + "/{policy_id}", delete_policy, "iam:policies:deleteV5"),
    HwRoute(
        "CreatePolicyVersionV5",
        "POST",
        P + "/{policy_id}/versions",
        create_version,
        "iam:policies:createVersionV5",
    ),
    HwRoute(
        "ListPolicyVersionsV5",
        "GET",
        P + "/{policy_id}/versions",
        list_versions,
        "iam:policies:listVersionsV5",
    ),
    HwRoute(
        "GetPolicyVersionV5",
        "GET",
        P + "/{policy_id}/versions/{version_id}",
        get_version,
        "iam:policies:getVersionV5",
    ),
    HwRoute(
        "DeletePolicyVersionV5",
        "DELETE",
        P + "/{policy_id}/versions/{version_id}",
        delete_version,
        "iam:policies:deleteVersionV5",
    ),
    HwRoute(
        "SetDefaultPolicyVersionV5",
        "POST",
        P + "/{policy_id}/versions/{version_id}/set-default",
        set_default_version,
        "iam:policies:setDefaultVersionV5",
    ),
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
    HwRoute("CreateGroupV5", "POST", G, create_group, "iam:groups:createGroupV5"),
    HwRoute("ListGroupsV5", "GET", G, list_groups, "iam:groups:listGroupsV5"),
    HwRoute("ShowGroupV5", "GET", G + "/{group_id}", show_group, "iam:groups:getGroupV5"),
    HwRoute("UpdateGroupV5", "PUT", G + "/{group_id}", update_group, "iam:groups:updateGroupV5"),
    HwRoute("DeleteGroupV5", "DELETE", G + "/{group_id}", delete_group, "iam:groups:deleteGroupV5"),
    HwRoute("AddUserToGroupV5", "POST", G + "/{group_id}/add-user", add_user, "iam:groups:addUserV5"),
    HwRoute(
        "RemoveUserFromGroupV5", "POST", G + "/{group_id}/remove-user", remove_user, "iam:groups:removeUserV5"
    ),
)

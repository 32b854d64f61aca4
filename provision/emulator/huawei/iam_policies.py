"""IAM v5 identity policies, system and custom, with versions (reference §3.4; their attachments to users and
groups: ``iam_attachments.py``; the groups: ``iam_groups.py``).

A custom policy starts at ``v1``; at most 5 versions (409 ``PAP5.0028``), version ids never reused; the
default version cannot be deleted. A policy that is still attached cannot be deleted. The limits are listed
in docs/emulator.md.
"""

from __future__ import annotations

import re

from provision.emulator.huawei.iam_common import (
    check_description,
    conflict,
    delete_conflict,
    invalid,
    not_found,
    page,
    quota,
)
from provision.emulator.huawei.policy import SYSTEM_BY_ID, SYSTEM_POLICIES, SystemPolicy, parse_document
from provision.emulator.huawei.routing import HwCtx, HwRoute, Reply
from provision.emulator.huawei.state import HuaweiState, HwPolicy, PolicyVersion, hex_id
from provision.emulator.wire import Body, CloudError

POLICY_NAME = re.compile(r"^[A-Za-z0-9_+=.@-]{1,128}$")
PATH = re.compile(r"^([A-Za-z0-9_+=.@-]+/)*$")
MAX_VERSIONS = 5
MAX_CUSTOM = 300  # custom policies per account [UNVERIFIED]
MAX_ATTACHED = 50  # policies attached to one user or group [UNVERIFIED]


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


P = "/v5/policies"
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
)

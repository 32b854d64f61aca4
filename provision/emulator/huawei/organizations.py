"""Organizations: the account's organization, its root, SCPs and their attachments (reference §3.9).

Each seeded account is the management account of its own organization (root ``r-...``). SCPs need
``enable_policy_type(service_control_policy)`` first; enabling attaches the built-in ``FullAccess``
SCP to the root. SCPs attached to the account or the root bind every caller of the account (see
``authz.scp_documents``): an explicit ``Deny`` wins, nothing else is required to allow.
"""

from __future__ import annotations

import json
import re
from typing import Any

from provision.emulator.huawei.errors import ORGANIZATIONS
from provision.emulator.huawei.policy import parse_document
from provision.emulator.huawei.routing import HwCtx, HwRoute, Reply
from provision.emulator.huawei.state import HuaweiState, Organization, Scp, hex_id
from provision.emulator.paging import MARKER, TokenPaging
from provision.emulator.wire import Body, CloudError

SCP_TYPE = "service_control_policy"
POLICY_TYPES = (SCP_TYPE, "tag_policy")
MAX_POLICIES = 1000  # [UNVERIFIED]
MAX_PER_ENTITY = 5  # SCPs attached to one entity [UNVERIFIED]
MAX_CONTENT = 20000
NAME = re.compile(r"^[\w\-+=.@ ]{1,64}$")
PAGING = TokenPaging(
    default=200,
    limit=2000,
    tokens=MARKER,
    bad_size=("Organizations.1001", "The parameter limit must be from 1 to 2000."),
    bad_token=("Organizations.1001", "The marker is invalid."),
)
FULL_ACCESS = json.dumps(
    {"Version": "5.0", "Statement": [{"Effect": "Allow", "Action": ["*"], "Resource": ["*"]}]}
)


bad, not_found, conflict = ORGANIZATIONS.invalid, ORGANIZATIONS.not_found, ORGANIZATIONS.conflict


def organization(ctx: HwCtx) -> Organization:
    if ctx.state.organization is None:
        raise not_found("organization of account", ctx.state.domain_name)
    return ctx.state.organization


def ensure_organization(state: HuaweiState, org_id: str, root_id: str, now: str) -> None:
    """The seed's organization, with the built-in ``FullAccess`` SCP."""
    state.organization = Organization(
        id=org_id,
        root_id=root_id,
        created_at=now,
        policy_types={SCP_TYPE: "disabled", "tag_policy": "disabled"},
    )
    state.scps["p-FullAccess"] = Scp(
        policy_id="p-FullAccess",
        name="FullAccess",
        content=FULL_ACCESS,
        description="The built-in SCP allowing every action.",
        created_at=now,
        is_builtin=True,
    )


def _page(ctx: HwCtx, items: list[Body], key: str) -> Body:
    size = ctx.query_int("limit", PAGING.default, 1, PAGING.limit, "Organizations.1001")
    result = PAGING.page(items, size, ctx.request.query.get("marker"))
    return {
        key: result.items,
        "page_info": {"next_marker": result.next_token, "current_count": len(result.items)},
    }


def _root_body(ctx: HwCtx, org: Organization) -> Body:
    return {
        "id": org.root_id,
        "urn": f"organizations::{ctx.state.domain_id}:root:{org.id}/{org.root_id}",
        "name": "Root",
        "created_at": org.created_at,
        "policy_types": [{"type": t, "status": s} for t, s in org.policy_types.items() if s == "enabled"],
    }


def show_organization(ctx: HwCtx) -> Body:
    org = organization(ctx)
    return {
        "organization": {
            "id": org.id,
            "urn": f"organizations::{ctx.state.domain_id}:organization:{org.id}",
            "management_account_id": ctx.state.domain_id,
            "management_account_name": ctx.state.domain_name,
            "created_at": org.created_at,
        }
    }


def list_roots(ctx: HwCtx) -> Body:
    return _page(ctx, [_root_body(ctx, organization(ctx))], "roots")


def _policy_type_change(ctx: HwCtx, status: str) -> Body:
    org, body = organization(ctx), ctx.body()
    policy_type, root_id = body.get("policy_type"), body.get("root_id")
    if policy_type not in POLICY_TYPES:
        raise bad(f"policy_type must be one of {', '.join(POLICY_TYPES)}.")
    if root_id != org.root_id:
        raise not_found("root", str(root_id))
    if org.policy_types.get(str(policy_type)) == status:
        raise conflict(f"The policy type {policy_type} is already {status}.")
    org.policy_types[str(policy_type)] = status
    if policy_type == SCP_TYPE:
        full = ctx.state.scps.get("p-FullAccess")
        if full is not None:
            full.attached = [org.root_id] if status == "enabled" else []
    return {"root": _root_body(ctx, org)}


def enable_policy_type(ctx: HwCtx) -> Body:
    return _policy_type_change(ctx, "enabled")


def disable_policy_type(ctx: HwCtx) -> Body:
    return _policy_type_change(ctx, "disabled")


def _summary(ctx: HwCtx, scp: Scp) -> Body:
    return {
        "is_builtin": scp.is_builtin,
        "description": scp.description,
        "id": scp.policy_id,
        "urn": f"organizations::{ctx.state.domain_id}:policy:{organization(ctx).id}/{scp.type}/"
        f"{scp.policy_id}",
        "name": scp.name,
        "type": scp.type,
    }


def _policy_body(ctx: HwCtx, scp: Scp) -> Body:
    return {"policy": {"content": scp.content, "policy_summary": _summary(ctx, scp)}}


def _content(value: Any) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_CONTENT:
        raise bad(f"content must be a JSON string of at most {MAX_CONTENT} characters.")
    try:
        parse_document(value)
    except CloudError as error:
        raise bad(f"content: {error.message}") from None
    return value


def create_policy(ctx: HwCtx) -> Reply:
    organization(ctx)
    body = ctx.body()
    name, policy_type = body.get("name"), body.get("type")
    if not isinstance(name, str) or not NAME.match(name):
        raise bad("name must be 1-64 letters, digits, spaces or _-+=.@.")
    if policy_type not in POLICY_TYPES:
        raise bad(f"type must be one of {', '.join(POLICY_TYPES)}.")
    description = body.get("description")
    if not isinstance(description, str) or len(description) > 512:
        raise bad("description (at most 512 characters) is required.")
    content = _content(body.get("content"))
    if any(s.name == name and s.type == policy_type for s in ctx.state.scps.values()):
        raise conflict(f"A policy named {name} already exists.")
    if len(ctx.state.scps) >= MAX_POLICIES:
        raise ORGANIZATIONS.quota(f"The organization already has {MAX_POLICIES} policies.")
    scp = Scp(
        policy_id="p-" + hex_id(ctx.world, "hw-scp"),
        name=name,
        description=description,
        content=content,
        type=str(policy_type),
        created_at=ctx.now_iso(),
    )
    ctx.state.scps[scp.policy_id] = scp
    return Reply(201, _policy_body(ctx, scp))


def _scp_of(ctx: HwCtx) -> Scp:
    scp = ctx.state.scps.get(ctx.params["policy_id"])
    if scp is None:
        raise not_found("policy", ctx.params["policy_id"])
    return scp


def list_policies(ctx: HwCtx) -> Body:
    organization(ctx)
    entity = ctx.request.query.get("attached_entity_id")
    scps = [s for s in ctx.state.scps.values() if not entity or entity in s.attached]
    return _page(ctx, [_summary(ctx, s) for s in scps], "policies")


def show_policy(ctx: HwCtx) -> Body:
    return _policy_body(ctx, _scp_of(ctx))


def update_policy(ctx: HwCtx) -> Body:
    scp, body = _scp_of(ctx), ctx.body()
    if scp.is_builtin:
        raise bad("A built-in policy cannot be changed.")
    if "name" in body:
        if not isinstance(body["name"], str) or not NAME.match(body["name"]):
            raise bad("name must be 1-64 letters, digits, spaces or _-+=.@.")
        if any(s.name == body["name"] and s.policy_id != scp.policy_id for s in ctx.state.scps.values()):
            raise conflict(f"A policy named {body['name']} already exists.")
        scp.name = body["name"]
    if "description" in body:
        scp.description = str(body["description"] or "")
    if "content" in body:
        scp.content = _content(body["content"])
    return _policy_body(ctx, scp)


def delete_policy(ctx: HwCtx) -> Reply:
    scp = _scp_of(ctx)
    if scp.is_builtin:
        raise bad("A built-in policy cannot be deleted.")
    if scp.attached:
        raise CloudError(
            "Organizations.1013",
            f"The policy {scp.name} is attached to {', '.join(scp.attached)}: detach it first.",
            409,
        )
    del ctx.state.scps[scp.policy_id]
    return Reply(204)


def _entity(ctx: HwCtx) -> str:
    entity_id = ctx.body().get("entity_id")
    if entity_id not in (ctx.state.domain_id, organization(ctx).root_id):
        raise not_found("entity", str(entity_id))
    return str(entity_id)


def attach_policy(ctx: HwCtx) -> Reply:
    scp, entity_id = _scp_of(ctx), _entity(ctx)
    if organization(ctx).policy_types.get(scp.type) != "enabled":
        raise bad(f"The policy type {scp.type} is not enabled on the root: call enable_policy_type first.")
    if entity_id in scp.attached:
        raise conflict(f"The policy {scp.name} is already attached to {entity_id}.")
    if (
        sum(1 for s in ctx.state.scps.values() if entity_id in s.attached and s.type == scp.type)
        >= MAX_PER_ENTITY
    ):
        raise ORGANIZATIONS.quota(f"The entity {entity_id} already has {MAX_PER_ENTITY} policies.")
    scp.attached.append(entity_id)
    return Reply(200, None)


def detach_policy(ctx: HwCtx) -> Reply:
    scp, entity_id = _scp_of(ctx), _entity(ctx)
    if entity_id not in scp.attached:
        raise not_found(f"attachment of policy {scp.name} to", entity_id)
    scp.attached.remove(entity_id)
    return Reply(200, None)


def list_entities_for_policy(ctx: HwCtx) -> Body:
    scp, org = _scp_of(ctx), organization(ctx)
    rows = [
        {
            "id": e,
            "name": "Root" if e == org.root_id else ctx.state.domain_name,
            "type": "root" if e == org.root_id else "account",
        }
        for e in scp.attached
    ]
    return _page(ctx, rows, "attached_entities")


ORG = "/v1/organizations"
ROUTES: tuple[HwRoute, ...] = (
    HwRoute("ShowOrganization", "GET", ORG, show_organization, "organizations:organizations:get"),
    HwRoute("ListRoots", "GET", ORG + "/roots", list_roots, "organizations:roots:list"),
    HwRoute(
        "EnablePolicyType",
        "POST",
        ORG + "/policies/enable",
        enable_policy_type,
        "organizations:policyTypes:enable",
    ),
    HwRoute(
        "DisablePolicyType",
        "POST",
        ORG + "/policies/disable",
        disable_policy_type,
        "organizations:policyTypes:disable",
    ),
    HwRoute("CreatePolicy", "POST", ORG + "/policies", create_policy, "organizations:policies:create"),
    HwRoute("ListPolicies", "GET", ORG + "/policies", list_policies, "organizations:policies:list"),
    HwRoute("ShowPolicy", "GET", ORG + "/policies/{policy_id}", show_policy, "organizations:policies:get"),
    HwRoute(
        "UpdatePolicy", "PATCH", ORG + "/policies/{policy_id}", update_policy, "organizations:policies:update"
    ),
    HwRoute(
        "DeletePolicy",
        "DELETE",
        ORG + "/policies/{policy_id}",
        delete_policy,
        "organizations:policies:delete",
    ),
    HwRoute(
        "AttachPolicy",
        "POST",
        ORG + "/policies/{policy_id}/attach",
        attach_policy,
        "organizations:policies:attach",
    ),
    HwRoute(
        "DetachPolicy",
        "POST",
        ORG + "/policies/{policy_id}/detach",
        detach_policy,
        "organizations:policies:detach",
    ),
    HwRoute(
        "ListEntitiesForPolicy",
        "GET",
        ORG + "/policies/{policy_id}/attached-entities",
        list_entities_for_policy,
        "organizations:policies:listAttachedEntities",
    ),
)

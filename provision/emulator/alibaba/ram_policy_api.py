"""RAM 2015-05-01 wire handlers for policies: custom policies and versions, attachments to users
and groups, and policy tags (``ResourceNames`` / ``Tag`` / ``TagKeys`` arrive as JSON strings).
"""

from __future__ import annotations

import json
from typing import Any

from provision.emulator.alibaba import ram_custom as pol
from provision.emulator.alibaba import ram_rules as rules
from provision.emulator.alibaba.ram_state import (
    TAG_PAGING,
    Attachment,
    Group,
    PolicyType,
    User,
    ok,
    paged_body,
    ram_error,
)
from provision.emulator.wire import Body, Ctx, Handler, Request


def _json_param(req: Request, name: str) -> Any:
    """A parameter the SDK JSON-stringifies (``ResourceNames``, ``Tag``, ``TagKeys``); None if absent."""
    raw = req.get(name)
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise ram_error(f"InvalidParameter.{name}",
                        f'The parameter - "{name}" must be a JSON array.') from None


def _str_list(req: Request, name: str) -> list[str]:
    value = _json_param(req, name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ram_error(f"InvalidParameter.{name}",
                        f'The parameter - "{name}" must be a JSON array of strings.')
    return value


def _tag_filter(req: Request) -> list[tuple[str, str | None]]:
    """``Tag=[{"Key":"k","Value":"v"}]``; Value may be missing in filters."""
    value = _json_param(req, "Tag") or []
    if not isinstance(value, list) or not all(isinstance(t, dict) and isinstance(t.get("Key"), str)
                                              for t in value):
        raise ram_error("InvalidParameter.Tag", 'The parameter - "Tag" must be a JSON array of {Key, Value}.')
    return [(t["Key"], None if t.get("Value") is None else str(t["Value"])) for t in value]


def _tags(req: Request) -> list[tuple[str, str]]:
    return [(k, v or "") for k, v in _tag_filter(req)]


def _policy_json(v: pol.PolicyView, ctx: Ctx | None = None, tags: bool = False) -> Body:
    """A policy as RAM answers it: ``AttachmentCount`` with ``ctx`` (not in UpdatePolicyDescription),
    ``Tags`` only where the SDK model has them (ListPolicies)."""
    body: Body = {"PolicyName": v.policy_name, "PolicyType": v.policy_type, "Description": v.description,
                  "DefaultVersion": v.default_version, "CreateDate": v.create_date,
                  "UpdateDate": v.update_date}
    if ctx is not None:
        body["AttachmentCount"] = len(pol.entities_for_policy(ctx, v.policy_type, v.policy_name))
    if tags:
        body["Tags"] = {"Tag": [{"TagKey": k, "TagValue": val} for k, val in v.tags.items()]}
    return body


def _version_json(v: pol.VersionView) -> Body:
    return {"VersionId": v.version_id, "PolicyDocument": v.document, "IsDefaultVersion": v.is_default,
            "CreateDate": v.create_date}


def _attachments_json(ctx: Ctx, attachments: list[Attachment]) -> Body:
    items = []
    for a in attachments:
        view = pol.get_policy(ctx, a.policy_type, a.policy_name)
        items.append({"PolicyName": a.policy_name, "PolicyType": a.policy_type, "AttachDate": a.attach_date,
                      "Description": view.description, "DefaultVersion": view.default_version})
    return ok(Policies={"Policy": items})


def _policy_type(req: Request) -> PolicyType:
    return pol.check_policy_type(req.require("PolicyType"))


# -- policies ---------------------------------------------------------------------------------------
def create_policy(ctx: Ctx, req: Request) -> Body:
    """CreatePolicy (v1, optional Tag); 409 EntityAlreadyExists.Policy, 400 MalformedPolicyDocument."""
    p = pol.create_policy(ctx, req.require("PolicyName"), req.require("PolicyDocument"),
                          req.get("Description"), _tags(req))
    return ok(Policy={"PolicyName": p.policy_name, "PolicyType": "Custom", "Description": p.description,
                       "DefaultVersion": p.default_version, "CreateDate": p.create_date})


def get_policy(ctx: Ctx, req: Request) -> Body:
    """GetPolicy with its DefaultPolicyVersion; 404 ``EntityNotExist.Policy``."""
    ptype, name = _policy_type(req), req.require("PolicyName")
    view = pol.get_policy(ctx, ptype, name)
    default = pol.get_policy_version(ctx, ptype, name, view.default_version)
    return ok(Policy={**_policy_json(view, ctx), "PolicyDocument": view.document},
              DefaultPolicyVersion=_version_json(default))


def get_policy_version(ctx: Ctx, req: Request) -> Body:
    """GetPolicyVersion; 404 ``EntityNotExist.Policy.Version``."""
    version = pol.get_policy_version(ctx, _policy_type(req), req.require("PolicyName"),
                                     req.require("VersionId"))
    return ok(PolicyVersion=_version_json(version))


def list_policies(ctx: Ctx, req: Request) -> Body:
    """ListPolicies: PolicyType and Tag (JSON) filters, Marker/MaxItems paging."""
    ptype = pol.check_policy_type(req.get("PolicyType")) if req.get("PolicyType") else None
    wanted = _tag_filter(req)
    found = [v for v in pol.all_policies(ctx, ptype) if pol.tags_match(v.tags, wanted)]
    return paged_body(req, found, "Policies", "Policy", lambda v: _policy_json(v, ctx, tags=True))


def create_policy_version(ctx: Ctx, req: Request) -> Body:
    """CreatePolicyVersion: max 5, 409 ``LimitExceeded.Policy.Version`` unless RotateStrategy rotates."""
    version = pol.create_policy_version(ctx, req.require("PolicyName"), req.require("PolicyDocument"),
                                        bool(req.get_bool("SetAsDefault")), req.get("RotateStrategy"))
    return ok(PolicyVersion=_version_json(version))


def list_policy_versions(ctx: Ctx, req: Request) -> Body:
    """ListPolicyVersions, oldest first."""
    versions = pol.policy_versions(ctx, _policy_type(req), req.require("PolicyName"))
    return ok(PolicyVersions={"PolicyVersion": [_version_json(v) for v in versions]})


def set_default_policy_version(ctx: Ctx, req: Request) -> Body:
    """SetDefaultPolicyVersion; idempotent for the current default."""
    pol.set_default_version(ctx, req.require("PolicyName"), req.require("VersionId"))
    return ok()


def delete_policy_version(ctx: Ctx, req: Request) -> Body:
    """DeletePolicyVersion; 409 ``DeleteConflict.Policy.Version.Default`` for the default one."""
    pol.delete_policy_version(ctx, req.require("PolicyName"), req.require("VersionId"))
    return ok()


def delete_policy(ctx: Ctx, req: Request) -> Body:
    """DeletePolicy; 409 ``DeleteConflict.Policy.*`` unless CascadingDelete=true."""
    pol.delete_policy(ctx, req.require("PolicyName"), bool(req.get_bool("CascadingDelete")))
    return ok()


def update_policy_description(ctx: Ctx, req: Request) -> Body:
    """UpdatePolicyDescription of a custom policy."""
    name = req.require("PolicyName")
    pol.update_description(ctx, name, req.get("NewDescription") or "")
    return ok(Policy=_policy_json(pol.get_policy(ctx, "Custom", name)))


def list_entities_for_policy(ctx: Ctx, req: Request) -> Body:
    """ListEntitiesForPolicy: users and groups (roles are not emulated: always empty)."""
    found = pol.entities_for_policy(ctx, _policy_type(req), req.require("PolicyName"))
    users = [{"UserId": e.user_id, "UserName": e.user_name, "DisplayName": e.display_name,
              "AttachDate": a.attach_date} for e, a in found if isinstance(e, User)]
    groups = [{"GroupName": e.group_name, "Comments": e.comments, "AttachDate": a.attach_date}
              for e, a in found if isinstance(e, Group)]
    return ok(Users={"User": users}, Groups={"Group": groups}, Roles={"Role": []})


# -- tags -------------------------------------------------------------------------------------------
def tag_resources(ctx: Ctx, req: Request) -> Body:
    """TagResources (ResourceType=policy; ResourceNames and Tag as JSON strings); overwrites values."""
    pol.tag_resources(ctx, req.require("ResourceType"), _str_list(req, "ResourceNames"), _tags(req))
    return ok()


def untag_resources(ctx: Ctx, req: Request) -> Body:
    """UntagResources (TagKeys as a JSON string, or All=true); absent keys are ignored."""
    pol.untag_resources(ctx, req.require("ResourceType"), _str_list(req, "ResourceNames"),
                        _str_list(req, "TagKeys"), bool(req.get_bool("All")))
    return ok()


def list_tag_resources(ctx: Ctx, req: Request) -> Body:
    """ListTagResources: one row per resource and tag, NextToken/PageSize (1-100, default 50) paging."""
    rows = pol.tag_rows(ctx, req.require("ResourceType"), _str_list(req, "ResourceNames"), _tag_filter(req))
    found = TAG_PAGING.page(rows, req.get_int("PageSize"), req.get("NextToken"))
    body = ok(TagResources=[{"ResourceName": r.resource_name, "ResourceType": "policy", "TagKey": r.key,
                              "TagValue": r.value} for r in found.items])
    if found.next_token:
        body["NextToken"] = found.next_token
    return body


# -- attachments ------------------------------------------------------------------------------------
def _attach_args(req: Request) -> tuple[PolicyType, str, str]:
    return _policy_type(req), req.require("PolicyName"), req.get("ResourceGroupId") or ""


def _holder(ctx: Ctx, req: Request, holder: pol.Holder) -> User | Group:
    """The user (``UserName``) or group (``GroupName``) the call names; 404 when it does not exist."""
    if holder == "User":
        return rules.get_user(ctx, req.require("UserName"))
    return rules.get_group(ctx, req.require("GroupName"))


def attachment_handlers(holder: pol.Holder) -> dict[str, Handler]:
    """The handlers of AttachPolicyTo<Holder>, DetachPolicyFrom<Holder> and ListPoliciesFor<Holder>."""

    def attach(ctx: Ctx, req: Request) -> Body:
        """AttachPolicyTo{User,Group}; repeat → 409 ``EntityAlreadyExists.<Holder>.Policy``."""
        pol.attach_policy(ctx, holder, _holder(ctx, req, holder), *_attach_args(req))
        return ok()

    def detach(ctx: Ctx, req: Request) -> Body:
        """DetachPolicyFrom{User,Group}; not attached → 404 ``EntityNotExist.<Holder>.Policy``."""
        pol.detach_policy(holder, _holder(ctx, req, holder), *_attach_args(req))
        return ok()

    def list_for(ctx: Ctx, req: Request) -> Body:
        """ListPoliciesFor{User,Group} (no paging)."""
        return _attachments_json(ctx, _holder(ctx, req, holder).policies)

    return {f"AttachPolicyTo{holder}": attach, f"DetachPolicyFrom{holder}": detach,
            f"ListPoliciesFor{holder}": list_for}


POLICY_HANDLERS: dict[str, Handler] = {
    "CreatePolicy": create_policy,
    "GetPolicy": get_policy,
    "GetPolicyVersion": get_policy_version,
    "ListPolicies": list_policies,
    "CreatePolicyVersion": create_policy_version,
    "ListPolicyVersions": list_policy_versions,
    "SetDefaultPolicyVersion": set_default_policy_version,
    "DeletePolicyVersion": delete_policy_version,
    "DeletePolicy": delete_policy,
    "UpdatePolicyDescription": update_policy_description,
    "ListEntitiesForPolicy": list_entities_for_policy,
    "TagResources": tag_resources,
    "UntagResources": untag_resources,
    "ListTagResources": list_tag_resources,
    **attachment_handlers("User"),
    **attachment_handlers("Group"),
}

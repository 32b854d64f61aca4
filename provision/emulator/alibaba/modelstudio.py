"""Model Studio 2026-02-10 (ROA, camelCase): workspaces, catalog, model grants and API keys.

Thin handlers over ``modelstudio_rules`` (state in ``modelstudio_state``): parse the wire, call a rule,
serialise. Every route's RAM action is ``modelstudio:<Action>``. The seed section ``modelstudio`` holds
``apps`` (agent apps, placed by workspace name), an optional ``models`` catalog override and optional
``workspaces``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from provision.emulator.alibaba.modelstudio_catalog import CatalogModel
from provision.emulator.alibaba.modelstudio_rules import (
    GrantChange,
    create_api_key,
    create_workspace,
    delete_api_key,
    delete_workspace,
    enable_api_key,
    find_api_key,
    find_workspaces,
    get_api_key,
    member_role,
    model_granted,
    permission_rows,
    remove_member,
    reset_api_key,
    set_member,
    update_permissions,
    validate_auth,
)
from provision.emulator.alibaba.modelstudio_state import (
    MAX_GRANTS_PER_CALL,
    ApiKey,
    ApiKeyAuth,
    App,
    AuthType,
    ModelStudioState,
    Role,
    Workspace,
    catalog,
    model_known,
    ms_error,
    ms_state,
)
from provision.emulator.paging import DECIMAL, TokenPaging
from provision.emulator.wire import Body, Ctx, Handler, Request, Route, Service, roa_route
from provision.emulator.world import World

VERSION = "2026-02-10"
MAX_PAGE = 100  # the largest maxResults accepted [UNVERIFIED]
PAGING = TokenPaging(20, MAX_PAGE, DECIMAL,
                     ("InvalidParameter.maxResults", f"maxResults must be 1 to {MAX_PAGE}."),
                     ("InvalidParameter.nextToken", "The nextToken is invalid."), "ROA")
T = TypeVar("T")

__all__ = ["SERVICE", "ApiKey", "ModelStudioState", "find_api_key", "member_role", "model_granted",
           "model_known", "remove_member", "set_member"]


# -- wire helpers -------------------------------------------------------------------------------------
def ok(error_message_style: bool = False, **parts: Any) -> Body:
    """A success body; some actions name the message field ``errorMessage`` (empty on success)."""
    status: Body = {"errorMessage": ""} if error_message_style else {"message": ""}
    return {"requestId": str(uuid.uuid4()).upper(), "success": True, "code": "Success",
            "httpStatusCode": 200, **status, **parts}


def page(req: Request, items: Sequence[T], default: int = 20) -> tuple[list[T], Body]:
    """One page (``nextToken`` is an offset) and the paging fields of the response."""
    found = PAGING.page(items, req.get_int("maxResults", default, "ROA"), req.get("nextToken"))
    fields: Body = {"maxResults": found.size, "totalCount": found.total}
    if found.next_token:
        fields["nextToken"] = found.next_token
    return found.items, fields


def _json_list(req: Request, name: str) -> list[str]:
    raw = req.get(name)
    if not raw:
        return []
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ms_error(f"InvalidParameter.{name}", f"{name} must be a JSON array of strings.")
    return value


def _workspace_json(ws: Workspace) -> Body:
    return {"workspaceId": ws.workspace_id, "workspaceName": ws.workspace_name, "region": ws.region,
            "serviceSite": ws.service_site, "apiHost": ws.api_host, "gmtCreate": ws.gmt_create}


def _auth_json(auth: ApiKeyAuth) -> Body:
    return {"type": auth.type, "accessIps": list(auth.access_ips),
            "modelAccessScope": {"allowAllModels": auth.allow_all_models,
                                 "accessibleModels": list(auth.accessible_models)}}


def _key_json(ctx: Ctx, key: ApiKey) -> Body:
    """A key as Get/List show it: the value masked, ``disabled`` 0/1."""
    ws = ms_state(ctx.world, ctx.account_id).workspaces.get(key.workspace_id)
    return {"apiKeyId": key.api_key_id, "apiKeyValue": key.masked, "workspaceId": key.workspace_id,
            "workspaceName": ws.workspace_name if ws else "", "description": key.description,
            "createdBy": key.created_by, "gmtCreate": key.gmt_create, "disabled": 0 if key.usable else 1,
            "auth": _auth_json(key.auth)}


def _parse_auth(req: Request) -> ApiKeyAuth | None:
    """The ``auth.*`` form fields, None when absent (the whole object is sent or nothing)."""
    if not any(k.startswith("auth.") for k in req.form):
        return None
    raw_type = req.get("auth.type") or "All"
    if raw_type not in ("All", "Custom"):
        raise ms_error("InvalidParameter.auth.type", "auth.type must be All or Custom.")
    auth_type: AuthType = "Custom" if raw_type == "Custom" else "All"
    allow_all = req.get_bool("auth.modelAccessScope.allowAllModels", True)
    return ApiKeyAuth(type=auth_type, access_ips=req.get_list("auth.accessIps"),
                      allow_all_models=bool(allow_all),
                      accessible_models=req.get_list("auth.modelAccessScope.accessibleModels"))


def _path(req: Request, name: str) -> str:
    return req.path_params[name]


# -- workspaces ---------------------------------------------------------------------------------------
def h_create_workspace(ctx: Ctx, req: Request) -> Body:
    """CreateWorkspace: a new workspace in the request's region; not idempotent (no client token)."""
    ws = create_workspace(ctx.world, ctx.account_id, req.require("workspaceName", "ROA"),
                          req.region or ctx.world.default_region, req.get("serviceSite") or "")
    return ok(workspace=_workspace_json(ws))


def h_list_workspaces(ctx: Ctx, req: Request) -> Body:
    """ListWorkspaces: exact workspaceId, fuzzy workspaceName, nextToken paging; read-only."""
    found = find_workspaces(ctx.world, ctx.account_id, req.get("workspaceId"), req.get("workspaceName"))
    items, fields = page(req, found, default=10)
    return ok(workspaces=[_workspace_json(ws) for ws in items], **fields)


def h_delete_workspace(ctx: Ctx, req: Request) -> Body:
    """DeleteWorkspace: isDeleted false with failReasons while API keys remain; 404 when gone."""
    reasons = delete_workspace(ctx.world, ctx.account_id, _path(req, "workspaceId"))
    return ok(isDeleted=not reasons,
              failReasons=[{"resourceType": r.resource_type, "reason": r.reason} for r in reasons])


# -- catalog and model grants -------------------------------------------------------------------------
def _matches(values: Sequence[str], wanted: list[str]) -> bool:
    return not wanted or any(v in wanted for v in values)


def h_list_models(ctx: Ctx, req: Request) -> Body:
    """ListModels: the global catalog, filtered (model exact, name fuzzy, JSON-array any-of filters)."""
    model, name = req.get("model"), (req.get("name") or "").lower()
    providers, capabilities = _json_list(req, "providers"), _json_list(req, "capabilities")
    features, window = _json_list(req, "features"), req.get_int("contextWindow", 0, "ROA") or 0
    found = [m for m in catalog(ctx.world)
             if (not model or m.model == model) and name in m.display_name().lower()
             and _matches((m.provider,), providers) and _matches(m.capabilities, capabilities)
             and _matches(m.features, features) and m.context_window >= window]
    items, fields = page(req, found)
    return ok(error_message_style=True, models=[m.to_wire() for m in items], **fields)


def _grant_changes(req: Request) -> list[GrantChange]:
    changes = []
    for i, item in enumerate(req.get_objects("models"), start=1):
        if not item.get("model"):
            raise ms_error("MissingParameter", f"models.{i}.model is mandatory for this action.")

        def flag(name: str, item: dict[str, str] = item) -> bool | None:
            value = item.get(name)
            return None if value in (None, "") else value.strip().lower() == "true"
        changes.append(GrantChange(item["model"], flag("inference"), flag("fineTune"), flag("deploy")))
    return changes


def h_update_model_permissions(ctx: Ctx, req: Request) -> Body:
    """UpdateModelPermissions: OPEN/CLOSE/KEEP then per-model grants; replaying it changes nothing."""
    update_permissions(ctx.world, ctx.account_id, req.require("workspaceId", "ROA"),
                       req.get("accessAllEntities") or "KEEP", _grant_changes(req))
    return ok(error_message_style=True)


def h_list_model_permissions(ctx: Ctx, req: Request) -> Body:
    """ListModelPermissions: AUTHORIZED or AUTHORIZABLE models with permissions, paged; read-only."""
    workspace_id = req.require("workspaceId", "ROA")
    scope = req.get("authorizationScope") or "AUTHORIZABLE"
    if scope not in ("AUTHORIZED", "AUTHORIZABLE"):
        raise ms_error("InvalidParameter.authorizationScope",
                       "authorizationScope must be AUTHORIZED or AUTHORIZABLE.")
    if (req.get("modelAction") or "INFERENCE") != "INFERENCE":
        raise ms_error("InvalidParameter.modelAction", "modelAction must be INFERENCE.")
    rows = permission_rows(ctx.world, ctx.account_id, workspace_id, scope == "AUTHORIZED",
                           req.get("filter.model"), req.get("filter.name"))
    items, fields = page(req, rows)
    return ok(error_message_style=True, list=[
        {"model": m.model, "name": m.display_name(),
         "permissions": {"inference": p.inference, "fineTune": p.fine_tune, "deploy": p.deploy}}
        for m, p in items], **fields)


# -- API keys -----------------------------------------------------------------------------------------
def h_create_api_key(ctx: Ctx, req: Request) -> Body:
    """CreateApiKey: a new key owned by the caller; the full value is in this response only."""
    assert req.caller is not None
    key = create_api_key(ctx.world, req.caller, req.get("workspaceId"), req.get("description") or "",
                         _parse_auth(req) or ApiKeyAuth())
    return ok(apiKey={"apiKeyId": key.api_key_id, "apiKeyValue": key.value, "workspaceId": key.workspace_id,
                      "description": key.description, "createdBy": key.created_by,
                      "gmtCreate": key.gmt_create})


def h_get_api_key(ctx: Ctx, req: Request) -> Body:
    """GetApiKey: one key with its value masked; 404 ApiKeyNotFound."""
    return ok(apiKey=_key_json(ctx, get_api_key(ctx.world, ctx.account_id, _path(req, "apiKeyId"))))


_ORDER_FIELDS = {"apiKeyId": "api_key_id", "gmtCreate": "gmt_create"}


def h_list_api_keys(ctx: Ctx, req: Request) -> Body:
    """ListApiKeys: exact workspaceId/apiKeyId, fuzzy description, ordered, paged; values masked."""
    order, order_by = req.get("order") or "DESC", req.get("orderBy") or "apiKeyId"
    if order not in ("ASC", "DESC") or order_by not in _ORDER_FIELDS:
        raise ms_error("InvalidParameter.order", "order must be ASC|DESC and orderBy apiKeyId|gmtCreate.")
    workspace_id, key_id = req.get("workspaceId"), req.get("apiKeyId")
    text = (req.get("description") or "").lower()
    found = [k for k in ms_state(ctx.world, ctx.account_id).api_keys.values()
             if (not workspace_id or k.workspace_id == workspace_id)
             and (not key_id or str(k.api_key_id) == key_id) and text in k.description.lower()]
    found.sort(key=lambda k: (getattr(k, _ORDER_FIELDS[order_by]), k.api_key_id), reverse=order == "DESC")
    items, fields = page(req, found)
    return ok(apiKeys=[_key_json(ctx, k) for k in items], **fields)


def h_update_api_key(ctx: Ctx, req: Request) -> Body:
    """UpdateApiKey: description if given; auth replaced as a whole if given; idempotent."""
    key = get_api_key(ctx.world, ctx.account_id, _path(req, "apiKeyId"))
    auth = _parse_auth(req)
    if auth is not None:
        key.auth = validate_auth(ctx.world, auth)
    description = req.get("description")
    if description is not None:
        key.description = description
    return ok()


def h_disable_api_key(ctx: Ctx, req: Request) -> Body:
    """DisableApiKey: the key stops working at once; idempotent."""
    enable_api_key(ctx.world, ctx.account_id, _path(req, "apiKeyId"), enabled=False)
    return ok()


def h_enable_api_key(ctx: Ctx, req: Request) -> Body:
    """EnableApiKey: the key works again; idempotent."""
    enable_api_key(ctx.world, ctx.account_id, _path(req, "apiKeyId"), enabled=True)
    return ok()


def h_reset_api_key(ctx: Ctx, req: Request) -> Body:
    """ResetApiKey: a new value (returned in full), the old one fails at once; never idempotent."""
    key = reset_api_key(ctx.world, ctx.account_id, _path(req, "apiKeyId"))
    return ok(apiKey={"apiKeyId": key.api_key_id, "apiKeyValue": key.value, "workspaceId": key.workspace_id})


def h_delete_api_key(ctx: Ctx, req: Request) -> Body:
    """DeleteApiKey: 404 ApiKeyNotFound when already gone."""
    delete_api_key(ctx.world, ctx.account_id, _path(req, "apiKeyId"))
    return ok()


# -- seed ---------------------------------------------------------------------------------------------
class SeedWorkspace(BaseModel):
    """A workspace that exists before the tool runs (an unmanaged look-alike, for instance)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    region: str | None = None
    models: list[str] = Field(default_factory=list)
    all_models: bool = False
    members: dict[str, Role] = Field(default_factory=dict)


class ModelStudioSeed(BaseModel):
    model_config = ConfigDict(extra="forbid")

    apps: list[App] = Field(default_factory=list)
    models: list[CatalogModel] | None = None
    workspaces: list[SeedWorkspace] = Field(default_factory=list)


def seed(world: World, account_id: str, section: dict[str, Any]) -> None:
    """Load the account's ``modelstudio`` seed section."""
    parsed = ModelStudioSeed.model_validate(section)
    st = ms_state(world, account_id)
    st.apps.extend(parsed.apps)
    if parsed.models is not None:
        st.catalog = list(parsed.models)
    for spec in parsed.workspaces:
        ws = create_workspace(world, account_id, spec.name, spec.region or world.default_region)
        if spec.all_models:
            update_permissions(world, account_id, ws.workspace_id, "OPEN", [])
        for start in range(0, len(spec.models), MAX_GRANTS_PER_CALL):
            chunk = spec.models[start:start + MAX_GRANTS_PER_CALL]
            update_permissions(world, account_id, ws.workspace_id, "KEEP",
                               [GrantChange(m, inference=True) for m in chunk])
        for user, role in spec.members.items():
            set_member(world, account_id, ws.workspace_id, user, role)


DEFAULT_SEED: dict[str, Any] = {"apps": [
    {"app_id": "8f3a1c2e5b7d4a6f9e0c1b2a3d4e5f60", "name": "delivery-assistant",
     "workspace_name": "agent-delivery"},
    {"app_id": "2b4d6f8a0c1e3a5b7d9f1e3c5a7b9d0f", "name": "delivery-assistant-fin",
     "workspace_name": "agent-delivery-fin"},
]}


def _route(action: str, method: str, path: str, handler: Handler) -> Route:
    return roa_route(VERSION, "modelstudio", action, method, path, handler)


_KEY = "/modelstudio/apikeys/{apiKeyId}"
SERVICE = Service(
    name="modelstudio",
    routes=(
        _route("CreateWorkspace", "POST", "/modelstudio/workspaces", h_create_workspace),
        _route("ListWorkspaces", "GET", "/modelstudio/workspaces", h_list_workspaces),
        _route("DeleteWorkspace", "DELETE", "/modelstudio/workspaces/{workspaceId}", h_delete_workspace),
        _route("ListModels", "GET", "/modelstudio/models", h_list_models),
        _route("UpdateModelPermissions", "POST", "/modelstudio/models/permissions",
               h_update_model_permissions),
        _route("ListModelPermissions", "GET", "/modelstudio/models/permissions", h_list_model_permissions),
        _route("CreateApiKey", "POST", "/modelstudio/apikeys", h_create_api_key),
        _route("ListApiKeys", "GET", "/modelstudio/apikeys", h_list_api_keys),
        _route("GetApiKey", "GET", _KEY, h_get_api_key),
        _route("UpdateApiKey", "PUT", _KEY, h_update_api_key),
        _route("DeleteApiKey", "DELETE", _KEY, h_delete_api_key),
        _route("DisableApiKey", "PUT", _KEY + "/disable", h_disable_api_key),
        _route("EnableApiKey", "PUT", _KEY + "/enable", h_enable_api_key),
        _route("ResetApiKey", "PUT", _KEY + "/reset", h_reset_api_key),
    ),
    seed=seed,
    default_seed=DEFAULT_SEED,
)

"""ModelArts workspaces with their INTERNAL grants (reference §3.6).

Names are 4-64 characters (letters, digits, Chinese, ``-``, ``_``) and ``default`` is reserved (the
account's default workspace, id ``"0"``, is always listed first and cannot be changed). ``auth_type``
is ``PUBLIC`` (every user of the account), ``PRIVATE`` (the creator and the root user) or ``INTERNAL``
(those plus the users in ``grants``, ≤500); it is read case-insensitively. A delete leaves the
workspace ``DELETING`` for ``async_delay_s``, then it is gone (404).
"""

from __future__ import annotations

import re
from typing import Any

from provision.emulator.huawei.authz import authorize
from provision.emulator.huawei.routing import HwCaller, HwCtx, HwRoute
from provision.emulator.huawei.state import Grant, HuaweiState, Workspace, hex_id
from provision.emulator.wire import Body, CloudError
from provision.emulator.world import World

NAME = re.compile(r"^[\w\u4e00-\u9fff-]{4,64}$")
AUTH_TYPES = ("PUBLIC", "PRIVATE", "INTERNAL")
MAX_GRANTS = 500
MAX_WORKSPACES = 100  # per account [UNVERIFIED]
DEFAULT_ID = "0"
P = "/v1/{project_id}/workspaces"


def bad(message: str) -> CloudError:
    return CloudError("ModelArts.0103", message, 400)


def not_found(workspace_id: str) -> CloudError:
    return CloudError("ModelArts.6102", f"The workspace {workspace_id} does not exist.", 404)


def live_workspaces(world: World, state: HuaweiState) -> list[Workspace]:
    """The account's workspaces now; finished deletes are dropped."""
    now, delay = world.clock.timestamp(), world.settings["async_delay_s"]
    for ws in [
        w for w in state.workspaces.values() if w.deleted_ts is not None and now - w.deleted_ts >= delay
    ]:
        del state.workspaces[ws.id]
    return list(state.workspaces.values())


def can_access(state: HuaweiState, ws: Workspace, caller: HwCaller) -> bool:
    """Whether the caller may use the workspace under its ``auth_type``."""
    if caller.is_root or ws.auth_type == "PUBLIC" or caller.user_id == ws.creator_user_id:
        return True
    return ws.auth_type == "INTERNAL" and any(g.user_id == caller.user_id for g in ws.grants)


def _name(value: Any) -> str:
    if not isinstance(value, str) or not NAME.match(value):
        raise bad("The workspace name must be 4-64 letters, digits, Chinese characters, - or _.")
    if value.lower() == "default":
        raise bad("The workspace name default is reserved.")
    return value


def _auth_type(value: Any) -> str:
    text = str(value or "PUBLIC").upper()
    if text not in AUTH_TYPES:
        raise bad("auth_type must be PUBLIC, PRIVATE or INTERNAL.")
    return text


def _grants(state: HuaweiState, raw: Any) -> list[Grant]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise bad("grants must be a list.")
    if len(raw) > MAX_GRANTS:
        raise CloudError(
            "ModelArts.0116", f"The expected grants exceeds the quota limit ({MAX_GRANTS}).", 400
        )
    grants: list[Grant] = []
    for item in raw:
        if not isinstance(item, dict):
            raise bad("each grant is an object {user_id | user_name, user_type}.")
        user = (
            state.users.get(str(item.get("user_id") or ""))
            if item.get("user_id")
            else state.user_by_name(str(item.get("user_name") or ""))
        )
        if user is None:
            raise bad(f"The grant's IAM user {item.get('user_id') or item.get('user_name')} does not exist.")
        user_type = str(item.get("user_type") or "IAM").upper()
        if user_type not in ("IAM", "FEDERATE", "AGENCY"):
            raise bad("user_type must be IAM, FEDERATE or AGENCY.")
        if all(g.user_id != user.user_id for g in grants):
            grants.append(Grant(user_id=user.user_id, user_name=user.user_name, user_type=user_type))
    return grants


def _body(ws: Workspace) -> Body:
    return {
        "id": ws.id,
        "name": ws.name,
        "description": ws.description,
        "owner": ws.owner,
        "create_time": ws.create_time,
        "update_time": ws.update_time,
        "enterprise_project_id": ws.enterprise_project_id,
        "enterprise_project_name": "default",
        "auth_type": ws.auth_type,
        "status": "DELETING" if ws.deleted_ts is not None else "NORMAL",
        "status_info": "",
        "grants": [g.model_dump() for g in ws.grants],
    }


def _default(state: HuaweiState) -> Body:
    return {
        "id": DEFAULT_ID,
        "name": "default",
        "description": "",
        "owner": state.domain_name,
        "create_time": 0,
        "update_time": 0,
        "enterprise_project_id": "0",
        "enterprise_project_name": "default",
        "auth_type": "PUBLIC",
        "status": "NORMAL",
        "status_info": "",
        "grants": [],
    }


def create_workspace(ctx: HwCtx) -> Body:
    body = ctx.body()
    name = _name(body.get("name"))
    live = live_workspaces(ctx.world, ctx.state)
    if any(w.name == name for w in live):
        raise CloudError("ModelArts.6101", f"A workspace named {name} already exists.", 400)
    if len(live) >= MAX_WORKSPACES:
        raise CloudError(
            "ModelArts.0116", f"The expected workspaces exceeds the quota limit ({MAX_WORKSPACES}).", 400
        )
    description = str(body.get("description") or "")
    if len(description) > 256:
        raise bad("The description must be at most 256 characters.")
    now = int(ctx.now_ts() * 1000)
    ws = Workspace(
        id=hex_id(ctx.world, "hw-workspace"),
        name=name,
        description=description,
        owner=ctx.caller.user_name,
        creator_user_id=ctx.caller.user_id,
        create_time=now,
        update_time=now,
        auth_type=_auth_type(body.get("auth_type")),
        grants=_grants(ctx.state, body.get("grants")),
        enterprise_project_id=str(body.get("enterprise_project_id") or "0"),
    )
    ctx.state.workspaces[ws.id] = ws
    return _body(ws)


def _workspace_of(ctx: HwCtx) -> Workspace:
    workspace_id = ctx.params["workspace_id"]
    ws = next((w for w in live_workspaces(ctx.world, ctx.state) if w.id == workspace_id), None)
    if ws is None:
        raise not_found(workspace_id)
    return ws


def show_workspace(ctx: HwCtx) -> Body:
    if ctx.params["workspace_id"] == DEFAULT_ID:
        return _default(ctx.state)
    return _body(_workspace_of(ctx))


def list_workspaces(ctx: HwCtx) -> Body:
    query = ctx.request.query
    offset = ctx.query_int("offset", 0, 0, 10**9, "ModelArts.0103")
    limit = ctx.query_int("limit", 1000, 1, 1000, "ModelArts.0103")
    rows = [_default(ctx.state)] + [
        _body(w)
        for w in live_workspaces(ctx.world, ctx.state)
        if query.get("filter_accessible") != "true" or can_access(ctx.state, w, ctx.caller)
    ]
    if query.get("name"):
        rows = [r for r in rows if query["name"].lower() in r["name"].lower()]
    if query.get("enterprise_project_id"):
        rows = [r for r in rows if r["enterprise_project_id"] == query["enterprise_project_id"]]
    sort_by = query.get("sort_by", "update_time")
    if sort_by not in ("name", "update_time", "status"):
        raise bad("sort_by must be name, update_time or status.")
    rows.sort(key=lambda r: (r[sort_by], r["id"]), reverse=query.get("order", "desc") != "asc")
    chunk = rows[offset : offset + limit]
    return {"total_count": len(rows), "count": len(chunk), "workspaces": chunk}


def update_workspace(ctx: HwCtx) -> Body:
    if ctx.params["workspace_id"] == DEFAULT_ID:
        raise bad("The default workspace cannot be changed.")
    ws, body = _workspace_of(ctx), ctx.body()
    if ws.deleted_ts is not None:
        raise bad(f"The workspace {ws.id} is being deleted.")
    if "name" in body and body["name"] != ws.name:
        name = _name(body["name"])
        if any(w.name == name for w in live_workspaces(ctx.world, ctx.state)):
            raise CloudError("ModelArts.6101", f"A workspace named {name} already exists.", 400)
        ws.name = name
    if "description" in body:
        ws.description = str(body["description"] or "")
    if "auth_type" in body:
        ws.auth_type = _auth_type(body["auth_type"])
    if "grants" in body:
        ws.grants = _grants(ctx.state, body["grants"])  # replaces the list [UNVERIFIED]
    ws.update_time = int(ctx.now_ts() * 1000)
    return {"workspace_id": ws.id}


def delete_workspace(ctx: HwCtx) -> Body:
    if ctx.params["workspace_id"] == DEFAULT_ID:
        raise bad("The default workspace cannot be deleted.")
    ws = _workspace_of(ctx)
    if ws.deleted_ts is None:
        ws.deleted_ts = ctx.now_ts()
    return {"workspace_id": ws.id}


def validate_authorization(ctx: HwCtx) -> Body:
    """Whether the caller may do each action in the workspace: its identity policies (and the SCPs) must
    allow it, and the workspace must admit it (``auth_type`` and grants). A probe for membership."""
    workspace_id = ctx.params["workspace_id"]
    ws = None if workspace_id == DEFAULT_ID else _workspace_of(ctx)
    requests = ctx.body().get("requests")
    if not isinstance(requests, list) or not requests:
        raise bad("requests must be a non-empty list of {action_id, action}.")
    results = []
    for item in requests:
        action = item.get("action") if isinstance(item, dict) else None
        if not isinstance(action, str) or not action:
            raise bad("each request needs an action.")
        cause: list[str] = []
        try:
            authorize(ctx, action)
        except CloudError as denied:
            cause.append(denied.message)
        if ws is not None and not can_access(ctx.state, ws, ctx.caller):
            cause.append(f"{ctx.caller.user_name} is not granted on the {ws.auth_type} workspace {ws.name}.")
        results.append(
            {
                "action": action,
                "action_id": item.get("action_id"),
                "resource": item.get("resource"),
                "verdict": "deny" if cause else "allow",
                "cause": cause,
            }
        )
    return {"results": results}


def list_workspace_users(ctx: HwCtx) -> Body:
    return {"users": [{"userName": u.user_name} for u in ctx.state.users.values()]}


ROUTES: tuple[HwRoute, ...] = (
    HwRoute("ListUsers", "GET", P + "/users/list", list_workspace_users, "modelarts:workspace:listUsers"),
    HwRoute("CreateWorkspace", "POST", P, create_workspace, "modelarts:workspace:create"),
    HwRoute("ListWorkspace", "GET", P, list_workspaces, "modelarts:workspace:list"),
    HwRoute("ShowWorkspace", "GET", P + "/{workspace_id}", show_workspace, "modelarts:workspace:get"),
    HwRoute("UpdateWorkspace", "PUT", P + "/{workspace_id}", update_workspace, "modelarts:workspace:update"),
    HwRoute(
        "DeleteWorkspace", "DELETE", P + "/{workspace_id}", delete_workspace, "modelarts:workspace:delete"
    ),
    HwRoute("ValidateAuthorization", "POST", P + "/{workspace_id}/auth", validate_authorization, None),
)

"""Bailian data API 2023-12-29 (ROA): the workspace-scoped reads provision uses as a membership probe.

After RAM has allowed the action (``sfm:List*``, e.g. AliyunBailianDataReadOnlyAccess), Model
Studio's own membership decides: the root account, a super admin (a RAM user holding
AliyunBailianFullAccess) or a member of the workspace (any role) passes; anyone else gets 403
``Workspace.AccessDenied``.
"""

from __future__ import annotations

import uuid
from typing import Any

from provision.emulator.alibaba import ram
from provision.emulator.alibaba.modelstudio_rules import member_role, workspace_apps
from provision.emulator.alibaba.modelstudio_state import Workspace, ms_state, workspace_not_found
from provision.emulator.alibaba.ram_policies import system_policy
from provision.emulator.paging import NumberPaging
from provision.emulator.wire import Body, CloudError, Ctx, Request, Service, roa_route
from provision.emulator.world import World

VERSION = "2023-12-29"
SUPER_ADMIN_POLICY = "AliyunBailianFullAccess"


def is_super_admin(world: World, account_id: str, user: str) -> bool:
    """Whether the RAM user holds AliyunBailianFullAccess (directly or through a group)."""
    policy = system_policy(SUPER_ADMIN_POLICY)
    # RAM hands out documents, not names; the system policy's document identifies it.
    return policy is not None and policy.document() in ram.effective_policy_documents(world, account_id, user)


def workspace_for_caller(ctx: Ctx, req: Request) -> Workspace:
    """The path's workspace if the caller may use it; 403 Workspace.AccessDenied for non-members."""
    assert req.caller is not None
    workspace_id = req.path_params["WorkspaceId"]
    ws = ms_state(ctx.world, ctx.account_id).workspaces.get(workspace_id)
    user = req.caller.user_name
    if user is None or is_super_admin(ctx.world, ctx.account_id, user):
        if ws is None:
            raise workspace_not_found(workspace_id)
        return ws
    if ws is None or member_role(ctx.world, ctx.account_id, workspace_id, user) is None:
        # an unknown workspace looks the same as a foreign one to a non-member
        raise CloudError("Workspace.AccessDenied", "Workspace access denied.", 403, "ROA")
    return ws


def _paging(number: str, size: str) -> NumberPaging:
    fault = (f"InvalidParameter.{size}", f"{number} must be >= 1 and {size} 1 to 100.")
    return NumberPaging(10, 100, fault, fault, "ROA")


AGENT_PAGING, INDEX_PAGING = _paging("pageNo", "pageSize"), _paging("PageNumber", "PageSize")


def h_list_published_agent(ctx: Ctx, req: Request) -> Body:
    """ListPublishedAgent: the workspace's published apps (data.list[].code = app id); read-only."""
    ws = workspace_for_caller(ctx, req)
    apps = workspace_apps(ctx.world, ctx.account_id, ws.workspace_id)
    page = AGENT_PAGING.page(apps, req.get_int("pageNo", 1, "ROA"), req.get_int("pageSize", 10, "ROA"))
    items: list[dict[str, Any]] = [
        {"code": a.app_id, "name": a.name, "description": a.description, "type": "Agent",
         "subType": "Agent", "modelId": a.model, "instructions": ""}
        for a in page.items]
    return {"requestId": str(uuid.uuid4()).upper(), "success": True, "code": "Success", "message": "",
            "httpStatusCode": 200,
            "data": {"list": items, "pageNo": page.number, "pageSize": page.size, "total": page.total}}


def h_list_indices(ctx: Ctx, req: Request) -> Body:
    """ListIndices: the workspace's knowledge-base indices (none are emulated); read-only."""
    workspace_for_caller(ctx, req)
    indices: list[Body] = []  # no knowledge bases are emulated
    page = INDEX_PAGING.page(indices, req.get_int("PageNumber", 1, "ROA"), req.get_int("PageSize", 10, "ROA"))
    return {"RequestId": str(uuid.uuid4()).upper(), "Success": True, "Code": "Success", "Message": "",
            "Status": "200",
            "Data": {"Indices": page.items, "PageNumber": page.number, "PageSize": page.size,
                     "TotalCount": page.total}}


SERVICE = Service(
    name="bailian",
    routes=(
        roa_route(VERSION, "sfm", "ListPublishedAgent", "GET", "/{WorkspaceId}/application/agents",
                  h_list_published_agent),
        roa_route(VERSION, "sfm", "ListIndices", "GET", "/{WorkspaceId}/index/list_indices", h_list_indices),
    ),
)

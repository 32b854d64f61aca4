"""IAM v5 user groups (reference §3.5): create, list, show, rename, delete, members. A group with members or
attached policies cannot be deleted (its policy attachments: ``iam_policies.py``). The limits are listed in
docs/emulator.md.
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
)
from provision.emulator.huawei.routing import HwCtx, HwRoute, Reply
from provision.emulator.huawei.state import HwGroup, hex_id
from provision.emulator.wire import Body

GROUP_NAME = re.compile(r"^[\w\u4e00-\u9fff{}\- ]{1,128}$")
MAX_GROUPS = 50  # groups per account [UNVERIFIED]


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

G = "/v5/groups"
ROUTES: tuple[HwRoute, ...] = (
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

"""What the IAM v5 modules share: error codes, marker paging, look-ups and wire shapes.

Codes the reference documents are used as documented (``PAP5.0001`` access denied, ``PAP5.0010``
invalid marker, ``PAP5.0011`` malformed policy, ``PAP5.0028`` version limit, ``PAP5.0033``
duplicate tag key, ``PAP5.0036`` bad tag); the others are choices listed in docs/emulator.md.
"""

from __future__ import annotations

import re

from provision.emulator.huawei.errors import IAM
from provision.emulator.huawei.routing import HwCtx
from provision.emulator.huawei.state import HuaweiState, HwGroup, HwUser
from provision.emulator.paging import MARKER, Page, TokenPaging
from provision.emulator.wire import Body, CloudError

PAGING = TokenPaging(
    default=100,
    limit=200,
    tokens=MARKER,
    bad_size=("PAP5.0002", "The parameter limit must be from 1 to 200."),
    bad_token=("PAP5.0010", "The marker is invalid."),
)
USER_NAME = re.compile(r"^[A-Za-z_.\- ][A-Za-z0-9_.\- ]{0,63}$")
BAD_DESCRIPTION = re.compile(r"[@#%&<>\\$^*]")


invalid, not_found, conflict, quota = IAM.invalid, IAM.not_found, IAM.conflict, IAM.quota


def delete_conflict(message: str) -> CloudError:
    return CloudError("PAP5.0013", message, 409)


def check_description(value: object, limit: int = 255) -> str:
    text = "" if value is None else str(value)
    if len(text) > limit or BAD_DESCRIPTION.search(text):
        raise invalid(f"The description must be at most {limit} characters without @#%&<>\\$^*.")
    return text


def page(ctx: HwCtx, items: list[Body], key: str) -> Body:
    """``{key: [...], page_info: {next_marker?, current_count}}`` for ``limit`` / ``marker``."""
    size = ctx.query_int("limit", PAGING.default, 1, PAGING.limit, "PAP5.0002")
    result: Page[Body] = PAGING.page(items, size, ctx.request.query.get("marker"))
    info: Body = {"current_count": len(result.items)}
    if result.next_token is not None:
        info["next_marker"] = result.next_token
    return {key: result.items, "page_info": info}


def user_of(ctx: HwCtx) -> HwUser:
    user = ctx.state.users.get(ctx.params["user_id"])
    if user is None:
        raise not_found("user", ctx.params["user_id"])
    return user


def group_of(ctx: HwCtx, group_id: str | None = None) -> HwGroup:
    gid = group_id or ctx.params["group_id"]
    group = ctx.state.groups.get(gid)
    if group is None:
        raise not_found("group", gid)
    return group


def required_id(body: Body, name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise invalid(f"The parameter {name} is required.")
    return value


def user_urn(state: HuaweiState, user: HwUser) -> str:
    return f"iam::{state.domain_id}:user:{user.user_name}"


def user_body(state: HuaweiState, user: HwUser, with_tags: bool = False) -> Body:
    body: Body = {
        "user_id": user.user_id,
        "user_name": user.user_name,
        "description": user.description,
        "enabled": user.enabled,
        "is_root_user": False,
        "created_at": user.created_at,
        "urn": user_urn(state, user),
    }
    if with_tags:
        body["tags"] = [{"tag_key": k, "tag_value": v} for k, v in user.tags.items()]
    return body


def group_body(state: HuaweiState, group: HwGroup) -> Body:
    return {
        "group_id": group.group_id,
        "group_name": group.group_name,
        "description": group.description,
        "created_at": group.created_at,
        "urn": f"iam::{state.domain_id}:group:{group.group_name}",
    }

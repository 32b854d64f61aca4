"""IAM v5 users, access keys (2 per user), login profiles, user tags (reference §3.1-3.3)."""

from __future__ import annotations

import hashlib
import re

from provision.emulator.huawei.iam_common import (
    USER_NAME,
    check_description,
    conflict,
    delete_conflict,
    invalid,
    not_found,
    page,
    quota,
    user_body,
    user_of,
)
from provision.emulator.huawei.routing import HwCtx, HwRoute, Reply
from provision.emulator.huawei.state import HwAccessKey, HwUser, LoginProfile, hex_id
from provision.emulator.wire import Body, CloudError

MAX_USERS = 1000
MAX_KEYS_PER_USER = 2  # "不支持增加配额" (reference §3.2)
MAX_TAGS = 20
TAG_KEY = re.compile(r"^[\w.:=+\-@/ ]{1,64}$")


def password_hash(salt: str, password: str) -> str:
    """Passwords are kept as salted SHA-256 only."""
    return hashlib.sha256(f"{salt}/{password}".encode()).hexdigest()


def check_password(user_name: str, password: object) -> str:
    """8-32 characters with a letter and a digit, not containing the user name [UNVERIFIED rule]."""
    if (
        not isinstance(password, str)
        or not 8 <= len(password) <= 32
        or not re.search(r"[A-Za-z]", password)
        or not re.search(r"\d", password)
        or user_name.lower() in password.lower()
    ):
        raise invalid(
            "The password must be 8-32 characters with at least one letter and one digit, "
            "and must not contain the user name."
        )
    return password


# -- users ------------------------------------------------------------------------------------------------
def create_user(ctx: HwCtx) -> Reply:
    body = ctx.body()
    name = body.get("name")
    if not isinstance(name, str) or not USER_NAME.match(name):
        raise invalid("The user name must be 1-64 letters, digits, spaces or _-. and not start with a digit.")
    description = check_description(body.get("description"))
    if ctx.state.user_by_name(name) is not None:
        raise conflict(f"The user name {name} already exists.")
    if len(ctx.state.users) >= MAX_USERS:
        raise quota(f"The account already has {MAX_USERS} users (users_quota).")
    user = HwUser(
        user_id=hex_id(ctx.world, "hw-user"),
        user_name=name,
        description=description,
        enabled=body.get("enabled", True) is not False,
        created_at=ctx.now_iso(),
    )
    ctx.state.users[user.user_id] = user
    return Reply(201, {"user": user_body(ctx.state, user)})


def list_users(ctx: HwCtx) -> Body:
    users = list(ctx.state.users.values())
    query = ctx.request.query
    if query.get("group_id"):
        group = ctx.state.groups.get(query["group_id"])
        users = [u for u in users if group is not None and u.user_id in group.users]
    if query.get("access_key_id"):
        key = ctx.state.access_keys.get(query["access_key_id"])
        users = [u for u in users if key is not None and key.user_id == u.user_id]
    return page(ctx, [user_body(ctx.state, u) for u in users], "users")


def show_user(ctx: HwCtx) -> Body:
    return {"user": user_body(ctx.state, user_of(ctx), with_tags=True)}


def update_user(ctx: HwCtx) -> Body:
    user, body = user_of(ctx), ctx.body()
    new_name = body.get("new_user_name")
    if new_name is not None:
        if not isinstance(new_name, str) or not USER_NAME.match(new_name):
            raise invalid("The new user name is not valid.")
        other = ctx.state.user_by_name(new_name)
        if other is not None and other.user_id != user.user_id:
            raise conflict(f"The user name {new_name} already exists.")
        user.user_name = new_name
    if "new_description" in body:
        user.description = check_description(body["new_description"])
    if "enabled" in body:
        user.enabled = body["enabled"] is not False
        if not user.enabled:
            revoke_tokens(ctx, user.user_id)
    return {"user": user_body(ctx.state, user)}


def delete_user(ctx: HwCtx) -> Reply:
    user = user_of(ctx)
    keys = [k for k in ctx.state.access_keys.values() if k.user_id == user.user_id]
    groups = [g.group_name for g in ctx.state.groups.values() if user.user_id in g.users]
    remaining = [
        what
        for what, present in (
            ("access keys", keys),
            ("a login profile", user.login_profile),
            ("attached policies", user.policies),
            ("group memberships", groups),
        )
        if present
    ]
    if remaining:
        raise delete_conflict(
            f"The user {user.user_name} still has {', '.join(remaining)}: remove them first."
        )
    del ctx.state.users[user.user_id]
    revoke_tokens(ctx, user.user_id)
    return Reply(204)


def revoke_tokens(ctx: HwCtx, user_id: str) -> None:
    """Deleting or disabling a user ends its tokens at once (the cloud: within 30 minutes)."""
    for digest in [d for d, t in ctx.state.tokens.items() if t.user_id == user_id]:
        del ctx.state.tokens[digest]


def show_last_login(ctx: HwCtx) -> Body:
    return {"user_last_login": {"last_login_at": user_of(ctx).last_login_at}}


# -- access keys ------------------------------------------------------------------------------------------
def _key_body(key: HwAccessKey) -> Body:
    return {
        "user_id": key.user_id,
        "access_key_id": key.access_key_id,
        "created_at": key.created_at,
        "status": key.status,
    }


def _key_of(ctx: HwCtx) -> HwAccessKey:
    user = user_of(ctx)
    key = ctx.state.access_keys.get(ctx.params["access_key_id"])
    if key is None or key.user_id != user.user_id:
        raise not_found("access key", ctx.params["access_key_id"])
    return key


def create_access_key(ctx: HwCtx) -> Reply:
    user = user_of(ctx)
    if sum(1 for k in ctx.state.access_keys.values() if k.user_id == user.user_id) >= MAX_KEYS_PER_USER:
        raise quota(
            f"The user {user.user_name} already has {MAX_KEYS_PER_USER} access keys, the most "
            "a user may have: delete one first."
        )
    access_key_id = "HW" + hex_id(ctx.world, "hw-ak", 18).upper()
    key = HwAccessKey(
        access_key_id=access_key_id,
        secret=hex_id(ctx.world, "hw-sk", 40),
        user_id=user.user_id,
        created_at=ctx.now_iso(),
    )
    ctx.state.access_keys[access_key_id] = key
    return Reply(201, {"access_key": {**_key_body(key), "secret_access_key": key.secret}})


def list_access_keys(ctx: HwCtx) -> Body:
    user = user_of(ctx)
    keys = [_key_body(k) for k in ctx.state.access_keys.values() if k.user_id == user.user_id]
    return page(ctx, keys, "access_keys")


def update_access_key(ctx: HwCtx) -> Body:
    key, status = _key_of(ctx), ctx.body().get("status")
    if status not in ("active", "inactive"):
        raise invalid("The status must be active or inactive.")
    key.status = str(status)
    return {"access_key": _key_body(key)}


def delete_access_key(ctx: HwCtx) -> Reply:
    del ctx.state.access_keys[_key_of(ctx).access_key_id]
    return Reply(204)


def show_access_key_last_used(ctx: HwCtx) -> Body:
    return {"access_key_last_used": {"last_used_at": _key_of(ctx).last_used_at}}


# -- login profiles ---------------------------------------------------------------------------------------
def _profile_body(user: HwUser) -> Body:
    profile = user.login_profile
    assert profile is not None
    return {
        "user_id": user.user_id,
        "password_reset_required": profile.password_reset_required,
        "password_expires_at": None,
        "created_at": profile.created_at,
    }


def create_login_profile(ctx: HwCtx) -> Reply:
    user, body = user_of(ctx), ctx.body()
    if user.login_profile is not None:
        raise conflict(f"The user {user.user_name} already has a login profile.")
    password = check_password(user.user_name, body.get("password"))
    user.login_profile = LoginProfile(
        password_hash=password_hash(user.user_id, password),
        password_reset_required=body.get("password_reset_required") is True,
        created_at=ctx.now_iso(),
    )
    return Reply(201, {"login_profile": _profile_body(user)})


def _profile_user(ctx: HwCtx) -> HwUser:
    user = user_of(ctx)
    if user.login_profile is None:
        raise not_found("login profile of user", user.user_name)
    return user


def show_login_profile(ctx: HwCtx) -> Body:
    return {"login_profile": _profile_body(_profile_user(ctx))}


def update_login_profile(ctx: HwCtx) -> Body:
    user, body = _profile_user(ctx), ctx.body()
    assert user.login_profile is not None
    if "password" in body:
        user.login_profile.password_hash = password_hash(
            user.user_id, check_password(user.user_name, body["password"])
        )
        revoke_tokens(ctx, user.user_id)
    if "password_reset_required" in body:
        user.login_profile.password_reset_required = body["password_reset_required"] is True
    return {"login_profile": _profile_body(user)}


def delete_login_profile(ctx: HwCtx) -> Reply:
    user = _profile_user(ctx)
    user.login_profile = None
    revoke_tokens(ctx, user.user_id)
    return Reply(204)


# -- tags on users ----------------------------------------------------------------------------------------
def _tagged_user(ctx: HwCtx) -> HwUser:
    if ctx.params["resource_type"] != "user":
        raise invalid(
            f"The resource type {ctx.params['resource_type']} is not supported by the emulator (only user)."
        )
    user = ctx.state.users.get(ctx.params["resource_id"])
    if user is None:
        raise not_found("user", ctx.params["resource_id"])
    return user


def tag_resource(ctx: HwCtx) -> Reply:
    user, tags = _tagged_user(ctx), ctx.body().get("tags")
    if not isinstance(tags, list) or not tags:
        raise invalid("The parameter tags is required.")
    seen: set[str] = set()
    for tag in tags:
        key, value = (tag.get("tag_key"), tag.get("tag_value")) if isinstance(tag, dict) else (None, None)
        if (
            not isinstance(key, str)
            or not TAG_KEY.match(key)
            or key.startswith("_sys_")
            or not isinstance(value, str)
            or len(value) > 128
        ):
            raise CloudError("PAP5.0036", f"The tag {tag!r} is not compliant.", 400)
        if key in seen:
            raise CloudError("PAP5.0033", f"The tag key {key} is duplicated.", 400)
        seen.add(key)
    if len(set(user.tags) | seen) > MAX_TAGS:
        raise quota(f"A user may have at most {MAX_TAGS} tags.")
    for tag in tags:
        user.tags[tag["tag_key"]] = tag["tag_value"]
    return Reply(204)


def untag_resource(ctx: HwCtx) -> Reply:
    user, keys = _tagged_user(ctx), ctx.body().get("tag_keys")
    if not isinstance(keys, list):
        raise invalid("The parameter tag_keys is required.")
    for key in keys:
        user.tags.pop(str(key), None)
    return Reply(204)


def list_resource_tags(ctx: HwCtx) -> Body:
    user = _tagged_user(ctx)
    return {"tags": [{"tag_key": k, "tag_value": v} for k, v in user.tags.items()]}


U = "/v5/users/{user_id}"
ROUTES: tuple[HwRoute, ...] = (
    HwRoute("CreateUserV5", "POST", "/v5/users", create_user, "iam:users:createUserV5"),
    HwRoute("ListUsersV5", "GET", "/v5/users", list_users, "iam:users:listUsersV5"),
    HwRoute("ShowUserV5", "GET", U, show_user, "iam:users:getUserV5"),
    HwRoute("UpdateUserV5", "PUT", U, update_user, "iam:users:updateUserV5"),
    HwRoute("DeleteUserV5", "DELETE", U, delete_user, "iam:users:deleteUserV5"),
    HwRoute("ShowUserLastLoginV5", "GET", U + "/last-login", show_last_login, "iam:users:getUserLastLoginV5"),
    HwRoute(
        "CreateAccessKeyV5",
        "POST",
        U + "/access-keys",
        create_access_key,
        "iam:credentials:createCredentialV5",
    ),
    HwRoute(
        "ListAccessKeysV5", "GET", U + "/access-keys", list_access_keys, "iam:credentials:listCredentialsV5"
    ),
    HwRoute(
        "UpdateAccessKeyV5",
        "PUT",
        U + "/access-keys/{access_key_id}",
        update_access_key,
        "iam:credentials:updateCredentialV5",
    ),
    HwRoute(
        "DeleteAccessKeyV5",
        "DELETE",
        U + "/access-keys/{access_key_id}",
        delete_access_key,
        "iam:credentials:deleteCredentialV5",
    ),
    HwRoute(
        "ShowAccessKeyLastUsedV5",
        "GET",
        U + "/access-keys/{access_key_id}/last-used",
        show_access_key_last_used,
        "iam:credentials:getCredentialLastUsedV5",
    ),
    HwRoute(
        "CreateLoginProfileV5",
        "POST",
        U + "/login-profile",
        create_login_profile,
        "iam:users:createLoginProfileV5",
    ),
    HwRoute(
        "ShowLoginProfileV5", "GET", U + "/login-profile", show_login_profile, "iam:users:getLoginProfileV5"
    ),
    HwRoute(
        "UpdateLoginProfileV5",
        "PUT",
        U + "/login-profile",
        update_login_profile,
        "iam:users:updateLoginProfileV5",
    ),
    HwRoute(
        "DeleteLoginProfileV5",
        "DELETE",
        U + "/login-profile",
        delete_login_profile,
        "iam:users:deleteLoginProfileV5",
    ),
    HwRoute(
        "TagResourceV5",
        "POST",
        "/v5/{resource_type}/{resource_id}/tags/create",
        tag_resource,
        "iam:users:tagUserV5",
    ),
    HwRoute(
        "DeleteResourceTagsV5",
        "DELETE",
        "/v5/{resource_type}/{resource_id}/tags/delete",
        untag_resource,
        "iam:users:untagUserV5",
    ),
    HwRoute(
        "ListResourceTagsV5",
        "GET",
        "/v5/{resource_type}/{resource_id}/tags",
        list_resource_tags,
        "iam:users:listTagsForUserV5",
    ),
)

"""IAM v3: the project and domain look-ups the SDKs make, password tokens (``X-Subject-Token``), and
STS ``get_caller_identity`` (reference §1.4, §1.5, §3.10)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from provision.emulator.huawei.iam_users import password_hash
from provision.emulator.huawei.routing import HwCtx, HwRoute, Reply
from provision.emulator.huawei.state import HuaweiState, Token, hex_id, hw_state
from provision.emulator.wire import Body, CloudError

TOKEN_LIFETIME_S = 24 * 3600


def _project_body(state: HuaweiState, region: str, project_id: str) -> Body:
    return {
        "id": project_id,
        "name": region,
        "domain_id": state.domain_id,
        "parent_id": state.domain_id,
        "description": "",
        "enabled": True,
        "is_domain": False,
        "links": {"self": f"https://iam.myhuaweicloud.com/v3/projects/{project_id}"},
    }


def list_projects(ctx: HwCtx) -> Body:
    name = ctx.request.query.get("name")
    projects = [
        _project_body(ctx.state, region, pid)
        for region, pid in ctx.state.projects.items()
        if name is None or region == name
    ]
    return {
        "projects": projects,
        "links": {"self": "https://iam.myhuaweicloud.com/v3/projects", "previous": None, "next": None},
    }


def list_auth_domains(ctx: HwCtx) -> Body:
    return {
        "domains": [
            {"id": ctx.state.domain_id, "name": ctx.state.domain_name, "enabled": True, "description": ""}
        ],
        "links": {"self": "https://iam.myhuaweicloud.com/v3/auth/domains", "previous": None, "next": None},
    }


def get_caller_identity(ctx: HwCtx) -> Body:
    state, caller = ctx.state, ctx.caller
    if caller.is_root:
        return {
            "account_id": state.domain_id,
            "principal_id": state.domain_id,
            "principal_urn": f"iam::{state.domain_id}:root",
        }
    return {
        "account_id": state.domain_id,
        "principal_id": caller.user_id,
        "principal_urn": f"iam::{state.domain_id}:user:{caller.user_name}",
    }


def _wrong_credentials() -> CloudError:
    return CloudError("IAM.0101", "The username or password is wrong.", 401)


def _field(data: Any, *path: str) -> Any:
    for name in path:
        data = data.get(name) if isinstance(data, dict) else None
    return data


def create_token(ctx: HwCtx) -> Reply:
    """``POST /v3/auth/tokens`` with the password method; 201, the token in ``X-Subject-Token``."""
    body = ctx.body()
    identity = _field(body, "auth", "identity")
    if not isinstance(identity, dict) or identity.get("methods") != ["password"]:
        raise CloudError(
            "IAM.0011", 'The request body is invalid: auth.identity.methods must be ["password"].', 400
        )
    user_name, password = (
        _field(identity, "password", "user", "name"),
        _field(identity, "password", "user", "password"),
    )
    domain_name = _field(identity, "password", "user", "domain", "name")
    if not all(isinstance(v, str) and v for v in (user_name, password, domain_name)):
        raise CloudError(
            "IAM.0011", "The request body is invalid: user name, password and domain name are required.", 400
        )
    account_id = next(
        (a for a in ctx.world.accounts if hw_state(ctx.world, a).domain_name == domain_name), None
    )
    if account_id is None:
        raise _wrong_credentials()
    state = hw_state(ctx.world, account_id)
    user_id: str | None
    if user_name == state.domain_name:
        if password_hash(state.domain_id, password) != state.root_password_hash:
            raise _wrong_credentials()
        user_id, shown_id = None, state.domain_id
    else:
        user = state.user_by_name(user_name)
        if (
            user is None
            or user.login_profile is None
            or not user.enabled
            or password_hash(user.user_id, password) != user.login_profile.password_hash
        ):
            raise _wrong_credentials()
        user.last_login_at = ctx.now_iso()
        user_id = shown_id = user.user_id
    region = _field(body, "auth", "scope", "project", "name") or "cn-southwest-2"
    if region not in state.projects:
        raise CloudError("IAM.0011", f"The scope project {region} does not exist.", 400)
    token = "MIIemu" + hex_id(ctx.world, "hw-token", 64)
    issued = datetime.fromtimestamp(ctx.now_ts(), UTC)
    expires = issued + timedelta(seconds=TOKEN_LIFETIME_S)
    state.tokens[hashlib.sha256(token.encode()).hexdigest()] = Token(
        user_id=user_id, issued_at=issued.isoformat(), expires_ts=expires.timestamp()
    )
    domain = {"id": state.domain_id, "name": state.domain_name}
    return Reply(
        201,
        {
            "token": {
                "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
                "issued_at": issued.strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
                "methods": ["password"],
                "catalog": [],
                "roles": [],
                "user": {"id": shown_id, "name": user_name, "domain": domain, "password_expires_at": ""},
                "project": {"id": state.projects[region], "name": region, "domain": domain},
            }
        },
        {"X-Subject-Token": token},
    )


ROUTES: tuple[HwRoute, ...] = (
    HwRoute("KeystoneListProjects", "GET", "/v3/projects", list_projects, None),
    HwRoute("KeystoneListAuthDomains", "GET", "/v3/auth/domains", list_auth_domains, None),
    HwRoute(
        "KeystoneCreateUserTokenByPassword", "POST", "/v3/auth/tokens", create_token, None, auth="password"
    ),
    HwRoute("GetCallerIdentity", "GET", "/v5/caller-identity", get_caller_identity, None),
)

"""Account-wide reads for the audit: every RAM user, workspace, API key and DashScope endpoint.

The other providers read what the manifest declares or the tool manages; the audit needs the whole
account, managed or not. Each function returns plain facts as the cloud states them (dates as the
cloud writes them); deciding what they mean is left to ``provision.audit``. Reads only: nothing here
changes the account, and no secret value is ever read (API key values come back masked and are dropped).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from alibabacloud_privatelink20200415 import models as pl
from alibabacloud_ram20150501 import models as ram

from provision.desired.kinds import Kind
from provision.providers.alibaba.base import Clients
from provision.providers.alibaba.modelstudio import every_model_granted, find_workspaces, granted_models
from provision.providers.alibaba.modelstudio_keys import key_auth, list_api_keys
from provision.providers.alibaba.privatelink import endpoint_owner, tagged
from provision.providers.alibaba.ram_users import (
    AttachedPolicy,
    KeyFacts,
    LoginFacts,
    UserFacts,
    list_users,
    ram_items,
    read_user,
)
from provision.providers.common.markers import KeyMarker
from provision.providers.common.pagers import token_pager

__all__ = ["AttachedPolicy", "KeyFacts", "LoginFacts", "UserFacts", "caller_identity", "read_endpoints",
           "read_users", "read_workspaces"]

_WORKERS = 8


# --- facts ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """Who the tool is signed in as (STS GetCallerIdentity)."""

    account_id: str
    arn: str
    identity_type: str


@dataclass(frozen=True)
class ApiKeyFacts:
    """A workspace API key as ListApiKeys shows it (value dropped)."""

    api_key_id: str
    workspace_id: str
    description: str
    created_by: str
    gmt_create_ms: int | None
    disabled: bool
    allow_all_models: bool
    models: tuple[str, ...]
    ip_allow_list: tuple[str, ...]  # empty = reachable from anywhere
    issued_to: str | None = None  # the holder its description marker records, if any


@dataclass(frozen=True)
class WorkspaceFacts:
    workspace_id: str
    name: str
    gmt_create_ms: int | None
    granted: tuple[str, ...]  # models with inference granted
    all_models: bool  # every authorizable model is granted (one-click OPEN, inferred)
    api_keys: tuple[ApiKeyFacts, ...]


@dataclass(frozen=True)
class ZoneFacts:
    zone_id: str
    vswitch_id: str
    status: str


@dataclass(frozen=True)
class EndpointFacts:
    endpoint_id: str
    name: str
    region: str
    vpc_id: str
    service_name: str
    status: str
    connection_status: str
    domain: str
    managed: bool
    zones: tuple[ZoneFacts, ...]
    owner: str = ""  # the manifest its ownership tags name ("" when untagged or unnamed)


# --- identity -----------------------------------------------------------------------------------------


def caller_identity(clients: Clients) -> Caller:
    """STS GetCallerIdentity: the account audited and the identity reading it."""
    body = clients.call("sts.caller", "GetCallerIdentity", lambda: clients.sts().get_caller_identity()).body
    return Caller(str(body.account_id or ""), str(body.arn or ""), str(body.identity_type or ""))


# --- RAM ----------------------------------------------------------------------------------------------


def read_users(clients: Clients) -> list[UserFacts]:
    """ListUsers (paged); per user the one reader (``ram_users.read_user``: policies, groups, keys with
    their last use, login profile, MFA device); per group ListPoliciesForGroup; per custom policy GetPolicy
    (its document)."""
    users = list_users(clients)
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        direct = list(pool.map(lambda u: read_user(clients, u.user_name, u, last_used=True), users))
        groups = sorted({g for u in direct for g in u.groups})
        group_policies = dict(zip(groups, pool.map(lambda g: _group_policies(clients, g), groups),
                                  strict=True))
        custom = sorted({p.name for u in direct for p in u.policies if p.policy_type == "Custom"}
                        | {p.name for ps in group_policies.values() for p in ps if p.policy_type == "Custom"})
        documents = dict(zip(custom, pool.map(lambda p: _policy_document(clients, p), custom), strict=True))

    def complete(policy: AttachedPolicy) -> AttachedPolicy:
        if policy.policy_type != "Custom":
            return policy
        return AttachedPolicy(policy.name, policy.policy_type, policy.group, documents.get(policy.name, ""))

    return [replace(u, policies=tuple(complete(p) for p in (
        *u.policies, *(p for g in u.groups for p in group_policies.get(g, ()))))) for u in direct]


def _group_policies(clients: Clients, group: str) -> tuple[AttachedPolicy, ...]:
    response = clients.call_or_none(f"ram.group/{group}", "ListPoliciesForGroup",
                                    lambda: clients.ram().list_policies_for_group(
                                        ram.ListPoliciesForGroupRequest(group_name=group)))
    return tuple(AttachedPolicy(p.policy_name, p.policy_type, group)
                 for p in ram_items(response, "policies", "policy"))


def _policy_document(clients: Clients, name: str) -> str:
    response = clients.call_or_none(f"{Kind.POLICY}/{name}", "GetPolicy", lambda: clients.ram().get_policy(
        ram.GetPolicyRequest(policy_name=name, policy_type="Custom")))
    version = response.body.default_policy_version if response is not None else None
    return str(version.policy_document or "") if version is not None else ""


# --- Model Studio -------------------------------------------------------------------------------------


def read_workspaces(clients: Clients) -> list[WorkspaceFacts]:
    """ListWorkspaces; per workspace ListModelPermissions (AUTHORIZED, and the AUTHORIZABLE total) and
    ListApiKeys (every key, managed or not)."""
    workspaces = find_workspaces(clients)
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        return list(pool.map(lambda w: _workspace(clients, w), workspaces))


def _workspace(clients: Clients, item: Any) -> WorkspaceFacts:
    ws_id, name = str(item.workspace_id), str(item.workspace_name)
    granted = granted_models(clients, name, ws_id)
    return WorkspaceFacts(ws_id, name, _int(item.gmt_create), tuple(granted),
                          every_model_granted(clients, name, ws_id, granted),
                          tuple(_api_key(k, ws_id) for k in list_api_keys(clients, name, ws_id)))


def _api_key(key: Any, workspace_id: str) -> ApiKeyFacts:
    auth = key_auth(key)
    marker = KeyMarker.parse(key.description)
    return ApiKeyFacts(api_key_id=str(key.api_key_id), workspace_id=str(key.workspace_id or workspace_id),
                       description=str(key.description or ""), created_by=str(key.created_by or ""),
                       gmt_create_ms=_int(key.gmt_create), disabled=bool(key.disabled),
                       allow_all_models=auth.allow_all_models, models=auth.models,
                       ip_allow_list=auth.ip_allow_list, issued_to=marker.issued_to if marker else None)


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


# --- PrivateLink --------------------------------------------------------------------------------------


def read_endpoints(clients: Clients, regions: Iterable[str], wanted: Sequence[str] = ("dashscope",)
                   ) -> list[EndpointFacts]:
    """ListVpcEndpoints per region (no VPC filter); ListVpcEndpointZones for each endpoint whose service
    name contains one of ``wanted`` or that carries the tool's tag."""
    found: list[tuple[str, Any]] = []
    for region in sorted(set(regions)):
        def page(token: str | None, region: str = region) -> Any:
            return clients.privatelink(region).list_vpc_endpoints(pl.ListVpcEndpointsRequest(
                region_id=region, max_results=100, next_token=token))

        for item in clients.paginate(f"{Kind.ENDPOINT}/*", "ListVpcEndpoints",
                                     token_pager(page, lambda body: body.endpoints)):
            if tagged(item) or any(w in str(item.service_name or "") for w in wanted):
                found.append((region, item))
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        return list(pool.map(lambda f: _endpoint(clients, f[0], f[1]), found))


def _endpoint(clients: Clients, region: str, item: Any) -> EndpointFacts:
    def page(token: str | None) -> Any:
        return clients.privatelink(region).list_vpc_endpoint_zones(pl.ListVpcEndpointZonesRequest(
            region_id=region, endpoint_id=item.endpoint_id, next_token=token))

    zones = clients.paginate(f"{Kind.ENDPOINT}/{item.endpoint_name}", "ListVpcEndpointZones",
                             token_pager(page, lambda body: body.zones))
    return EndpointFacts(
        endpoint_id=str(item.endpoint_id), name=str(item.endpoint_name or ""), region=region,
        vpc_id=str(item.vpc_id or ""), service_name=str(item.service_name or item.service_id or ""),
        status=str(item.endpoint_status or ""), connection_status=str(item.connection_status or ""),
        domain=str(item.endpoint_domain or ""), managed=tagged(item), owner=endpoint_owner(item) or "",
        zones=tuple(sorted((ZoneFacts(str(z.zone_id), str(z.v_switch_id), str(z.zone_status or ""))
                            for z in zones), key=lambda z: z.zone_id)))

"""The ONE reader of Huawei Cloud facts: typed, frozen snapshots of what the account holds.

Interface for the ``huawei`` branch (plan, revoke, verify and the audit all read through here)::

    caller = read_caller(clients)                         # STS get_caller_identity
    users = list_users(clients)                           # every IAM user, summaries (id, name, enabled…)
    user = read_user(clients, user_id)                    # one user with keys, login, MFA, policies, groups
    read_access_keys(clients, user_id) / read_login_profile(...) / read_user_policies(...) / read_groups(...)
    policies = read_custom_policies(clients)              # with their default-version documents
    workspaces = read_workspaces(clients)                 # ModelArts workspaces with their grants
    read_workspace(clients, workspace_id)                 # one, or None when gone
    keys = read_api_keys(clients)                         # MaaS API keys (no secret: masked only)
    endpoints = read_endpoints(clients)                   # VPC endpoints
    scps = read_scps(clients)                             # SCPs with their attachments ((), + a note, when
                                                          # the account has no organization / SCP type off)
    account = read_account(clients)                       # all of it, the independent reads concurrently

Every function raises :class:`~provision.providers.huawei.clients.HuaweiCallError` on a cloud failure
(resource, action, code, what to do); nothing here holds a secret. Dates are ISO-8601 UTC strings.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from huaweicloudsdkiam.v5 import (
    GetPolicyVersionV5Request,
    ListAccessKeysV5Request,
    ListAttachedGroupPoliciesV5Request,
    ListAttachedUserPoliciesV5Request,
    ListGroupsV5Request,
    ListMfaDevicesV5Request,
    ListPoliciesV5Request,
    ListUsersV5Request,
    ShowAccessKeyLastUsedV5Request,
    ShowLoginProfileV5Request,
    ShowUserLastLoginV5Request,
    ShowUserV5Request,
)
from huaweicloudsdkmodelarts.v1 import ListWorkspaceRequest, ShowWorkspaceRequest
from huaweicloudsdkorganizations.v1 import (
    ListEntitiesForPolicyRequest,
    ListPoliciesRequest,
    ShowPolicyRequest,
)
from huaweicloudsdksts.v1 import GetCallerIdentityRequest
from huaweicloudsdkvpcep.v1 import ListEndpointsRequest

from provision.providers.common.outcomes import Outcome
from provision.providers.huawei.clients import HuaweiCallError, HuaweiClients

T = TypeVar("T")
_PAGE = 200  # IAM v5 page size (1-200)
_WORKERS = 8


# --- the facts ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallerIdentity:
    account_id: str
    principal_id: str
    principal_urn: str  # iam::<domain>:root or iam::<domain>:user:<name>

    @property
    def user_name(self) -> str | None:
        """The IAM user the identity is, ``None`` for the root user."""
        head, _, name = self.principal_urn.rpartition(":user:")
        return name if head else None


@dataclass(frozen=True)
class AccessKey:
    access_key_id: str
    status: str  # active | inactive
    created: str
    last_used: str | None = None  # None: never used

    @property
    def active(self) -> bool:
        return self.status.lower() == "active"


@dataclass(frozen=True)
class LoginProfile:
    password_reset_required: bool
    password_expires_at: str | None
    created: str


@dataclass(frozen=True)
class MfaDevice:
    serial_number: str
    enabled: bool


@dataclass(frozen=True)
class AttachedPolicy:
    """An identity policy a user holds, directly or through a group (``via`` = ``direct`` / ``group:N``)."""

    policy_id: str
    name: str
    policy_type: str  # system | custom
    via: str = "direct"

    @property
    def ref(self) -> str:
        return f"{self.policy_type}:{self.name}"


@dataclass(frozen=True)
class GroupRef:
    group_id: str
    name: str


@dataclass(frozen=True)
class UserSummary:
    """What the user list says of one user."""

    user_id: str
    name: str
    description: str
    enabled: bool
    created: str
    is_root: bool = False


@dataclass(frozen=True)
class User:
    """One IAM v5 user with every path it has into the account."""

    user_id: str
    name: str
    description: str
    enabled: bool
    created: str
    tags: tuple[tuple[str, str], ...] = ()
    last_login: str | None = None
    access_keys: tuple[AccessKey, ...] = ()
    login_profile: LoginProfile | None = None  # None: no console login
    mfa_devices: tuple[MfaDevice, ...] = ()
    mfa_known: bool = True  # False: the MFA-device API did not answer (the devices are unknown)
    policies: tuple[AttachedPolicy, ...] = ()  # direct first, then through groups
    groups: tuple[GroupRef, ...] = ()

    def tag(self, key: str) -> str | None:
        return next((v for k, v in self.tags if k == key), None)

    @property
    def active_keys(self) -> tuple[AccessKey, ...]:
        return tuple(k for k in self.access_keys if k.active)

    @property
    def mfa_enabled(self) -> bool:
        return any(d.enabled for d in self.mfa_devices)


@dataclass(frozen=True)
class CustomPolicy:
    policy_id: str
    name: str
    description: str
    default_version: str
    document: str  # the default version's JSON text
    attachment_count: int
    created: str

    def statements(self) -> list[dict[str, Any]]:
        """The document's statements (empty when it is not the policy grammar)."""
        try:
            statements = json.loads(self.document).get("Statement", [])
        except (ValueError, AttributeError):
            return []
        return [s for s in statements if isinstance(s, dict)] if isinstance(statements, list) else []


@dataclass(frozen=True)
class Grant:
    user_id: str
    user_name: str
    user_type: str = "IAM"


@dataclass(frozen=True)
class Workspace:
    workspace_id: str
    name: str
    status: str  # NORMAL, DELETING, ...
    visibility: str  # auth_type: PUBLIC | PRIVATE | INTERNAL (upper-cased)
    owner: str
    description: str = ""
    created: str = ""
    grants: tuple[Grant, ...] = ()

    def granted(self, user_name: str) -> bool:
        return any(g.user_name == user_name for g in self.grants)


@dataclass(frozen=True)
class ApiKey:
    """A MaaS API key; the list shows its value masked only, and never its creator."""

    key_id: str
    label: str
    description: str
    allow_all: bool
    ip_whitelist: tuple[str, ...]
    created: str
    masked: str = ""
    owner: str | None = None  # the list does not say who created a key

    @property
    def open_to_any_address(self) -> bool:
        return self.allow_all or not self.ip_whitelist


@dataclass(frozen=True)
class VpcEndpoint:
    endpoint_id: str
    service_id: str
    service_name: str
    status: str  # creating | accepted | pendingAcceptance | rejected | failed | deleting
    vpc_id: str
    subnet_id: str
    ip: str
    domains: tuple[str, ...]
    tags: tuple[tuple[str, str], ...]
    description: str
    created: str

    def tag(self, key: str) -> str | None:
        return next((v for k, v in self.tags if k == key), None)


@dataclass(frozen=True)
class ScpAttachment:
    entity_id: str
    name: str
    entity_type: str  # account | organizational_unit | root


@dataclass(frozen=True)
class Scp:
    policy_id: str
    name: str
    description: str
    builtin: bool
    content: str
    attachments: tuple[ScpAttachment, ...] = ()


@dataclass(frozen=True)
class HuaweiAccount:
    """Everything :func:`read_account` read, as of one moment."""

    caller: CallerIdentity
    region: str
    project_id: str
    users: tuple[User, ...] = ()
    custom_policies: tuple[CustomPolicy, ...] = ()
    workspaces: tuple[Workspace, ...] = ()
    api_keys: tuple[ApiKey, ...] = ()
    endpoints: tuple[VpcEndpoint, ...] = ()
    scps: tuple[Scp, ...] = ()
    notes: tuple[str, ...] = ()  # what could not be read, and why

    def user(self, name: str) -> User | None:
        return next((u for u in self.users if u.name == name), None)

    def workspace(self, name: str) -> Workspace | None:
        return next((w for w in self.workspaces if w.name == name), None)


# --- helpers ------------------------------------------------------------------------------------------------


def iso(value: Any) -> str:
    """An SDK date (a ``datetime``, an ISO string or epoch milliseconds) as ISO-8601 UTC."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""
    return str(value)


def _tags(
    items: Sequence[Any] | None, key: str = "tag_key", value: str = "tag_value"
) -> tuple[tuple[str, str], ...]:
    return tuple((str(getattr(t, key, "") or ""), str(getattr(t, value, "") or "")) for t in items or ())


def _user_resource(user_id: str) -> str:
    return f"iam.user/{user_id}"


def _map(fn: Callable[[Any], T], items: Sequence[Any]) -> list[T]:
    if len(items) < 2:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(max_workers=min(_WORKERS, len(items))) as pool:
        return list(pool.map(fn, items))


# --- IAM ----------------------------------------------------------------------------------------------------


def read_caller(clients: HuaweiClients) -> CallerIdentity:
    """Who the clients' key is (STS ``get_caller_identity``)."""
    answer = clients.call(
        "sts.caller",
        "GetCallerIdentity",
        lambda: clients.sts().get_caller_identity(GetCallerIdentityRequest()),
    )
    return CallerIdentity(
        str(answer.account_id or ""), str(answer.principal_id or ""), str(answer.principal_urn or "")
    )


def list_users(clients: HuaweiClients) -> list[UserSummary]:
    """Every IAM user of the account (the root user left out)."""
    users = clients.marker_pages(
        "iam.user",
        "ListUsersV5",
        lambda m: clients.iam().list_users_v5(ListUsersV5Request(limit=_PAGE, marker=m)),
        lambda r: r.users,
    )
    return [
        UserSummary(
            str(u.user_id),
            str(u.user_name),
            str(u.description or ""),
            bool(u.enabled),
            iso(u.created_at),
            bool(u.is_root_user),
        )
        for u in users
        if not u.is_root_user
    ]


def read_access_keys(clients: HuaweiClients, user_id: str) -> tuple[AccessKey, ...]:
    """A user's access keys with their last use (``None``: never used)."""
    resource = f"{_user_resource(user_id)}/access-keys"
    keys = clients.marker_pages(
        resource,
        "ListAccessKeysV5",
        lambda m: clients.iam().list_access_keys_v5(
            ListAccessKeysV5Request(user_id=user_id, limit=_PAGE, marker=m)
        ),
        lambda r: r.access_keys,
    )

    def one(key: Any) -> AccessKey:
        used = clients.call_or_none(
            resource,
            "ShowAccessKeyLastUsedV5",
            lambda: clients.iam().show_access_key_last_used_v5(
                ShowAccessKeyLastUsedV5Request(user_id=user_id, access_key_id=key.access_key_id)
            ),
        )
        last = getattr(getattr(used, "access_key_last_used", None), "last_used_at", None)
        return AccessKey(
            str(key.access_key_id), str(key.status or "").lower(), iso(key.created_at), iso(last) or None
        )

    return tuple(_map(one, keys))


def read_login_profile(clients: HuaweiClients, user_id: str) -> LoginProfile | None:
    """The user's console login, ``None`` when it has none."""
    answer = clients.call_or_none(
        f"{_user_resource(user_id)}/login-profile",
        "ShowLoginProfileV5",
        lambda: clients.iam().show_login_profile_v5(ShowLoginProfileV5Request(user_id=user_id)),
    )
    profile = getattr(answer, "login_profile", None)
    if profile is None:
        return None
    return LoginProfile(
        bool(profile.password_reset_required),
        iso(profile.password_expires_at) or None,
        iso(profile.created_at),
    )


def read_mfa_devices(clients: HuaweiClients, user_id: str) -> tuple[MfaDevice, ...] | None:
    """The user's MFA devices; ``None`` when the endpoint does not offer the MFA API (unknown)."""
    try:
        devices = clients.marker_pages(
            f"{_user_resource(user_id)}/mfa",
            "ListMfaDevicesV5",
            lambda m: clients.iam().list_mfa_devices_v5(ListMfaDevicesV5Request(user_id=user_id, marker=m)),
            lambda r: r.mfa_devices,
        )
    except HuaweiCallError as err:
        if err.code == "APIG.0101":  # no such API here (the emulator serves none)
            return None
        raise
    return tuple(MfaDevice(str(d.serial_number), bool(d.enabled)) for d in devices)


def read_groups(clients: HuaweiClients, user_id: str) -> tuple[GroupRef, ...]:
    groups = clients.marker_pages(
        f"{_user_resource(user_id)}/groups",
        "ListGroupsV5",
        lambda m: clients.iam().list_groups_v5(ListGroupsV5Request(user_id=user_id, limit=_PAGE, marker=m)),
        lambda r: r.groups,
    )
    return tuple(GroupRef(str(g.group_id), str(g.group_name)) for g in groups)


def read_user_policies(
    clients: HuaweiClients,
    user_id: str,
    groups: Sequence[GroupRef] = (),
    custom_ids: Collection[str] | None = None,
) -> tuple[AttachedPolicy, ...]:
    """The identity policies attached to the user, then those of its ``groups``; system or custom (the ids
    of the account's custom policies are listed unless given)."""
    custom = set(custom_ids) if custom_ids is not None else _custom_ids(clients)
    direct = clients.marker_pages(
        f"{_user_resource(user_id)}/policies",
        "ListAttachedUserPoliciesV5",
        lambda m: clients.iam().list_attached_user_policies_v5(
            ListAttachedUserPoliciesV5Request(user_id=user_id, limit=_PAGE, marker=m)
        ),
        lambda r: r.attached_policies,
    )
    found = [_attached(p, custom, "direct") for p in direct]
    for group in groups:
        held = clients.marker_pages(
            f"iam.group/{group.name}/policies",
            "ListAttachedGroupPoliciesV5",
            partial(_group_policies, clients, group.group_id),
            lambda r: r.attached_policies,
        )
        found.extend(_attached(p, custom, f"group:{group.name}") for p in held)
    return tuple(found)


def _group_policies(clients: HuaweiClients, group_id: str, marker: str | None) -> Any:
    request = ListAttachedGroupPoliciesV5Request(group_id=group_id, limit=_PAGE, marker=marker)
    return clients.iam().list_attached_group_policies_v5(request)


def _attached(policy: Any, custom: set[str], via: str) -> AttachedPolicy:
    kind = "custom" if str(policy.policy_id) in custom else "system"
    return AttachedPolicy(str(policy.policy_id), str(policy.policy_name), kind, via)


def _custom_ids(clients: HuaweiClients) -> set[str]:
    return {str(p.policy_id) for p in _list_policies(clients, "custom")}


def _list_policies(clients: HuaweiClients, policy_type: str) -> list[Any]:
    return clients.marker_pages(
        "iam.policy",
        "ListPoliciesV5",
        lambda m: clients.iam().list_policies_v5(
            ListPoliciesV5Request(limit=_PAGE, marker=m, policy_type=policy_type)
        ),
        lambda r: r.policies,
    )


def read_user(clients: HuaweiClients, user_id: str, custom_ids: Collection[str] | None = None) -> User:
    """One user and everything that gives it access: keys, console login, MFA, policies, groups, tags."""
    resource = _user_resource(user_id)
    shown = clients.call(
        resource, "ShowUserV5", lambda: clients.iam().show_user_v5(ShowUserV5Request(user_id=user_id))
    ).user
    last = clients.call_or_none(
        resource,
        "ShowUserLastLoginV5",
        lambda: clients.iam().show_user_last_login_v5(ShowUserLastLoginV5Request(user_id=user_id)),
    )
    groups = read_groups(clients, user_id)
    mfa = read_mfa_devices(clients, user_id)
    return User(
        user_id=str(shown.user_id),
        name=str(shown.user_name),
        description=str(shown.description or ""),
        enabled=bool(shown.enabled),
        created=iso(shown.created_at),
        tags=_tags(shown.tags),
        last_login=iso(getattr(getattr(last, "user_last_login", None), "last_login_at", None)) or None,
        access_keys=read_access_keys(clients, user_id),
        login_profile=read_login_profile(clients, user_id),
        mfa_devices=mfa or (),
        mfa_known=mfa is not None,
        policies=read_user_policies(clients, user_id, groups, custom_ids),
        groups=groups,
    )


def read_users(clients: HuaweiClients) -> tuple[User, ...]:
    """Every IAM user in full, concurrently (the custom policies listed once for all)."""
    custom = _custom_ids(clients)
    return tuple(_map(lambda s: read_user(clients, s.user_id, custom), list_users(clients)))


def read_custom_policies(clients: HuaweiClients) -> tuple[CustomPolicy, ...]:
    """Every custom identity policy with its default version's document."""

    def one(policy: Any) -> CustomPolicy:
        version = clients.call(
            f"iam.policy/{policy.policy_name}",
            "GetPolicyVersionV5",
            lambda: clients.iam().get_policy_version_v5(
                GetPolicyVersionV5Request(policy_id=policy.policy_id, version_id=policy.default_version_id)
            ),
        )
        return CustomPolicy(
            str(policy.policy_id),
            str(policy.policy_name),
            str(policy.description or ""),
            str(policy.default_version_id or ""),
            str(version.policy_version.document or ""),
            int(policy.attachment_count or 0),
            iso(policy.created_at),
        )

    return tuple(_map(one, _list_policies(clients, "custom")))


# --- ModelArts, MaaS, VPCEP ---------------------------------------------------------------------------------


def _workspace(shown: Any) -> Workspace:
    grants = tuple(
        Grant(str(g.user_id or ""), str(g.user_name or ""), str(getattr(g, "user_type", "") or "IAM"))
        for g in getattr(shown, "grants", None) or ()
    )
    return Workspace(
        str(shown.id),
        str(shown.name),
        str(shown.status or ""),
        str(shown.auth_type or "").upper(),
        str(shown.owner or ""),
        str(shown.description or ""),
        iso(shown.create_time),
        grants,
    )


def read_workspace(clients: HuaweiClients, workspace_id: str) -> Workspace | None:
    """One workspace with its grants, ``None`` when it does not exist."""
    shown = clients.call_or_none(
        f"modelarts.workspace/{workspace_id}",
        "ShowWorkspace",
        lambda: clients.modelarts().show_workspace(ShowWorkspaceRequest(workspace_id=workspace_id)),
    )
    return _workspace(shown) if shown is not None else None


def read_workspaces(clients: HuaweiClients) -> tuple[Workspace, ...]:
    """Every workspace but the synthetic ``default`` (id ``0``), with its grants (one show per workspace:
    the list carries none)."""
    listed = clients.offset_pages(
        "modelarts.workspace",
        "ListWorkspace",
        lambda offset, limit: clients.modelarts().list_workspace(
            ListWorkspaceRequest(offset=offset, limit=limit)
        ),
        lambda r: r.workspaces,
        lambda r: r.total_count,
        1000,
    )
    ids = [str(w.id) for w in listed if str(w.id) != "0"]
    return tuple(w for w in _map(lambda i: read_workspace(clients, i), ids) if w is not None)


def read_api_keys(clients: HuaweiClients) -> tuple[ApiKey, ...]:
    """Every MaaS API key of the account (signed REST: no SDK method), values masked."""
    path = f"/v2/{clients.project_id}/maas/api-auth/api-keys"
    keys: list[ApiKey] = []
    offset, limit = 0, 100
    while True:
        page = clients.request(
            "maas.api_key",
            "ListMaasApiKeys",
            "modelarts",
            "GET",
            path,
            query={"offset": str(offset), "limit": str(limit)},
        )
        listing = page.get("api_key_list") or {}
        items = listing.get("items") or []
        keys.extend(
            ApiKey(
                str(k.get("id", "")),
                str(k.get("label") or ""),
                str(k.get("description") or ""),
                bool(k.get("allow_all")),
                tuple(str(i) for i in k.get("ip_whitelist") or ()),
                iso(k.get("create_at")),
                str(k.get("api_key") or ""),
                str(k["owner"]) if k.get("owner") else None,
            )
            for k in items
        )
        offset += len(items)
        if not items or offset >= int(listing.get("total") or 0):
            return tuple(keys)


def read_endpoints(clients: HuaweiClients) -> tuple[VpcEndpoint, ...]:
    """Every VPC endpoint of the project."""
    listed = clients.offset_pages(
        "vpcep.endpoint",
        "ListEndpoints",
        lambda offset, limit: clients.vpcep().list_endpoints(
            ListEndpointsRequest(offset=offset, limit=limit)
        ),
        lambda r: r.endpoints,
        lambda r: r.total_count,
        1000,
    )
    return tuple(
        VpcEndpoint(
            str(e.id),
            str(e.endpoint_service_id or ""),
            str(e.endpoint_service_name or ""),
            str(e.status or ""),
            str(e.vpc_id or ""),
            str(e.subnet_id or ""),
            str(e.ip or ""),
            tuple(str(d) for d in e.dns_names or ()),
            _tags(e.tags, "key", "value"),
            str(e.description or ""),
            iso(e.created_at),
        )
        for e in listed
    )


# --- Organizations ------------------------------------------------------------------------------------------


def read_scps(clients: HuaweiClients) -> tuple[Scp, ...]:
    """Every service control policy with its content and attachments."""
    listed = clients.marker_pages(
        "organizations.policy",
        "ListPolicies",
        lambda m: clients.organizations().list_policies(ListPoliciesRequest(limit=200, marker=m)),
        lambda r: r.policies,
    )

    def one(summary: Any) -> Scp:
        resource = f"organizations.policy/{summary.name}"
        shown = clients.call(
            resource,
            "ShowPolicy",
            lambda: clients.organizations().show_policy(ShowPolicyRequest(policy_id=summary.id)),
        )
        entities = clients.marker_pages(
            resource,
            "ListEntitiesForPolicy",
            lambda m: clients.organizations().list_entities_for_policy(
                ListEntitiesForPolicyRequest(policy_id=summary.id, limit=200, marker=m)
            ),
            lambda r: r.attached_entities,
        )
        return Scp(
            str(summary.id),
            str(summary.name),
            str(summary.description or ""),
            bool(summary.is_builtin),
            str(shown.policy.content or ""),
            tuple(ScpAttachment(str(e.id), str(e.name or ""), str(e.type or "")) for e in entities),
        )

    scps = [
        s
        for s in listed
        if str(getattr(s, "type", "") or "service_control_policy") == "service_control_policy"
    ]
    return tuple(_map(one, scps))


# --- the whole account --------------------------------------------------------------------------------------


def read_account(clients: HuaweiClients) -> HuaweiAccount:
    """Everything the audit and the checks need, the independent reads run concurrently. SCPs that cannot be
    read (no organization, SCPs not enabled, not the management account) leave a note instead."""
    caller = read_caller(clients)
    project_id = clients.project_id
    with ThreadPoolExecutor(max_workers=6) as pool:
        users = pool.submit(read_users, clients)
        policies = pool.submit(read_custom_policies, clients)
        workspaces = pool.submit(read_workspaces, clients)
        keys = pool.submit(read_api_keys, clients)
        endpoints = pool.submit(read_endpoints, clients)
        scps = pool.submit(read_scps, clients)
        notes: list[str] = []
        try:
            scp_list = scps.result()
        except HuaweiCallError as err:
            if err.outcome not in (Outcome.FAIL, Outcome.GONE) or err.code.startswith("APIG.0301"):
                raise
            scp_list = ()
            notes.append(
                f"SCPs not read: {err.action} answered {err.code} ({err.cloud_message}); "
                "guardrails are unknown"
            )
        account = HuaweiAccount(
            caller,
            clients.target.region,
            project_id,
            users.result(),
            policies.result(),
            workspaces.result(),
            keys.result(),
            endpoints.result(),
            scp_list,
        )
    if any(not u.mfa_known for u in account.users):
        notes.append(
            "MFA devices not read: the endpoint offers no MFA API; console users count as without MFA"
        )
    return replace(account, notes=tuple(notes))

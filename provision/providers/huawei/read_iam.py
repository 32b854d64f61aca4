"""The reader of IAM v5 and STS facts: the caller, users with their keys, console login, MFA, policies and
groups, and the custom identity policies (typed, frozen; no secret)."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

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
from huaweicloudsdksts.v1 import GetCallerIdentityRequest

from provision.providers.huawei.clients import HuaweiCallError, HuaweiClients
from provision.providers.huawei.read_common import PAGE, each, iso, tags

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


def user_resource(user_id: str) -> str:
    return f"iam.user/{user_id}"


# --- the readers --------------------------------------------------------------------------------------------


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
        lambda m: clients.iam().list_users_v5(ListUsersV5Request(limit=PAGE, marker=m)),
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


def read_user_tags(clients: HuaweiClients, user_id: str) -> tuple[tuple[str, str], ...]:
    """A user's tags (``show_user_v5``: the user list carries none), e.g. to find the users a manifest
    manages among those it does not name."""
    shown = clients.call(
        user_resource(user_id),
        "ShowUserV5",
        lambda: clients.iam().show_user_v5(ShowUserV5Request(user_id=user_id)),
    ).user
    return tags(shown.tags)


def read_access_keys(clients: HuaweiClients, user_id: str) -> tuple[AccessKey, ...]:
    """A user's access keys with their last use (``None``: never used)."""
    resource = f"{user_resource(user_id)}/access-keys"
    keys = clients.marker_pages(
        resource,
        "ListAccessKeysV5",
        lambda m: clients.iam().list_access_keys_v5(
            ListAccessKeysV5Request(user_id=user_id, limit=PAGE, marker=m)
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

    return tuple(each(one, keys))


def read_login_profile(clients: HuaweiClients, user_id: str) -> LoginProfile | None:
    """The user's console login, ``None`` when it has none."""
    answer = clients.call_or_none(
        f"{user_resource(user_id)}/login-profile",
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
            f"{user_resource(user_id)}/mfa",
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
        f"{user_resource(user_id)}/groups",
        "ListGroupsV5",
        lambda m: clients.iam().list_groups_v5(ListGroupsV5Request(user_id=user_id, limit=PAGE, marker=m)),
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
        f"{user_resource(user_id)}/policies",
        "ListAttachedUserPoliciesV5",
        lambda m: clients.iam().list_attached_user_policies_v5(
            ListAttachedUserPoliciesV5Request(user_id=user_id, limit=PAGE, marker=m)
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
    request = ListAttachedGroupPoliciesV5Request(group_id=group_id, limit=PAGE, marker=marker)
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
            ListPoliciesV5Request(limit=PAGE, marker=m, policy_type=policy_type)
        ),
        lambda r: r.policies,
    )


def read_user(clients: HuaweiClients, user_id: str, custom_ids: Collection[str] | None = None) -> User:
    """One user and everything that gives it access: keys, console login, MFA, policies, groups, tags."""
    resource = user_resource(user_id)
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
        tags=tags(shown.tags),
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
    return tuple(each(lambda s: read_user(clients, s.user_id, custom), list_users(clients)))


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

    return tuple(each(one, _list_policies(clients, "custom")))

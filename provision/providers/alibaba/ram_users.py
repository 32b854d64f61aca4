"""The one reader of a RAM user: what gives it access (policies, groups, AccessKeys, console login, MFA
device) and who owns it (the ``Comments`` marker, read by :class:`markers.Owner`).

Plan (the RAM provider's read), apply (a create that meets an existing user, a delete's cascade), revoke
(what it strips and proves), verify (the proofs of a revoked user) and the audit all read users here and
judge ownership with the same rule. Reads only; no secret is ever read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from alibabacloud_ram20150501 import models as ram

from provision.desired.kinds import Kind
from provision.providers.alibaba.base import Clients
from provision.providers.alibaba.calls import CallError
from provision.providers.common.markers import Owner
from provision.providers.common.outcomes import Outcome
from provision.providers.common.pagers import marker_pager


@dataclass(frozen=True)
class AttachedPolicy:
    """A policy attached to a user, directly (``group`` empty) or through one of its groups."""

    name: str
    policy_type: str  # System | Custom
    group: str = ""
    document: str = ""  # the default version's JSON, custom policies only (the audit fills it)


@dataclass(frozen=True)
class KeyFacts:
    """One AccessKey of a user as ListAccessKeys shows it (never its secret)."""

    access_key_id: str
    status: str  # Active | Inactive
    create_date: str  # ISO-8601, as RAM writes it
    last_used: str | None = None  # GetAccessKeyLastUsed (audit only); None = never used, or not read

    @property
    def active(self) -> bool:
        return self.status == "Active"


@dataclass(frozen=True)
class LoginFacts:
    password_reset_required: bool
    mfa_bind_required: bool


@dataclass(frozen=True)
class UserFacts:
    """One RAM user and everything that gives it access. ``groups`` and ``mfa_serial`` are read only by a
    full read (``full=True``): a plan reads them for the users it may delete, revoke and audit always."""

    name: str
    exists: bool
    user_id: str = ""
    display_name: str = ""
    email: str = ""
    comments: str = ""
    create_date: str = ""
    login: LoginFacts | None = None
    login_code: str = ""  # GetLoginProfile's error code when there is no profile
    keys: tuple[KeyFacts, ...] = ()
    policies: tuple[AttachedPolicy, ...] = ()
    groups: tuple[str, ...] = ()
    mfa_serial: str | None = None  # the bound MFA device, if any
    full: bool = False  # groups and the MFA device were read

    @property
    def owner(self) -> Owner:
        """Who the user's ``Comments`` marker says owns it."""
        return Owner.from_comments(self.comments)

    @property
    def managed(self) -> bool:
        """Marked by provision, for whichever manifest (the audit's sense; plan and revoke ask
        ``owner.ours(manifest)``)."""
        return self.owner.marked


def list_users(clients: Clients) -> list[Any]:
    """ListUsers, every page."""
    client = clients.ram()
    return clients.paginate("ram.user/*", "ListUsers", marker_pager(
        lambda marker: client.list_users(ram.ListUsersRequest(marker=marker, max_items=1000)),
        lambda body: body.users.user if body.users else None))


def read_user(clients: Clients, name: str, listed: Any | None = None, *, full: bool = True,
              last_used: bool = False) -> UserFacts:
    """Everything RAM says about ``name``: GetUser (unless ``listed``, its ListUsers item, is given),
    ListPoliciesForUser, ListAccessKeys (GetAccessKeyLastUsed per key with ``last_used``), GetLoginProfile,
    and with ``full`` ListGroupsForUser and GetUserMFAInfo. A missing user reads as existing not, with
    nothing."""
    key = f"{Kind.USER}/{name}"
    client = clients.ram()
    user = listed
    if user is None:
        found = clients.call_or_none(key, "GetUser",
                                     lambda: client.get_user(ram.GetUserRequest(user_name=name)))
        if found is None:
            return UserFacts(name=name, exists=False, login_code="EntityNotExist.User", full=full)
        user = found.body.user
    login, login_code = _login(clients, name)
    groups: tuple[str, ...] = ()
    mfa: str | None = None
    if full:
        groups = tuple(g.group_name for g in ram_items(clients.call_or_none(
            key, "ListGroupsForUser", lambda: client.list_groups_for_user(
                ram.ListGroupsForUserRequest(user_name=name))), "groups", "group"))
        mfa = mfa_serial(clients, name)
    return UserFacts(
        name=name, exists=True, user_id=str(user.user_id or ""), display_name=str(user.display_name or ""),
        email=str(user.email or ""), comments=str(user.comments or ""),
        create_date=str(user.create_date or ""),
        login=login, login_code=login_code, keys=tuple(access_keys(clients, name, last_used=last_used)),
        policies=tuple(attached_policies(clients, name)), groups=groups, mfa_serial=mfa, full=full)


def attached_policies(clients: Clients, name: str) -> list[AttachedPolicy]:
    """ListPoliciesForUser: the policies attached to the user directly."""
    response = clients.call_or_none(f"{Kind.USER}/{name}", "ListPoliciesForUser",
                                    lambda: clients.ram().list_policies_for_user(
                                        ram.ListPoliciesForUserRequest(user_name=name)))
    return [AttachedPolicy(str(p.policy_name), str(p.policy_type))
            for p in ram_items(response, "policies", "policy")]


def access_keys(clients: Clients, user: str, *, last_used: bool = False) -> list[KeyFacts]:
    """ListAccessKeys (a missing user has none), oldest first; with ``last_used`` GetAccessKeyLastUsed
    per key."""
    key = f"{Kind.ACCESS_KEYS}/{user}"
    client = clients.ram()
    listed = clients.call_or_none(key, "ListAccessKeys", lambda: client.list_access_keys(
        ram.ListAccessKeysRequest(user_name=user)))
    found = []
    for item in ram_items(listed, "access_keys", "access_key"):
        used: str | None = None
        if last_used:
            request = ram.GetAccessKeyLastUsedRequest(user_name=user, user_access_key_id=item.access_key_id)
            answer = clients.call_or_none(key, "GetAccessKeyLastUsed",
                                          partial(client.get_access_key_last_used, request))
            last = answer.body.access_key_last_used if answer is not None else None
            used = str(last.last_used_date) if last and last.last_used_date else None
        found.append(KeyFacts(str(item.access_key_id), str(item.status or ""), str(item.create_date or ""),
                              used))
    return sorted(found, key=lambda k: k.create_date)


def mfa_serial(clients: Clients, name: str) -> str | None:
    """GetUserMFAInfo: the serial number of the user's bound MFA device, if any."""
    request = ram.GetUserMFAInfoRequest(user_name=name)
    resp = clients.call_or_none(f"{Kind.USER}/{name}", "GetUserMFAInfo",
                                lambda: clients.ram().get_user_mfainfo(request))
    device = resp.body.mfadevice if resp else None
    return str(device.serial_number) if device and device.serial_number else None


def _login(clients: Clients, name: str) -> tuple[LoginFacts | None, str]:
    """GetLoginProfile: the profile, or None and the cloud's code saying there is none."""
    fetch: Callable[[], Any] = lambda: clients.ram().get_login_profile(  # noqa: E731
        ram.GetLoginProfileRequest(user_name=name))
    try:
        profile = clients.call(f"{Kind.LOGIN_PROFILE}/{name}", "GetLoginProfile", fetch)
    except CallError as err:
        if err.outcome is not Outcome.GONE:
            raise
        return None, err.code
    lp = profile.body.login_profile
    if lp is None:
        return None, "EntityNotExist.User.LoginProfile"
    return LoginFacts(bool(lp.password_reset_required), bool(lp.mfabind_required)), ""


def ram_items(response: Any, outer: str, inner: str) -> list[Any]:
    """RAM's doubly wrapped lists (``Policies.Policy``), empty when the call found nothing."""
    wrapper = getattr(response.body, outer, None) if response is not None else None
    return list(getattr(wrapper, inner, None) or []) if wrapper is not None else []

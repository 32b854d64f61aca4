"""RAM: users and policy attachments here; AccessKeys and console logins in ``ram_credentials``, custom
policies in ``ram_policies``.

A user is managed when its ``Comments`` carry this manifest's marker (``resources.comments_marker``; RAM
users cannot be tagged); a custom policy when tagged ``managed-by=provision`` (and this manifest).
Secrets (AccessKey secrets, console passwords) are written to the sink before anything else happens
with them.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

from alibabacloud_ram20150501 import models as ram

from provision.desired.resources import (
    MARKER,
    AccessKeysSpec,
    AttachmentSpec,
    Desired,
    Kind,
    Live,
    LoginProfileSpec,
    UserSpec,
)
from provision.plan.cascade import DETAIL_GROUPS, DETAIL_MFA
from provision.plan.diff import Action, Change
from provision.providers.alibaba.base import Clients
from provision.providers.alibaba.calls import CallError, Outcome, marker_pager
from provision.providers.alibaba.markers import comments_marker, comments_owner, owns
from provision.providers.alibaba.ram_credentials import ALREADY_GONE, DONE, Credentials, Step, run_step
from provision.providers.alibaba.ram_policies import PolicyManager
from provision.state.secrets import SecretSink
from provision.state.statefile import StateFile

_COMMENTS_MAX = 128


def with_marker(comments: str, manifest: str = "") -> str:
    """``comments`` with the ownership marker of ``manifest`` (replacing any earlier marker), within RAM's
    128-character limit."""
    marker = comments_marker(manifest)
    kept = comments.split(MARKER, 1)[0].strip()
    room = _COMMENTS_MAX - len(marker) - 1
    return f"{kept[:room]} {marker}".strip()


@dataclass(frozen=True)
class UserAccess:
    """What RAM still lists for a user that can give access (nothing, once it is revoked)."""

    user: str
    exists: bool
    managed: bool
    access_keys: tuple[str, ...]  # ids, active or not
    login_profile_code: str  # GetLoginProfile's error code when there is no profile; "" when there is one
    policies: tuple[tuple[str, str], ...]  # (policy_type, policy_name)
    groups: tuple[str, ...]
    mfa_serial: str | None


class RamProvider:
    """Reads and changes RAM users and everything hanging off them, and custom policies."""

    kinds: tuple[Kind, ...] = (Kind.USER, Kind.LOGIN_PROFILE, Kind.ACCESS_KEYS, Kind.POLICY, Kind.ATTACHMENT)

    def __init__(self, clients: Clients, sink: SecretSink, state: StateFile, workers: int = 8) -> None:
        self.clients = clients
        self.sink = sink
        self.workers = workers
        self.policies = PolicyManager(clients, workers)
        self.credentials = Credentials(clients, sink, state)
        self.manifest = ""  # the manifest of the last read: the owner written into markers

    def ours(self, comments: str | None) -> bool:
        """Whether a user's Comments mark it as this manifest's (a nameless marker counts)."""
        owner = comments_owner(comments)
        return owner is not None and owns(self.manifest, owner)

    # -- read -----------------------------------------------------------------------------------------
    def read(self, desired: Desired) -> list[Live]:
        """ListUsers once; per relevant user ListPoliciesForUser, ListAccessKeys, GetLoginProfile. Users
        marked for another manifest are left out unless declared (then they read as unmanaged)."""
        self.manifest = desired.manifest
        specs = (*desired.present, *desired.absent)
        named = {s.user for s in specs if isinstance(s, UserSpec | LoginProfileSpec | AccessKeysSpec
                                                      | AttachmentSpec)}
        absent = {s.user for s in desired.absent if isinstance(s, UserSpec)}
        users = self.clients.paginate("ram.user/*", "ListUsers", marker_pager(
            lambda marker: self.ram.list_users(ram.ListUsersRequest(marker=marker, max_items=1000)),
            lambda body: body.users.user if body.users else None))
        relevant = [u for u in users if self.ours(u.comments) or u.user_name in named]
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            per_user = list(pool.map(lambda u: self._read_user(u, u.user_name in absent), relevant))
        return [live for lives in per_user for live in lives] + self.policies.read(desired)

    def _read_user(self, user: Any, detailed: bool) -> list[Live]:
        name: str = user.user_name
        managed = self.ours(user.comments)
        key = f"{Kind.USER}/{name}"
        details: list[tuple[str, str]] = []
        if detailed:  # what a delete's cascade will have to remove
            details.append((DETAIL_GROUPS, ",".join(self._groups(name))))
            mfa = self._mfa_serial(name)
            if mfa:
                details.append((DETAIL_MFA, mfa))
        lives = [Live(UserSpec(user=name, display_name=user.display_name or "", email=user.email or ""),
                      managed=managed, cloud_id=user.user_id or "", details=tuple(details))]
        for policy in self._attached(name):
            lives.append(Live(AttachmentSpec(user=name, policy=policy.policy_name,
                                             policy_type=policy.policy_type), managed=managed))
        keys = self.credentials.list_keys(name)
        if managed:
            self.credentials.forget_missing(name, keys)
        active = [k.access_key_id for k in keys if k.active]
        if active:
            held = self.sink.access_keys(name)
            lives.append(Live(AccessKeysSpec(user=name, count=len(active), key_ids=tuple(active),
                                             missing_secret=tuple(k for k in active if k not in held)),
                              managed=managed))
        profile = self.clients.call_or_none(key, "GetLoginProfile", lambda: self.ram.get_login_profile(
            ram.GetLoginProfileRequest(user_name=name)))
        if profile is not None:
            lp = profile.body.login_profile
            spec = LoginProfileSpec(user=name, password_reset_required=bool(lp.password_reset_required),
                                    mfa_bind_required=bool(lp.mfabind_required))
            lives.append(Live(spec, managed=managed))
        return lives

    def access_of(self, name: str) -> UserAccess:
        """What still gives ``name`` access: GetUser, ListAccessKeys, GetLoginProfile, ListPoliciesForUser,
        ListGroupsForUser, GetUserMFAInfo (a missing user reads as having nothing)."""
        key = f"{Kind.USER}/{name}"
        user = self.clients.call_or_none(key, "GetUser", lambda: self.ram.get_user(
            ram.GetUserRequest(user_name=name)))
        login_code = ""
        try:
            self.clients.call(key, "GetLoginProfile", lambda: self.ram.get_login_profile(
                ram.GetLoginProfileRequest(user_name=name)))
        except CallError as err:
            if err.outcome is not Outcome.GONE:
                raise
            login_code = err.code
        return UserAccess(
            user=name, exists=user is not None,
            managed=user is not None and MARKER in (user.body.user.comments or ""),
            access_keys=tuple(k.access_key_id for k in self.credentials.list_keys(name)),
            login_profile_code=login_code,
            policies=tuple((p.policy_type, p.policy_name) for p in self._attached(name)),
            groups=tuple(self._groups(name)), mfa_serial=self._mfa_serial(name))

    def _attached(self, name: str) -> list[Any]:
        resp = self.clients.call_or_none(f"{Kind.USER}/{name}", "ListPoliciesForUser",
                                         lambda: self.ram.list_policies_for_user(
                                             ram.ListPoliciesForUserRequest(user_name=name)))
        return list(resp.body.policies.policy or []) if resp and resp.body.policies else []

    def _groups(self, name: str) -> list[str]:
        resp = self.clients.call_or_none(f"{Kind.USER}/{name}", "ListGroupsForUser",
                                         lambda: self.ram.list_groups_for_user(
                                             ram.ListGroupsForUserRequest(user_name=name)))
        return [g.group_name for g in resp.body.groups.group or []] if resp and resp.body.groups else []

    def _mfa_serial(self, name: str) -> str | None:
        request = ram.GetUserMFAInfoRequest(user_name=name)
        resp = self.clients.call_or_none(f"{Kind.USER}/{name}", "GetUserMFAInfo",
                                         lambda: self.ram.get_user_mfainfo(request))
        device = resp.body.mfadevice if resp else None
        return str(device.serial_number) if device and device.serial_number else None

    # -- execute --------------------------------------------------------------------------------------
    def execute(self, change: Change) -> str:
        """Carry out one RAM change (see each handler for its calls and idempotency)."""
        handlers: dict[str, Callable[[Change], str]] = {
            Kind.USER: self._user, Kind.LOGIN_PROFILE: self.credentials.execute_login,
            Kind.ACCESS_KEYS: self.credentials.execute, Kind.POLICY: self.policies.execute,
            Kind.ATTACHMENT: self._attachment,
        }
        return handlers[change.kind](change)

    @property
    def ram(self) -> Any:
        return self.clients.ram()

    # users
    def _user(self, change: Change) -> str:
        """CreateUser (marker in Comments; 409 → done if managed) / UpdateUser / the safe delete cascade."""
        spec = change.spec
        assert isinstance(spec, UserSpec)
        if change.action is Action.DELETE:
            return self._delete_user(spec.user)
        if change.action is Action.CREATE:
            request = ram.CreateUserRequest(user_name=spec.user, display_name=spec.display_name or spec.user,
                                            email=spec.email or None, comments=comments_marker(self.manifest))
            try:
                self.clients.call(change.key, "CreateUser", lambda: self.ram.create_user(request))
                return f"created {change.key}"
            except CallError as err:
                if err.outcome is not Outcome.EXISTS or not self._user_comments(spec.user)[1]:
                    raise
        return self._update_user(change.key, spec)

    def _user_comments(self, name: str) -> tuple[Any, bool]:
        user = self.clients.call(f"{Kind.USER}/{name}", "GetUser",
                                 lambda: self.ram.get_user(ram.GetUserRequest(user_name=name))).body.user
        return user, self.ours(user.comments)

    def _update_user(self, key: str, spec: UserSpec) -> str:
        """UpdateUser with the declared fields that differ; adoption writes the marker into Comments."""
        user, managed = self._user_comments(spec.user)
        request = ram.UpdateUserRequest(user_name=spec.user)
        changed = []
        if spec.display_name is not None and spec.display_name != (user.display_name or ""):
            request.new_display_name = spec.display_name
            changed.append("display_name")
        if spec.email is not None and spec.email != (user.email or ""):
            request.new_email = spec.email
            changed.append("email")
        if not managed:
            request.new_comments = with_marker(user.comments or "", self.manifest)
            changed.append("adopted")
        if not changed:
            return f"{key} already in sync"
        self.clients.call(key, "UpdateUser", lambda: self.ram.update_user(request))
        return f"updated {key}: {', '.join(changed)}"

    def _delete_user(self, name: str) -> str:
        """The safe cascade of :meth:`strip_user`, then DeleteUser; gone = done at each step."""
        steps = [*self.strip_user(name), self.remove_user(name)]
        failed = next((step.error for step in steps if step.error is not None), None)
        if failed is not None:
            raise failed
        key = f"{Kind.USER}/{name}"
        if steps[-1].result == ALREADY_GONE:
            return f"{key} already absent"
        removed = "; ".join(step.step for step in steps[:-1] if step.result == DONE)
        return f"deleted {key}" + (f" (removed {removed})" if removed else "")

    def strip_user(self, name: str) -> list[Step]:
        """Lock the user out, then remove its permissions: each AccessKey deactivated then deleted, the
        login profile, policies, groups, the MFA device (unbound, deleted). Gone = done at each step;
        a failed step is recorded and the later steps still run."""
        key = f"{Kind.USER}/{name}"
        step = partial(run_step, self.clients, key)
        steps: list[Step] = []
        for access_key in self.credentials.list_keys(name):
            steps += self.credentials.delete_key_steps(name, access_key.access_key_id)
        if not steps:
            steps.append(Step("delete access keys", ALREADY_GONE))
        steps.append(self.credentials.delete_login_step(name))
        steps += [step(f"detach policy {p.policy_type}:{p.policy_name}", "DetachPolicyFromUser", partial(
            self.ram.detach_policy_from_user, ram.DetachPolicyFromUserRequest(
                user_name=name, policy_name=p.policy_name, policy_type=p.policy_type)))
                  for p in self._attached(name)] or [Step("detach policies", ALREADY_GONE)]
        steps += [step(f"remove from group {g}", "RemoveUserFromGroup", partial(
            self.ram.remove_user_from_group, ram.RemoveUserFromGroupRequest(group_name=g, user_name=name)))
                  for g in self._groups(name)] or [Step("remove from groups", ALREADY_GONE)]
        serial = self._mfa_serial(name)
        if serial:
            steps.append(step(f"unbind MFA device {serial}", "UnbindMFADevice", partial(
                self.ram.unbind_mfadevice, ram.UnbindMFADeviceRequest(user_name=name))))
            steps.append(step(f"delete MFA device {serial}", "DeleteVirtualMFADevice", partial(
                self.ram.delete_virtual_mfadevice, ram.DeleteVirtualMFADeviceRequest(serial_number=serial))))
        else:
            steps.append(Step("unbind MFA device", ALREADY_GONE))
        return steps

    def remove_user(self, name: str) -> Step:
        """DeleteUser once :meth:`strip_user` has emptied it (gone = done)."""
        return run_step(self.clients, f"{Kind.USER}/{name}", "delete user", "DeleteUser", partial(
            self.ram.delete_user, ram.DeleteUserRequest(user_name=name)))

    # attachments
    def _attachment(self, change: Change) -> str:
        """AttachPolicyToUser (already attached = done) / DetachPolicyFromUser (not attached = done)."""
        spec = change.spec
        assert isinstance(spec, AttachmentSpec)
        if change.action is Action.DELETE:
            self._detach(change.key, spec.user, spec.policy, spec.policy_type)
            return f"detached {spec.policy_type}:{spec.policy} from {spec.user}"
        self.clients.call_or_none(change.key, "AttachPolicyToUser", lambda: self.ram.attach_policy_to_user(
            ram.AttachPolicyToUserRequest(user_name=spec.user, policy_name=spec.policy,
                                          policy_type=spec.policy_type)), tolerate=Outcome.EXISTS)
        return f"attached {spec.policy_type}:{spec.policy} to {spec.user}"

    def _detach(self, key: str, user: str, policy: str, policy_type: str) -> None:
        self.clients.call_or_none(key, "DetachPolicyFromUser", lambda: self.ram.detach_policy_from_user(
            ram.DetachPolicyFromUserRequest(user_name=user, policy_name=policy, policy_type=policy_type)))


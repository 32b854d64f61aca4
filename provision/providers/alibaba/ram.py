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
from functools import partial
from typing import Any

from alibabacloud_ram20150501 import models as ram

from provision.desired.kinds import MARKER, Kind
from provision.desired.live import Live
from provision.desired.model import Desired
from provision.desired.resources import AccessKeysSpec, AttachmentSpec, LoginProfileSpec, UserSpec
from provision.plan.diff import Action, Change, InSync
from provision.providers.alibaba.base import Clients
from provision.providers.alibaba.calls import CallError
from provision.providers.alibaba.delete_run import run_delete
from provision.providers.alibaba.delete_steps import run_step
from provision.providers.alibaba.ram_credentials import Credentials
from provision.providers.alibaba.ram_policies import PolicyManager
from provision.providers.alibaba.ram_users import UserFacts, list_users, read_user
from provision.providers.common.delete_steps import DeleteStep, labels
from provision.providers.common.markers import Owner, comments_marker, same_manifest
from provision.providers.common.outcomes import Outcome
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


class RamProvider:
    """Reads and changes RAM users and everything hanging off them, and custom policies."""

    kinds: tuple[Kind, ...] = (Kind.USER, Kind.LOGIN_PROFILE, Kind.ACCESS_KEYS, Kind.POLICY, Kind.ATTACHMENT)

    def __init__(self, clients: Clients, sink: SecretSink, state: StateFile, workers: int = 8,
                 manifest: str = "") -> None:
        self.clients = clients
        self.sink = sink
        self.workers = workers
        self.policies = PolicyManager(clients, workers, manifest)
        self.credentials = Credentials(clients, sink, state)
        self.manifest = manifest  # the owner it judges by and writes into markers

    # -- read -----------------------------------------------------------------------------------------
    def read(self, desired: Desired) -> list[Live]:
        """ListUsers once; per relevant user the one reader (``ram_users.read_user``: policies, keys,
        login; groups and MFA too for users declared absent, whose delete cascade needs them). Users marked
        for another manifest are left out unless declared (then they read as unmanaged)."""
        same_manifest(self.manifest, desired.manifest, "the RAM provider")
        specs = (*desired.present, *desired.absent)
        named = {s.user for s in specs if isinstance(s, UserSpec | LoginProfileSpec | AccessKeysSpec
                                                      | AttachmentSpec)}
        absent = {s.user for s in desired.absent if isinstance(s, UserSpec)}
        relevant = [u for u in list_users(self.clients)
                    if Owner.from_comments(u.comments).ours(self.manifest) or u.user_name in named]
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            facts = list(pool.map(lambda u: read_user(self.clients, u.user_name, u,
                                                      full=u.user_name in absent), relevant))
        return [live for user in facts for live in self.lives(user, desired.manifest)] + \
            self.policies.read(desired)

    def lives(self, user: UserFacts, manifest: str) -> list[Live]:
        """The live resources of one user as ``manifest`` sees them (managed when its marker is
        ``manifest``'s); a fully read user carries its delete cascade."""
        name = user.name
        managed = user.owner.ours(manifest)
        cascade = labels(self.delete_steps(user)) if user.full else ()
        lives = [Live(UserSpec(user=name, display_name=user.display_name, email=user.email),
                      managed=managed, cloud_id=user.user_id, cascade=cascade)]
        lives += [Live(AttachmentSpec(user=name, policy=p.name, policy_type=p.policy_type), managed=managed)
                  for p in user.policies]
        active = [k.access_key_id for k in user.keys if k.active]
        held = self.sink.held_keys(name, active, {k.access_key_id for k in user.keys})
        # secrets of keys the account no longer lists (deleted outside the tool): apply makes the sink
        # forget them (RamCredentials.forget_missing); a read changes nothing
        dead = held.dead if managed else ()
        if active or dead:
            lives.append(Live(AccessKeysSpec(user=name, count=len(active), key_ids=tuple(active),
                                             missing_secret=held.missing, dead_in_sink=dead),
                              managed=managed))
        if user.login is not None:
            spec = LoginProfileSpec(user=name, password_reset_required=user.login.password_reset_required,
                                    mfa_bind_required=user.login.mfa_bind_required)
            lives.append(Live(spec, managed=managed))
        return lives

    def user(self, name: str) -> UserFacts:
        """Everything RAM says about ``name`` (the one reader, full): what revoke strips and proves."""
        return read_user(self.clients, name)

    # -- delete steps ---------------------------------------------------------------------------------
    def strip_steps(self, user: UserFacts) -> list[DeleteStep]:
        """Lock the user out, then remove its permissions: each AccessKey deactivated then deleted, the
        login profile, policies, groups, the MFA device (unbound, then deleted). Built from ``user`` (read
        fully): the plan shows these labels, apply and revoke run these steps."""
        key = f"{Kind.USER}/{user.name}"
        name = user.name

        def step(label: str, action: str, fn: Callable[[], Any]) -> DeleteStep:
            return DeleteStep(label, partial(run_step, self.clients, key, label, action, fn))

        steps = [s for k in user.keys for s in self.credentials.delete_key_steps(name, k.access_key_id)]
        if user.login is not None:
            steps.append(self.credentials.delete_login_step(name))
        steps += [step(f"detach policy {p.policy_type}:{p.name}", "DetachPolicyFromUser", partial(
            self.ram.detach_policy_from_user, ram.DetachPolicyFromUserRequest(
                user_name=name, policy_name=p.name, policy_type=p.policy_type))) for p in user.policies]
        steps += [step(f"remove from group {g}", "RemoveUserFromGroup", partial(
            self.ram.remove_user_from_group, ram.RemoveUserFromGroupRequest(group_name=g, user_name=name)))
                  for g in user.groups]
        if user.mfa_serial:
            serial = user.mfa_serial
            steps.append(step(f"unbind MFA device {serial}", "UnbindMFADevice", partial(
                self.ram.unbind_mfadevice, ram.UnbindMFADeviceRequest(user_name=name))))
            steps.append(step(f"delete MFA device {serial}", "DeleteVirtualMFADevice", partial(
                self.ram.delete_virtual_mfadevice, ram.DeleteVirtualMFADeviceRequest(serial_number=serial))))
        return steps

    def delete_steps(self, user: UserFacts) -> list[DeleteStep]:
        """:meth:`strip_steps`, then DeleteUser (gone = done)."""
        delete = partial(self.ram.delete_user, ram.DeleteUserRequest(user_name=user.name))
        return [*self.strip_steps(user), DeleteStep("delete user", partial(
            run_step, self.clients, f"{Kind.USER}/{user.name}", "delete user", "DeleteUser", delete))]

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
        spec = change.spec_as(UserSpec)
        if change.action is Action.DELETE:
            return self._delete_user(change.key, spec.user, change.cascade)
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
        return user, Owner.from_comments(user.comments).ours(self.manifest)

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
            return InSync(f"{key} already in sync")
        self.clients.call(key, "UpdateUser", lambda: self.ram.update_user(request))
        return f"updated {key}: {', '.join(changed)}"

    def _delete_user(self, key: str, name: str, planned: tuple[str, ...]) -> str:
        """The steps :meth:`delete_steps` builds from a fresh read, which must be the ones the plan showed
        (``planned``); gone = done at each step."""
        user = read_user(self.clients, name)
        if not user.exists:
            return InSync(f"{key} already absent")
        return run_delete(key, self.delete_steps(user), planned)

    # attachments
    def _attachment(self, change: Change) -> str:
        """AttachPolicyToUser (already attached = done) / DetachPolicyFromUser (not attached = done)."""
        spec = change.spec_as(AttachmentSpec)
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


"""RAM credentials of a user: its AccessKeys (0-2) and its console login profile.

Every secret the cloud returns (an AccessKey secret, a generated password) goes to the sink before
anything else happens with it. A key the account no longer lists is forgotten by the sink when the
user's keys are read, so the sink's standard ``ALIBABA_CLOUD_ACCESS_KEY_*`` pair always names a live key.
"""

from __future__ import annotations

import secrets
import string
from functools import partial
from typing import Any

from alibabacloud_ram20150501 import models as ram

from provision.desired.kinds import Kind
from provision.desired.resources import AccessKeysSpec, LoginProfileSpec
from provision.plan.diff import Action, Change, InSync
from provision.providers.alibaba.base import Clients
from provision.providers.alibaba.calls import CallError
from provision.providers.alibaba.delete_steps import run_step
from provision.providers.alibaba.ram_users import KeyFacts, access_keys
from provision.providers.common.delete_steps import DeleteStep, Step, first_failure
from provision.providers.common.outcomes import Outcome
from provision.providers.common.policies import once_then_find
from provision.state.intents import after_create
from provision.state.secrets import SecretSink
from provision.state.statefile import StateFile

_MAX_KEYS = 2  # RAM allows two AccessKeys per user
_PASSWORD_LENGTH = 24
_SYMBOLS = "!@#$%^&*()-_=+[]{}<>?"


def generate_password() -> str:
    """A random console password with every character class (passes any RAM password policy)."""
    alphabet = string.ascii_letters + string.digits + _SYMBOLS
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(_PASSWORD_LENGTH))
        if all(any(c in group for c in password) for group in
               (string.ascii_lowercase, string.ascii_uppercase, string.digits, _SYMBOLS)):
            return password


class Credentials:
    """The AccessKey and console-login part of the RAM provider."""

    def __init__(self, clients: Clients, sink: SecretSink, state: StateFile) -> None:
        self.clients = clients
        self.sink = sink
        self.state = state

    @property
    def ram(self) -> Any:
        return self.clients.ram()

    # -- AccessKeys -----------------------------------------------------------------------------------
    def list_keys(self, user: str) -> list[KeyFacts]:
        """ListAccessKeys (a missing user has none), oldest first."""
        return access_keys(self.clients, user)

    def forget_missing(self, user: str, keys: list[KeyFacts]) -> None:
        """Make the sink forget the keys of ``user`` the account no longer lists (deleted outside the
        tool); its standard pair moves to a listed key it holds, active ones first."""
        listed = [k.access_key_id for k in sorted(keys, key=lambda k: not k.active)]
        self.sink.keep_access_keys(user, listed)

    def execute(self, change: Change) -> str:
        """Reconcile the number of active AccessKeys: create, rotate lost secrets (``change.rotate`` only),
        delete extras."""
        spec = change.spec_as(AccessKeysSpec)
        count = 0 if change.action is Action.DELETE or spec.count is None else spec.count
        done = self._reconcile(spec.user, count, change.rotate)
        return f"{change.key}: {done}" if done else InSync(f"{change.key}: already in sync")

    def _reconcile(self, user: str, count: int, rotate: bool) -> str:
        """ListAccessKeys; delete extras (lost secret first, then oldest); rotate if asked; create up to
        ``count``."""
        keys = self.list_keys(user)
        self.forget_missing(user, keys)
        held = set(self.sink.access_keys(user))
        active = sorted((k for k in keys if k.active), key=lambda k: (k.access_key_id in held, k.create_date))
        extras = active[:max(0, len(active) - count)]
        keep = active[len(extras):]
        inactive = [k for k in keys if not k.active]
        deleted = [self.delete_key(user, k.access_key_id) for k in extras + (inactive if count == 0 else [])]
        # the ids the account holds now, kept current below: each create's "before" without a second list
        ids = [k.access_key_id for k in keys if k.access_key_id not in deleted]
        created: list[str] = []

        def create() -> None:
            made, text = self._create_key(user, tuple(ids))
            ids.append(made)
            created.append(text)

        def delete(key_id: str) -> None:
            deleted.append(self.delete_key(user, key_id))
            ids.remove(key_id)

        for old in [k for k in keep if rotate and k.access_key_id not in held]:  # the sink lost its secret
            if len(ids) >= _MAX_KEYS:
                delete(old.access_key_id)
                create()
            else:
                create()
                delete(old.access_key_id)
        for _ in range(count - len(keep)):
            if len(ids) >= _MAX_KEYS and inactive:  # make room: inactive keys are dead weight
                delete(inactive.pop(0).access_key_id)
            create()
        parts = ([f"created {', '.join(created)}"] if created else []) + \
                ([f"deleted {', '.join(deleted)}"] if deleted else [])
        return "; ".join(parts)

    def _create_key(self, user: str, before: tuple[str, ...]) -> tuple[str, str]:
        """CreateAccessKey behind a write-ahead intent; ``before``: the user's key ids as the account holds
        them now (the caller listed them). An answer lost in transit (5xx after the commit, a dropped
        connection) loses the secret with it: the retry first deletes the key that attempt made
        (:meth:`drop_orphans`), then creates again; it never leaves a key nobody holds. Returns the new
        key's id and what to print of it."""
        key = f"{Kind.ACCESS_KEYS}/{user}"
        intent = self.state.open_intent(Kind.ACCESS_KEYS, user, before)
        request = ram.CreateAccessKeyRequest(user_name=user)

        def look() -> Any:  # an earlier attempt may have created a key whose secret is lost
            self.drop_orphans(user, before)
            return None

        resp = self.clients.call(key, "CreateAccessKey",
                                 once_then_find(lambda: self.ram.create_access_key(request), look))
        after_create(Kind.ACCESS_KEYS)
        ak = resp.body.access_key
        # First thing: this response is the only copy of the secret.
        tag = self.sink.store_access_key(user, ak.access_key_id, ak.access_key_secret)
        self.state.record_secret(ak.access_key_id, key, tag)
        self.state.close_intent(intent)
        return ak.access_key_id, f"{ak.access_key_id} (secret {tag} in the secrets sink)"

    def drop_orphans(self, user: str, before: tuple[str, ...]) -> list[str]:
        """Deactivate and delete the keys of ``user`` made since ``before`` whose secret the sink does not
        hold (a create whose answer was lost): nobody can use them. Returns their ids."""
        return [self.delete_key(user, key_id) for key_id in self.unheld_since(user, before)]

    def unheld_since(self, user: str, before: tuple[str, ...]) -> list[str]:
        """The keys of ``user`` not in ``before`` whose secret the sink does not hold (nothing changed)."""
        held = set(self.sink.access_keys(user))
        return [k.access_key_id for k in self.list_keys(user)
                if k.access_key_id not in before and k.access_key_id not in held]

    def delete_key(self, user: str, access_key_id: str) -> str:
        """Deactivate then delete one key (see :meth:`delete_key_steps`); raises the first failure."""
        failed = first_failure([step.run() for step in self.delete_key_steps(user, access_key_id)])
        if failed is not None:
            raise failed
        return access_key_id

    def delete_key_steps(self, user: str, access_key_id: str) -> list[DeleteStep]:
        """UpdateAccessKey to Inactive first (a key in use fails closed at once), then DeleteAccessKey;
        the sink forgets the secret once the key is gone."""
        key = f"{Kind.ACCESS_KEYS}/{user}"
        deactivate = partial(self.ram.update_access_key, ram.UpdateAccessKeyRequest(
            user_name=user, user_access_key_id=access_key_id, status="Inactive"))
        delete = partial(self.ram.delete_access_key, ram.DeleteAccessKeyRequest(
            user_name=user, user_access_key_id=access_key_id))

        def then_forget() -> Step:
            step = run_step(self.clients, key, f"delete access key {access_key_id}", "DeleteAccessKey",
                            delete)
            if step.error is None:
                self.sink.forget_access_key(user, access_key_id)
                self.state.forget_secret(access_key_id)
            return step

        return [DeleteStep(f"deactivate access key {access_key_id}", partial(
                    run_step, self.clients, key, f"deactivate access key {access_key_id}", "UpdateAccessKey",
                    deactivate)),
                DeleteStep(f"delete access key {access_key_id}", then_forget)]

    # -- console login --------------------------------------------------------------------------------
    def delete_login_step(self, user: str) -> DeleteStep:
        """DeleteLoginProfile (gone = done); the sink forgets the password."""
        request = ram.DeleteLoginProfileRequest(user_name=user)

        def run() -> Step:
            step = run_step(self.clients, f"{Kind.LOGIN_PROFILE}/{user}", "delete login profile",
                            "DeleteLoginProfile", partial(self.ram.delete_login_profile, request))
            if step.error is None:
                self.sink.forget_password(user)
            return step

        return DeleteStep("delete login profile", run)

    def execute_login(self, change: Change) -> str:
        """CreateLoginProfile with a generated password stored in the sink first (409 → UpdateLoginProfile);
        UpdateLoginProfile for the flags; DeleteLoginProfile (gone = done)."""
        spec = change.spec_as(LoginProfileSpec)
        if change.action is Action.DELETE:
            step = self.delete_login_step(spec.user).run()
            if step.error is not None:
                raise step.error
            return f"deleted {change.key}"
        reset = True if spec.password_reset_required is None else spec.password_reset_required
        mfa = True if spec.mfa_bind_required is None else spec.mfa_bind_required
        if change.action is Action.UPDATE:
            flags = ram.UpdateLoginProfileRequest(user_name=spec.user,
                                                  mfabind_required=spec.mfa_bind_required,
                                                  password_reset_required=spec.password_reset_required)
            self.clients.call(change.key, "UpdateLoginProfile", lambda: self.ram.update_login_profile(flags))
            return f"updated {change.key}"
        password = generate_password()
        tag = self.sink.store_password(spec.user, password)  # before the create: never lost with its answer
        intent = self.state.open_intent(Kind.LOGIN_PROFILE, spec.user)
        try:
            self.clients.call(change.key, "CreateLoginProfile", lambda: self.ram.create_login_profile(
                ram.CreateLoginProfileRequest(user_name=spec.user, password=password,
                                              password_reset_required=reset, mfabind_required=mfa)))
        except CallError as err:
            if err.outcome is not Outcome.EXISTS:
                raise
            self.clients.call(change.key, "UpdateLoginProfile", lambda: self.ram.update_login_profile(
                ram.UpdateLoginProfileRequest(user_name=spec.user, password=password,
                                              password_reset_required=reset, mfabind_required=mfa)))
        after_create(Kind.LOGIN_PROFILE)
        self.state.close_intent(intent)
        return f"created {change.key} (password {tag} in the secrets sink)"

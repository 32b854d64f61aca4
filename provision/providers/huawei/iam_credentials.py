"""IAM v5 credentials of a user: its console login profile and its AK/SKs (``iam.py`` holds the user).

Each secret goes to the secrets sink the moment the cloud shows it (the login password before the create),
behind a write-ahead intent (``state/intents.py``): a create whose answer is lost is looked for before any
retry, and a key whose secret never reached the sink is deactivated and deleted (nobody can use it).
Nothing returned or logged holds a secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from huaweicloudsdkiam.v5 import (
    CreateAccessKeyV5Request,
    CreateLoginProfileReqBody,
    CreateLoginProfileV5Request,
    DeleteAccessKeyV5Request,
    DeleteLoginProfileV5Request,
    UpdateAccessKeyReqBody,
    UpdateAccessKeyV5Request,
    UpdateLoginProfileReqBody,
    UpdateLoginProfileV5Request,
)

from provision.desired.huawei import IamAccessKeysSpec, IamLoginProfileSpec
from provision.desired.kinds import Kind
from provision.plan.diff import Action, Change
from provision.providers.huawei.base import WriteAhead, create, password, removed
from provision.providers.huawei.clients import HuaweiClients
from provision.providers.huawei.read_iam import read_access_keys, read_login_profile
from provision.state.secrets import SecretSink, fingerprint
from provision.state.statefile import StateFile


@dataclass(frozen=True)
class NewKey:
    """A created AK/SK as the answer shows it, once (never printed)."""

    access_key_id: str
    secret: str = field(repr=False)


class IamCredentials:
    """Login profiles and AK/SKs of IAM users (the user ids come from the caller)."""

    def __init__(self, clients: HuaweiClients, sink: SecretSink, state: StateFile) -> None:
        self.clients = clients
        self.sink = sink
        self.state = state

    def deactivate(self, user_id: str, access_key_id: str) -> object:
        body = UpdateAccessKeyReqBody(status="inactive")
        return self.clients.iam().update_access_key_v5(
            UpdateAccessKeyV5Request(user_id=user_id, access_key_id=access_key_id, body=body))

    def delete_key(self, user_id: str, access_key_id: str) -> object:
        return self.clients.iam().delete_access_key_v5(
            DeleteAccessKeyV5Request(user_id=user_id, access_key_id=access_key_id))

    def login(self, change: Change, spec: IamLoginProfileSpec, user_id: str) -> str:
        """Create (the password to the sink first, behind an intent), update or delete a login profile."""
        iam = self.clients.iam
        if change.action is Action.CREATE:
            secret = password()
            print_ = self.sink.store_password(spec.user, secret)  # first: never lost with the answer
            body = CreateLoginProfileReqBody(password=secret,
                                             password_reset_required=bool(spec.password_reset_required))
            create(self.clients, change.key, "CreateLoginProfileV5", lambda: iam().create_login_profile_v5(
                CreateLoginProfileV5Request(user_id=user_id, body=body)),
                   partial(self._set_password, change.key, user_id, secret),
                   WriteAhead(self.state, Kind.IAM_LOGIN_PROFILE, spec.user, lambda _: None))
            return f"created console login of {spec.user} (password {print_} in the secrets sink)"
        if change.action is Action.UPDATE:
            body_u = UpdateLoginProfileReqBody(password_reset_required=bool(spec.password_reset_required))
            self.clients.call(change.key, "UpdateLoginProfileV5", lambda: iam().update_login_profile_v5(
                UpdateLoginProfileV5Request(user_id=user_id, body=body_u)))
            return f"updated console login of {spec.user}"
        result = removed(self.clients, change.key, "DeleteLoginProfileV5",
                         lambda: iam().delete_login_profile_v5(DeleteLoginProfileV5Request(user_id=user_id)))
        self.sink.forget_password(spec.user)
        return f"deleted console login of {spec.user} ({result})"

    def keys(self, change: Change, spec: IamAccessKeysSpec, user_id: str) -> str:
        """Reach the declared number of AK/SKs: lost-secret keys go first; each new secret to the sink."""
        live = change.live.spec if change.live is not None else None
        active = list(live.key_ids) if isinstance(live, IamAccessKeysSpec) else []
        wanted = 0 if change.action is Action.DELETE else (spec.count or 0)
        lost = set(live.missing_secret) if isinstance(live, IamAccessKeysSpec) and change.rotate else set()
        # keys whose secret is lost go first when rotating or when fewer are wanted
        order = sorted(active, key=lambda k: (k not in lost, k not in self.sink.access_keys(spec.user)))
        keep = [k for k in order if k not in lost][-wanted:] if wanted else []
        done: list[str] = []
        for kid in [k for k in active if k not in keep]:
            removed(self.clients, change.key, "UpdateAccessKeyV5", partial(self.deactivate, user_id, kid))
            removed(self.clients, change.key, "DeleteAccessKeyV5", partial(self.delete_key, user_id, kid))
            done.append(f"deleted {kid}")
        for _ in range(wanted - len(keep)):
            made = self._create_key(change.key, spec.user, user_id)
            keep.append(made.access_key_id)
            tag = fingerprint(made.secret)
            done.append(f"created {made.access_key_id} (secret {tag} in the secrets sink)")
        self.sink.keep_access_keys(spec.user, keep)
        return f"access keys of {spec.user}: " + (", ".join(done) or "unchanged")

    def _set_password(self, key: str, user_id: str, secret: str) -> bool | None:
        """A login profile that exists (an earlier attempt's answer was lost) is given the sink's password;
        None if there is none yet."""
        if read_login_profile(self.clients, user_id) is None:
            return None
        body = UpdateLoginProfileReqBody(password=secret)
        self.clients.call(key, "UpdateLoginProfileV5", lambda: self.clients.iam().update_login_profile_v5(
            UpdateLoginProfileV5Request(user_id=user_id, body=body)))
        return True

    def _create_key(self, key: str, user: str, user_id: str) -> NewKey:
        """CreateAccessKeyV5 behind a write-ahead intent; the secret goes to the sink first thing. A retry
        after a lost answer first deletes the key that attempt made (its secret is lost with the answer)."""
        before = tuple(k.access_key_id for k in read_access_keys(self.clients, user_id))

        def call() -> NewKey:
            request = CreateAccessKeyV5Request(user_id=user_id)
            made = self.clients.iam().create_access_key_v5(request).access_key
            return NewKey(str(made.access_key_id), str(made.secret_access_key))

        def look() -> NewKey | None:
            self.drop_orphans(key, user, user_id, before)
            return None

        def record(made: NewKey) -> None:
            tag = self.sink.store_access_key(user, made.access_key_id, made.secret)
            self.state.record_secret(made.access_key_id, key, tag)

        return create(self.clients, key, "CreateAccessKeyV5", call, look,
                      WriteAhead(self.state, Kind.IAM_ACCESS_KEYS, user, record, before))

    def drop_orphans(self, key: str, user: str, user_id: str, before: tuple[str, ...]) -> list[str]:
        """Deactivate and delete the keys of ``user`` not in ``before`` whose secret the sink does not hold
        (made by a create whose answer was lost): nobody can use them. Returns their ids."""
        orphans = self.unheld_since(user, user_id, before)
        for kid in orphans:
            self.delete_unheld(key, user_id, kid)
        return orphans

    def unheld_since(self, user: str, user_id: str, before: tuple[str, ...]) -> list[str]:
        """The keys of ``user`` not in ``before`` whose secret the sink does not hold (nothing changed)."""
        held = self.sink.access_keys(user)
        return [k.access_key_id for k in read_access_keys(self.clients, user_id)
                if k.access_key_id not in before and k.access_key_id not in held]

    def delete_unheld(self, key: str, user_id: str, access_key_id: str) -> str:
        """Deactivate, then delete a key whose secret nobody holds (gone = done)."""
        removed(self.clients, key, "UpdateAccessKeyV5", partial(self.deactivate, user_id, access_key_id))
        removed(self.clients, key, "DeleteAccessKeyV5", partial(self.delete_key, user_id, access_key_id))
        self.state.forget_secret(access_key_id)
        return access_key_id

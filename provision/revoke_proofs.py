"""The proofs of `provision revoke`: the old credentials, captured before revoking, must now be refused,
and RAM and Model Studio must list nothing left that gives the user access.

Each proof records what the cloud answered (status, error code), never a secret: credentials show as
their id and a fingerprint.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from provision.flow import Context
from provision.providers import CallError, DashScopeTarget
from provision.providers.ram import RamProvider, UserAccess
from provision.resources import ApiKeySpec, Desired, Kind, Live
from provision.secrets import fingerprint
from provision.verify import chat
from provision.verify_checks import LiveFacts

# What STS answers for an AccessKey that was deleted, or only deactivated.
DEAD_ACCESS_KEY = ("InvalidAccessKeyId.NotFound", "InvalidAccessKeyId.Inactive")
DEAD_API_KEY_STATUS = 401


@dataclass(frozen=True)
class Credential:
    """An old credential taken from the secrets sink before revoking. ``secret`` is never shown."""

    kind: str  # access-key | api-key | console-password
    id: str  # AccessKeyId, API key id ("" for a console password)
    secret: str = field(repr=False)
    workspace: str = ""  # api-key only
    key_name: str = ""  # api-key only
    model: str = ""  # api-key only: the model its proof asks for

    @property
    def label(self) -> str:
        """How outputs name it: id (or workspace/key) and the fingerprint of the secret."""
        what = {"access-key": f"AccessKey {self.id}", "api-key": f"API key {self.workspace}/{self.key_name} "
                f"({self.id})"}.get(self.kind, "console password")
        return f"{what}, secret {fingerprint(self.secret)}"

    def to_dict(self) -> dict[str, str]:
        """The record's form: kind, ids and fingerprint only."""
        data = {"kind": self.kind, "id": self.id, "fingerprint": fingerprint(self.secret)}
        if self.kind == "api-key":
            data.update(workspace=self.workspace, key=self.key_name)
        return data


@dataclass(frozen=True)
class Proof:
    """One fact that shows the access is gone, with what the cloud answered."""

    id: str  # stable: access-key/LTAI…, api-key/ws/main, login-profile, policies, …
    claim: str  # what must hold
    holds: bool
    observed: str  # what was seen
    status: int | None = None  # HTTP status of the proof call, when one was made with an old credential
    code: str = ""  # the cloud's error code
    credential: str = ""  # Credential.label, for proofs made with an old credential


def issued_keys(context: Context, desired: Desired, user: str) -> list[Live]:
    """The managed workspace API keys issued to ``user``, as Model Studio lists them now."""
    lives = context.providers[Kind.API_KEY].read(desired)
    return [live for live in lives if isinstance(live.spec, ApiKeySpec) and live.spec.issued_to == user]


def ram_of(context: Context) -> RamProvider:
    provider = context.providers[Kind.USER]
    assert isinstance(provider, RamProvider)
    return provider


def prove(context: Context, desired: Desired, site: DashScopeTarget, user: str,
          credentials: tuple[Credential, ...], *, user_deleted: bool) -> list[Proof]:
    """Every proof that ``user``'s access is gone; a failed call makes its proof fail, never raises."""
    facts = LiveFacts(context, desired)
    proofs = [_access_key(facts, user, c) for c in credentials if c.kind == "access-key"]
    proofs += [_api_key(site, c) for c in credentials if c.kind == "api-key"]
    try:
        access = ram_of(context).access_of(user)
        remaining = issued_keys(context, desired, user)
    except CallError as err:
        return [*proofs, Proof("read", f"RAM and Model Studio can be read to check {user}", False,
                               _answer(err), err.status, err.code)]
    proofs += list(_listed(access, user_deleted))
    names = ", ".join(f"{k.spec.name} ({k.cloud_id})" for k in remaining)
    proofs.append(Proof("api-keys", f"no workspace API key issued to {user} remains", not remaining,
                        f"still listed: {names}" if remaining else "ListApiKeys lists none"))
    return proofs


def _access_key(facts: LiveFacts, user: str, credential: Credential) -> Proof:
    """STS GetCallerIdentity signed with the old AccessKey must be refused as unknown or inactive."""
    claim = f"the old AccessKey {credential.id} no longer authenticates (STS GetCallerIdentity)"
    proof_id = f"access-key/{credential.id}"
    try:
        arn = facts.caller_arn(credential.id, credential.secret, f"{Kind.ACCESS_KEYS}/{user}")
    except CallError as err:
        return Proof(proof_id, claim, err.code in DEAD_ACCESS_KEY, _answer(err), err.status, err.code,
                     credential.label)
    return Proof(proof_id, claim, False, f"still authenticates as {arn}", 200, "", credential.label)


def _api_key(site: DashScopeTarget, credential: Credential) -> Proof:
    """A chat completion with the old API key must get 401."""
    reply = chat(site, credential.secret, credential.model)
    claim = f"the old API key {credential.workspace}/{credential.key_name} gets 401 on a chat completion"
    observed = "no answer" if reply.status is None else f"HTTP {reply.status} {reply.code}".strip()
    return Proof(f"api-key/{credential.workspace}/{credential.key_name}", claim,
                 reply.status == DEAD_API_KEY_STATUS, observed, reply.status, reply.code, credential.label)


def _listed(access: UserAccess, user_deleted: bool) -> Iterator[Proof]:
    """What RAM still lists for the user: nothing may be left."""
    user = access.user
    login = access.login_profile_code
    yield Proof("login-profile", f"{user} has no console login profile (GetLoginProfile)",
                login.startswith("EntityNotExist"), login or "a login profile exists", code=login)
    yield _none("access-keys", f"{user} has no AccessKey (ListAccessKeys)", access.access_keys)
    yield _none("policies", f"no policy is attached to {user} (ListPoliciesForUser)",
                [f"{kind}:{name}" for kind, name in access.policies])
    yield _none("groups", f"{user} is in no group (ListGroupsForUser)", access.groups)
    yield _none("mfa", f"{user} has no MFA device (GetUserMFAInfo)", [access.mfa_serial] if access.mfa_serial
                else [])
    if user_deleted:
        yield Proof("user", f"the RAM user {user} is deleted (GetUser)", not access.exists,
                    "GetUser: no such user" if not access.exists else "the user still exists")


def _none(proof_id: str, claim: str, left: Any) -> Proof:
    items = [str(item) for item in left]
    return Proof(proof_id, claim, not items, f"still there: {', '.join(items)}" if items else "none listed")


def _answer(err: CallError) -> str:
    return f"{err.code} (HTTP {err.status})" if err.status else err.code

"""The proofs of `provision revoke`: the old credentials, captured before revoking, must now be refused,
and RAM and Model Studio must list nothing left that gives the user access.

Each proof records what the cloud answered (status, error code), never a secret: credentials show as
their id and a fingerprint.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from provision.checks.contexts import AlibabaContext
from provision.checks.results import Credential as Credential
from provision.checks.results import Proof as Proof
from provision.checks.smoke import chat
from provision.checks.verify_facts import LiveFacts
from provision.desired.kinds import Kind
from provision.desired.live import Live
from provision.desired.model import Desired
from provision.desired.resources import ApiKeySpec
from provision.manifest import Manifest
from provision.providers.alibaba import CallError, DashScopeTarget
from provision.providers.alibaba.ram import RamProvider
from provision.providers.alibaba.ram_users import UserFacts
from provision.providers.lookup import provider_of
from provision.state.secrets import SecretSink

# What STS answers for an AccessKey that was deleted, or only deactivated.
DEAD_ACCESS_KEY = ("InvalidAccessKeyId.NotFound", "InvalidAccessKeyId.Inactive")
DEAD_API_KEY_STATUS = 401
DEFAULT_MODEL = "qwen-plus"  # the model an API key's proof asks for when nothing else names one


def captured(manifest: Manifest, sink: SecretSink, user: str,
             live_keys: Sequence[ApiKeySpec] = ()) -> tuple[Credential, ...]:
    """Every secret of ``user`` the sink holds: its AccessKeys, console password, and the API keys issued to
    it (the live ones given, and those the manifest declares: a key the cloud lost may still be held)."""
    found = [Credential("access-key", key_id, secret)
             for key_id, secret in sorted(sink.access_keys(user).items())]
    password = sink.password(user)
    if password:
        found.append(Credential("console-password", "", password))
    allowed: dict[tuple[str, str], tuple[str, ...] | None] = {
        (k.workspace, k.key_name): k.allowed_models for k in live_keys}
    for ws in manifest.workspaces:
        for key in ws.api_keys:
            if key.issued_to == user:
                allowed.setdefault((ws.name, key.name), tuple(key.allowed_models))
    for (workspace, key_name), models in sorted(allowed.items(), key=lambda item: item[0]):
        held = sink.api_key(user, workspace, key_name)
        if held is not None:
            found.append(Credential("api-key", held[0], held[1], workspace, key_name,
                                    key_model(manifest, workspace, key_name, models)))
    return tuple(found)


def key_model(manifest: Manifest, workspace: str, key_name: str, allowed: tuple[str, ...] | None) -> str:
    """The model a key was meant to call: its verify check's, else its first allowed model."""
    check = next((c for c in manifest.verify.checks if (c.workspace, c.api_key) == (workspace, key_name)),
                 None)
    return check.model if check is not None else (allowed or (DEFAULT_MODEL,))[0]


def issued_keys(context: AlibabaContext, desired: Desired, user: str) -> list[Live]:
    """The managed workspace API keys issued to ``user``, as Model Studio lists them now."""
    lives = context.providers[Kind.API_KEY].read(desired)
    return [live for live in lives if isinstance(live.spec, ApiKeySpec) and live.spec.issued_to == user]


def ram_of(context: AlibabaContext) -> RamProvider:
    return provider_of(context.providers, Kind.USER, RamProvider)


def prove(context: AlibabaContext, desired: Desired, site: DashScopeTarget, user: str,
          credentials: tuple[Credential, ...], *, user_deleted: bool) -> list[Proof]:
    """Every proof that ``user``'s access is gone; a failed call makes its proof fail, never raises."""
    facts = LiveFacts(context, desired)
    proofs = [access_key_proof(facts, user, c) for c in credentials if c.kind == "access-key"]
    proofs += [api_key_proof(site, c) for c in credentials if c.kind == "api-key"]
    try:
        access = ram_of(context).user(user)
        remaining = issued_keys(context, desired, user)
    except CallError as err:
        return [*proofs, Proof("read", f"RAM and Model Studio can be read to check {user}", False,
                               _answer(err), err.status, err.code)]
    proofs += list(_listed(access, user_deleted))
    names = ", ".join(f"{k.spec.name} ({k.cloud_id})" for k in remaining)
    proofs.append(Proof("api-keys", f"no workspace API key issued to {user} remains", not remaining,
                        f"still listed: {names}" if remaining else "ListApiKeys lists none"))
    return proofs


def access_key_proof(facts: LiveFacts, user: str, credential: Credential) -> Proof:
    """STS GetCallerIdentity signed with the old AccessKey must be refused as unknown or inactive."""
    claim = f"the old AccessKey {credential.id} no longer authenticates (STS GetCallerIdentity)"
    proof_id = f"access-key/{credential.id}"
    try:
        arn = facts.caller_arn(credential.id, credential.secret, f"{Kind.ACCESS_KEYS}/{user}")
    except CallError as err:
        return Proof(proof_id, claim, err.code in DEAD_ACCESS_KEY, _answer(err), err.status, err.code,
                     credential.label)
    return Proof(proof_id, claim, False, f"still authenticates as {arn}", 200, "", credential.label)


def api_key_proof(site: DashScopeTarget, credential: Credential) -> Proof:
    """A chat completion with the old API key must get 401."""
    reply = chat(site, credential.secret, credential.model)
    claim = f"the old API key {credential.workspace}/{credential.key_name} gets 401 on a chat completion"
    observed = "no answer" if reply.status is None else f"HTTP {reply.status} {reply.code}".strip()
    return Proof(f"api-key/{credential.workspace}/{credential.key_name}", claim,
                 reply.status == DEAD_API_KEY_STATUS, observed, reply.status, reply.code, credential.label)


def _listed(access: UserFacts, user_deleted: bool) -> Iterator[Proof]:
    """What RAM still lists for the user: nothing may be left."""
    user = access.name
    login = access.login_code
    yield Proof("login-profile", f"{user} has no console login profile (GetLoginProfile)",
                login.startswith("EntityNotExist"), login or "a login profile exists", code=login)
    yield _none("access-keys", f"{user} has no AccessKey (ListAccessKeys)",
                [k.access_key_id for k in access.keys])
    yield _none("policies", f"no policy is attached to {user} (ListPoliciesForUser)",
                [f"{p.policy_type}:{p.name}" for p in access.policies])
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

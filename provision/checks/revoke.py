"""`provision revoke`: take one account's access back in the safe order, prove it, and keep a record.

The manifest stays the source of truth: revoke runs only for a user the manifest already takes access
from (``expires_at`` past, or ``state: absent``), so the next plan does not grant it again; otherwise it
refuses and names the exact edit. The old credentials are taken from the secrets sink before anything
changes, used once more to prove they are dead, then dropped from the sink; the revocation record
(``<state-dir>/records/revoke-<user>-<UTC>.json``) keeps only their fingerprints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from provision.checks.contexts import AlibabaContext
from provision.checks.records import (
    Membership,
    RevokeRecord,
    check_manifest,
    console_memberships,
    write_revocation,
)
from provision.checks.records import render_record as render_record  # the registry's revoke contract
from provision.checks.records import step_line as step_line  # the registry's revoke contract
from provision.checks.revoke_proofs import Credential, captured, issued_keys, prove, ram_of
from provision.checks.verify import site_target
from provision.desired.kinds import Kind
from provision.desired.live import Live
from provision.desired.resources import (
    AccessKeysSpec,
    ApiKeySpec,
    AttachmentSpec,
    LoginProfileSpec,
    MemberSpec,
)
from provision.engine.flow import Prepared
from provision.errors import ProvisionError
from provision.plan.diff import Action, Change
from provision.providers.alibaba import CallError
from provision.providers.alibaba.ram_users import UserFacts
from provision.providers.common.delete_steps import ALREADY_GONE, DONE, MANUAL, DeleteStep, Step

OnStep = Callable[[Step], None]


@dataclass(frozen=True)
class RevokePlan:
    """What revoke found for one user, read before anything changes, and the credentials it proves with."""

    user: str
    why: str  # why the manifest allows it: "expires_at … has passed" | "declared state: absent"
    access: UserFacts
    strip: tuple[DeleteStep, ...]  # the RAM provider's steps, built from ``access``: shown, then run
    api_keys: tuple[Live, ...]  # managed workspace API keys issued to the user
    credentials: tuple[Credential, ...]  # captured from the sink: never printed
    memberships: tuple[Membership, ...]
    delete_user: bool

    def steps(self) -> list[str]:
        """The steps revoke will take, in order, as found now ("none" where nothing is left)."""
        lines = [step.label for step in self.strip] or \
            ["RAM: no key, login, policy, group or MFA device left"]
        lines += [f"delete API key {k.spec.name} ({k.cloud_id})" for k in self.api_keys] or \
            ["API keys issued to it: none"]
        lines += [f"console step: remove from workspace {m.workspace}" for m in self.memberships]
        if self.delete_user:
            lines.append("delete user" if self.access.exists else "RAM user: already deleted")
        held = len([c for c in self.credentials if c.kind != "console-password"])
        lines.append(f"prove the access is gone ({held} old credential(s) from the secrets sink), then drop "
                     "the dead secrets from the sink")
        return lines


# --- read ----------------------------------------------------------------------------------------------


def read_revoke(prepared: Prepared, context: AlibabaContext, user: str, *, delete_user: bool,
                now: datetime) -> RevokePlan:
    """Check the manifest, read what gives ``user`` access, and capture its credentials from the sink.
    Changes nothing."""
    why = check_manifest(prepared, user, now, delete_user=delete_user)
    ram = ram_of(context)
    access = ram.user(user)
    mine = prepared.desired.manifest
    if access.exists and not access.owner.ours(mine):
        raise ProvisionError(
            f"{Kind.USER}/{user} is owned by {access.owner.describe()}, not by this manifest ({mine}): "
            "nothing was revoked. Revoke it from its own manifest, or take it over first: declare "
            f"adopt: true on users entry {user} in {prepared.source.manifest}, run apply, then revoke")
    keys = tuple(issued_keys(context, prepared.desired, user))
    live_keys = [k.spec for k in keys if isinstance(k.spec, ApiKeySpec)]
    return RevokePlan(user, why, access, tuple(ram.strip_steps(access)) if access.exists else (), keys,
                      captured(prepared.manifest, context.sink, user, live_keys),
                      console_memberships(prepared, context.state, user, why, MemberSpec), delete_user)


# --- run -----------------------------------------------------------------------------------------------


def run_revoke(plan: RevokePlan, prepared: Prepared, context: AlibabaContext, *, started: datetime,
               on_step: OnStep | None = None) -> RevokeRecord:
    """Take the access away (RAM cascade, API keys, console checklist, optionally the user), prove it with
    the captured credentials, drop the dead ones from the sink and write the record."""
    steps = [step.run() for step in plan.strip] or [Step("RAM: nothing left to remove", ALREADY_GONE)]
    steps += [_delete_api_key(context, live) for live in plan.api_keys] or \
        [Step("delete API keys issued to it", ALREADY_GONE)]
    steps += [Step(f"remove from workspace {m.workspace} (console)", MANUAL) for m in plan.memberships]
    for m in plan.memberships:  # the probe dies with the keys: plans list the removal until confirmed
        context.state.record_removal(m.workspace, plan.user, f"revoked: {plan.why}", started)
    if plan.delete_user:
        steps.append(ram_of(context).delete_steps(plan.access)[-1].run() if plan.access.exists
                     else Step("delete user", ALREADY_GONE))
    for step in steps:
        if on_step is not None:
            on_step(step)
    _forget_applied(context, plan)
    proofs = prove(context, prepared.desired, site_target(context.target, prepared.manifest), plan.user,
                   plan.credentials, user_deleted=plan.delete_user)
    return write_revocation(plan, prepared, context.sink, context.state, caller=_caller(context),
                            started=started, steps=steps, proofs=proofs, password_proof="login-profile")


def _forget_applied(context: AlibabaContext, plan: RevokePlan) -> None:
    """What the revoke took away is no longer the tool's to restore: drop it from the last-applied record,
    so neither the planner nor the audit reports it as drift ("applied earlier, now missing")."""
    revoked_keys = {live.key for live in plan.api_keys}
    for key, spec in context.state.applied().items():
        user_access = isinstance(spec, LoginProfileSpec | AccessKeysSpec | AttachmentSpec)
        access = user_access and spec.holder() == plan.user
        deleted_user = plan.delete_user and key == f"{Kind.USER}/{plan.user}"
        if access or key in revoked_keys or deleted_user:
            context.state.forget_applied(key)


def _delete_api_key(context: AlibabaContext, live: Live) -> Step:
    """The Model Studio provider's delete (DeleteApiKey, gone = done; the sink forgets the value)."""
    what = f"delete API key {live.spec.name} ({live.cloud_id})"
    try:
        context.providers[Kind.API_KEY].execute(Change(live.key, Action.DELETE, "revoke", live=live))
    except CallError as err:
        return Step.failed(what, err)
    return Step(what, DONE)


def _caller(context: AlibabaContext) -> str:
    """The ARN the tool signs as (STS GetCallerIdentity), for the record's "who"."""
    clients = context.clients
    try:
        answer = clients.call("sts", "GetCallerIdentity", lambda: clients.sts().get_caller_identity())
    except CallError:
        return ""
    return str(answer.body.arn or "")


# --- output --------------------------------------------------------------------------------------------



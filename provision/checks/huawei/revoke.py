"""`provision revoke` on Huawei Cloud: take one IAM user's access back, prove it, keep a record.

The same contract as Alibaba's (``checks/revoke.py``, whose manifest check, record and rendering it
shares): the manifest must already take the access away; the old credentials are captured from the sink
first, used once more to prove they are dead, then dropped. In order: deactivate then delete the AK/SKs,
delete the login profile, detach the identity policies, leave the groups (``IamProvider.strip``), remove
the user from every workspace's INTERNAL grants, delete the MaaS API keys issued to it, and with
``--delete-user`` delete the user. IAM tokens issued before the revoke may stay valid up to 30 minutes:
the proofs say so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from provision.checks.huawei.context import HuaweiContext
from provision.checks.huawei.proofs import prove_revoked
from provision.checks.records import (
    Membership,
    RevokeRecord,
    check_manifest,
    console_memberships,
    render_record,
    step_line,
    write_revocation,
)
from provision.checks.results import Credential, Proof
from provision.desired.huawei import (
    IamAccessKeysSpec,
    IamAttachmentSpec,
    IamGroupMemberSpec,
    IamLoginProfileSpec,
    IamUserSpec,
    MaasApiKeySpec,
    ModelArtsGrantSpec,
    StudioRoleSpec,
)
from provision.desired.kinds import Kind
from provision.desired.live import Live
from provision.engine.flow import Prepared
from provision.errors import ProvisionError
from provision.plan.diff import Action, Change
from provision.providers.common.delete_steps import ALREADY_GONE, DONE, MANUAL, Step, StepResult
from provision.providers.common.markers import Owner
from provision.providers.huawei.clients import HuaweiCallError, HuaweiClients
from provision.providers.huawei.iam import IamProvider
from provision.providers.huawei.read import (
    ApiKey,
    User,
    Workspace,
    list_users,
    read_api_keys,
    read_caller,
    read_user,
    read_workspaces,
)
from provision.providers.huawei.workspaces import WorkspaceProvider, granted, keys_issued_to
from provision.providers.lookup import provider_of
from provision.state.secrets import SecretSink

__all__ = ["HuaweiRevokePlan", "read_revoke", "render_record", "run_revoke", "step_line"]

OnStep = Callable[[Step], None]


@dataclass(frozen=True)
class HuaweiRevokePlan:
    """What revoke found for one IAM user and the credentials it proves with."""

    user: str
    why: str
    found: User | None  # None: the user does not exist (any more)
    api_keys: tuple[tuple[ApiKey, str, str], ...]  # (key, workspace, key name) issued to the user
    workspaces: tuple[Workspace, ...]  # whose INTERNAL grants list the user
    credentials: tuple[Credential, ...]  # captured from the sink: never printed
    delete_user: bool
    memberships: tuple[Membership, ...] = ()  # Studio roles: no API, a console step each

    def steps(self) -> list[str]:
        """The steps revoke will take, in order, as found now."""
        u = self.found
        keys = u.access_keys if u else ()
        lines = [f"deactivate, then delete access key {k.access_key_id}" for k in keys] or \
            ["access keys: none"]
        lines.append("delete console login profile" if u and u.login_profile else "login profile: none")
        direct = [p for p in u.policies if p.via == "direct"] if u else []
        lines += [f"detach policy {p.policy_type}:{p.name}" for p in direct] or ["policies: none attached"]
        lines += [f"remove from group {g.name}" for g in (u.groups if u else ())] or ["groups: none"]
        lines += [f"remove from the grants of workspace {w.name}" for w in self.workspaces] or \
            ["workspace grants: none"]
        lines += [f"delete API key {ws}/{name} ({k.key_id})" for k, ws, name in self.api_keys] or \
            ["API keys issued to it: none"]
        lines += [f"console step: remove the Studio role in workspace {m.workspace}"
                  for m in self.memberships]
        if self.delete_user:
            lines.append("delete the IAM user" if u else "IAM user: already deleted")
        held = len([c for c in self.credentials if c.kind != "console-password"])
        lines.append(f"prove the access is gone ({held} old credential(s) from the secrets sink), then drop "
                     "the dead secrets from the sink")
        return lines


def _providers(context: HuaweiContext) -> tuple[IamProvider, WorkspaceProvider]:
    return (provider_of(context.providers, Kind.IAM_USER, IamProvider),
            provider_of(context.providers, Kind.MA_WORKSPACE, WorkspaceProvider))


def read_revoke(prepared: Prepared, context: HuaweiContext, user: str, *, delete_user: bool,
                now: datetime) -> HuaweiRevokePlan:
    """Check the manifest, read what gives ``user`` access, and capture its credentials. Changes nothing."""
    why = check_manifest(prepared, user, now, delete_user=delete_user)
    clients = context.clients
    summary = next((s for s in list_users(clients) if s.name == user), None)
    found = read_user(clients, summary.user_id) if summary else None
    if found is not None and not Owner.from_tags(found.tags).ours(prepared.desired.manifest):
        raise ProvisionError(f"{Kind.IAM_USER}/{user} exists but is not managed by provision (no "
                             "managed-by=provision tag): not touched; declare adopt: true and apply to "
                             "manage it")
    keys = tuple(keys_issued_to(read_api_keys(clients), user))
    workspaces = tuple(granted(read_workspaces(clients), user))
    roles = console_memberships(prepared, context.state, user, why, StudioRoleSpec)
    return HuaweiRevokePlan(user, why, found, keys, workspaces, _captured(context.sink, user, keys),
                            delete_user, roles)


def _captured(sink: SecretSink, user: str, keys: tuple[tuple[ApiKey, str, str], ...]) -> tuple[Credential,
                                                                                               ...]:
    found = [Credential("access-key", key_id, secret) for key_id,
             secret in sorted(sink.access_keys(user).items())]
    password = sink.password(user)
    if password:
        found.append(Credential("console-password", "", password))
    for _, workspace, name in keys:
        held = sink.api_key(user, workspace, name)
        if held is not None:
            found.append(Credential("api-key", held[0], held[1], workspace, name))
    return tuple(found)


def run_revoke(plan: HuaweiRevokePlan, prepared: Prepared, context: HuaweiContext, *, started: datetime,
               on_step: OnStep | None = None) -> RevokeRecord:
    """Take the access away, prove it with the captured credentials, drop the dead ones, write the record."""
    clients = context.clients
    iam, workspaces = _providers(context)
    steps = (iam.strip(plan.user, plan.found.user_id) if plan.found is not None else []) or \
        [Step("IAM: nothing left to remove", ALREADY_GONE)]
    grants = [ModelArtsGrantSpec(workspace=ws.name, user=plan.user) for ws in plan.workspaces]
    steps += [_step(f"remove from the grants of workspace {g.workspace}",
                    partial(workspaces.remove_grant, g.key, g)) for g in grants] or \
        [Step("remove from the grants of workspaces", ALREADY_GONE)]
    keys = [(MaasApiKeySpec(workspace=ws_name, key_name=name, issued_to=plan.user, api_key_id=key.key_id),
             key.key_id) for key, ws_name, name in plan.api_keys]
    steps += [_step(f"delete API key {s.workspace}/{s.key_name} ({key_id})",
                    partial(workspaces.delete_api_key, s.key, s, key_id)) for s, key_id in keys] or \
        [Step("delete API keys issued to it", ALREADY_GONE)]
    steps += [Step(f"remove the Studio role in workspace {m.workspace} (console)", MANUAL)
              for m in plan.memberships]
    for m in plan.memberships:  # plans list the removal until `membership confirm --removed`
        context.state.record_removal(m.workspace, plan.user, f"revoked: {plan.why}", started)
    if plan.delete_user and plan.found is not None:
        user_live = Live(IamUserSpec(user=plan.user), True, plan.found.user_id)
        steps.append(_step(f"delete the IAM user {plan.user}", lambda: _done(iam.execute(
            Change(user_live.key, Action.DELETE, "revoke", live=user_live)))))
    elif plan.delete_user:
        steps.append(Step(f"delete the IAM user {plan.user}", ALREADY_GONE))
    for step in steps:
        if on_step is not None:
            on_step(step)
    _forget_applied(context, plan)
    proofs = prove(clients, plan, steps)
    return write_revocation(plan, prepared, context.sink, context.state, caller=_caller(clients),
                            started=started, steps=steps, proofs=proofs, password_proof="console-password")


def _step(what: str, run: Callable[[], StepResult]) -> Step:
    try:
        return Step(what, run())
    except HuaweiCallError as err:
        return Step.failed(what, err)


def _done(_: str) -> StepResult:
    """A provider's change that either ran or raised (deleting the user tolerates no "already gone")."""
    return DONE


def _forget_applied(context: HuaweiContext, plan: HuaweiRevokePlan) -> None:
    """What revoke took away is no longer the tool's to restore: not drift for the planner or the audit."""
    revoked = {f"{Kind.MAAS_API_KEY}/{ws}/{name}" for _, ws, name in plan.api_keys}
    for key, spec in context.state.applied().items():
        user_access = isinstance(spec, IamLoginProfileSpec | IamAccessKeysSpec | IamAttachmentSpec
                                 | IamGroupMemberSpec | ModelArtsGrantSpec)
        if (user_access and spec.holder() == plan.user) or key in revoked or (
                plan.delete_user and key == f"{Kind.IAM_USER}/{plan.user}"):
            context.state.forget_applied(key)


def _caller(clients: HuaweiClients) -> str:
    try:
        return read_caller(clients).principal_urn
    except HuaweiCallError:
        return ""


# --- proofs ---------------------------------------------------------------------------------------------


def prove(clients: HuaweiClients, plan: HuaweiRevokePlan, steps: list[Step]) -> list[Proof]:
    """Every revoke step ran, then the proofs of ``checks/huawei/proofs.py``: each old credential is refused,
    no workspace that granted the user still does, nothing is left on it, and the 30-minute token note."""
    failed = [s for s in steps if s.outcome is StepResult.FAILED]
    ran = Proof("steps", "every revoke step succeeded", not failed,
                f"{len(failed)} failed: {', '.join(s.step for s in failed)}" if failed else
                f"{len(steps)} step(s) done or already gone")
    return [ran, *prove_revoked(clients, plan.user, plan.credentials, [w.name for w in plan.workspaces])]



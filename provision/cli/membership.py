"""`provision membership`: the console-only workspace membership steps, their checklist, confirmations."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from provision.cli.common import (
    ManifestOpt,
    SecretsDirOpt,
    StateDirOpt,
    VarFileOpt,
    VarOpt,
    cloud_context,
    friendly,
    load,
)
from provision.errors import ProvisionError

membership_app = typer.Typer(help="Workspace membership: console-only steps, their checklist, confirmations.",
                             no_args_is_help=True)


@membership_app.command("checklist")
@friendly
def membership_checklist(
    manifest: ManifestOpt,
    var: VarOpt = None,
    var_file: VarFileOpt = None,
    state_dir: StateDirOpt = None,
    secrets_dir: SecretsDirOpt = None,
) -> None:
    """List the console steps still pending (memberships the probe cannot prove yet, removals to do).

    Example: `provision membership checklist -m manifests/example.yaml`
    """
    from provision.cli.views import checklist_lines
    from provision.engine.flow import make_plan
    from provision.plan.checklist import manual_steps
    from provision.providers.membership import membership_of, overruled_confirmations

    prepared = load(manifest, var, var_file, state_dir, secrets_dir)
    context = cloud_context(prepared, state_dir, secrets_dir)
    plan = make_plan(prepared, context).plan
    notes = overruled_confirmations(plan, membership_of(context.providers))
    steps = manual_steps(plan, prepared.source.command_args(), notes)
    if not steps:
        typer.echo("no console steps pending: every declared membership is proven or confirmed")
        return
    typer.echo("\n".join([f"{len(steps)} console step(s) pending:", *checklist_lines(steps)]))


@membership_app.command("confirm")
@friendly
def membership_confirm(
    manifest: ManifestOpt,
    workspace: Annotated[str, typer.Option("--workspace", help="workspace name as declared in the manifest")],
    user: Annotated[str, typer.Option("--user", help="user name (RAM or IAM) as declared in the manifest")],
    role: Annotated[str | None, typer.Option("--role", help="guest or admin, as set in the console")] = None,
    removed: Annotated[bool, typer.Option(
        "--removed", help="the user was removed from the workspace in the console: drop its confirmation")]
    = False,
    by: Annotated[str | None, typer.Option("--by", help="who did the console step [default: $USER]")] = None,
    var: VarOpt = None,
    var_file: VarFileOpt = None,
    state_dir: StateDirOpt = None,
    secrets_dir: SecretsDirOpt = None,
) -> None:
    """Record that a console-only membership step was done, so plans stop listing it.

    With --role: the user is a member with that role. With --removed: the user was removed from the
    workspace (after a revoke, or once the manifest stopped declaring it), so its confirmation is dropped.

    Example: `provision membership confirm -m manifests/example.yaml --workspace agent-delivery
    --user acme-lead --role admin --by jane`

    Example: `provision membership confirm -m manifests/example.yaml --workspace agent-delivery
    --user acme-delivery --removed`
    """
    from provision.clock import now
    from provision.desired.resources import MemberSpec
    from provision.providers.membership import confirm_member, membership_of
    from provision.state.lock import Hold

    if removed == (role is not None):
        raise ProvisionError("give either --role ROLE (the user is a member) or --removed (it was removed)")
    prepared = load(manifest, var, var_file, state_dir, secrets_dir)
    context = cloud_context(prepared, state_dir, secrets_dir, Hold.EXCLUSIVE)
    state, probe = context.state, membership_of(context.providers)
    if state.workspace_id(workspace) is None:
        raise ProvisionError(f"the state in {state.path.parent} knows no workspace {workspace}: nothing was "
                             "recorded. Give the --state-dir the apply that created it used (the command "
                             "plan and apply print names it), or run apply first")
    roles = {(s.workspace, s.user): s.role or "guest" for s in prepared.desired.present
             if isinstance(s, MemberSpec)}
    declared = set(roles)
    if removed:
        if (workspace, user) in declared:
            raise ProvisionError(f"{manifest}: {user} is still declared a member of workspace {workspace}: "
                                 "take it out of the manifest (or let its expires_at pass) first")
        overruled = probe.overruled(workspace, user, member=False)
        if overruled is not None:
            raise ProvisionError(f"not recorded: {overruled}")
        dropped = state.forget_confirmation(workspace, user)
        cleared = state.clear_removal(workspace, user)
        typer.echo(f"recorded: {user} was removed from workspace {workspace}" if dropped or cleared else
                   f"nothing recorded for {user} in workspace {workspace}: nothing to drop")
        return
    assert role is not None
    if (workspace, user) not in declared:
        raise ProvisionError(f"{manifest}: {user} is not declared as a member of workspace {workspace}")
    wanted = roles[(workspace, user)]
    if role != wanted:
        raise ProvisionError(
            f"{manifest}: {user} is declared {wanted} in workspace {workspace}, not {role}: nothing was "
            f"recorded. Set role {wanted} in the console and confirm that, or declare role: {role} in the "
            "manifest first")
    who = by or os.environ.get("USER") or "unknown"
    confirmation = confirm_member(state, workspace, user, role, who, now())
    state.clear_removal(workspace, user)  # a member again: a removal asked for earlier is void
    overruled = probe.overruled(workspace, user, member=True)
    typer.echo(f"recorded: {user} is {confirmation.role} in workspace {workspace} "
               f"(confirmed by {confirmation.confirmed_by} at {confirmation.confirmed_at})"
               + (f"; note: {overruled}" if overruled else ""))

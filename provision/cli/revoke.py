"""`provision revoke`: take one user's access back, prove it with its old credentials, keep a record."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from provision.cli.common import (
    JsonOpt,
    ManifestOpt,
    SecretsDirOpt,
    StateDirOpt,
    VarFileOpt,
    VarOpt,
    ask,
    cloud_context,
    friendly,
    load,
    stderr,
    use_color,
)
from provision.errors import EXIT_ERROR


@friendly
def revoke(
    manifest: ManifestOpt,
    user: Annotated[str, typer.Option("--user", metavar="USER", help="the RAM user whose access to take "
                                                                     "back, as named in the manifest")],
    auto_approve: Annotated[bool, typer.Option("--auto-approve", help="revoke without asking")] = False,
    delete_user: Annotated[bool, typer.Option(
        "--delete-user", help="also delete the RAM user once stripped (refused for protect: true)")] = False,
    var: VarOpt = None,
    var_file: VarFileOpt = None,
    as_json: JsonOpt = False,
    state_dir: StateDirOpt = None,
    secrets_dir: SecretsDirOpt = None,
) -> None:
    """Take one account's access back, prove it with its old credentials, and keep a record.

    Runs only when the manifest already takes the access away (the user's `expires_at` has passed, or it
    is declared `state: absent`), so the next plan does not grant it again; otherwise it refuses and
    prints the exact manifest edit. In order: deactivate, then delete its AccessKeys; delete its console
    login; detach its policies; remove it from groups; unbind and delete its MFA device; delete the
    workspace API keys issued to it; list the console steps for its workspace memberships (no API; each
    ends with the `provision membership confirm ... --removed` to run once it is done);
    with --delete-user, delete the user. Each step tolerates "already gone", so it can be re-run.

    Then it proves the access is gone with the credentials the secrets sink held before: the old
    AccessKey fails STS GetCallerIdentity, the old API key gets 401 on a chat completion, no login
    profile, key, policy, group or MFA device is left. The dead secrets are dropped from the sink and a
    record (fingerprints only) is written to STATE_DIR/records/revoke-USER-UTC.json. Exits 0 only when
    every proof holds.

    Example: `provision revoke -m manifests/example.yaml --user acme-delivery`

    Example: `provision revoke -m manifests/example.yaml --var expires=2026-01-01T00:00:00Z --user
    acme-delivery --delete-user --auto-approve --json`
    """
    from rich.console import Console

    from provision.cli.clouds import revoker
    from provision.clock import now
    from provision.state.lock import Hold

    started = now()
    prepared = load(manifest, var, var_file, state_dir, secrets_dir)
    context = cloud_context(prepared, state_dir, secrets_dir, Hold.EXCLUSIVE)
    context.check_writable()  # the sink must take what revoke writes
    cloud = revoker(context)
    to_revoke = cloud.read_revoke(prepared, context, user, delete_user=delete_user, now=started)
    out = stderr() if as_json else Console(highlight=False, soft_wrap=True, no_color=not use_color(),
                                           emoji=False)
    out.print(f"revoke {user} ({to_revoke.why}):", markup=False)
    for number, step in enumerate(to_revoke.steps(), 1):
        out.print(f"  {number}. {step}", markup=False)
    if not auto_approve:
        ask(f"revoke every access of {user}?",
            "revoke needs confirmation but stdin is not a terminal: nothing was changed; re-run with "
            f"--auto-approve to revoke {user} without asking", "revoke cancelled: nothing was changed")
    err = stderr()
    record = cloud.run_revoke(to_revoke, prepared, context, started=started,
                              on_step=lambda step: err.print(cloud.step_line(step), markup=False))
    if as_json:
        typer.echo(json.dumps({**record.to_dict(), "record": str(record.path)}, indent=2))
    else:
        typer.echo(cloud.render_record(record))
    if not record.ok:
        raise typer.Exit(EXIT_ERROR)


"""`provision plan`: read the account, diff it with the manifest, show the changes. Changes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from provision.cli.common import (
    AllowDestroyOpt,
    JsonOpt,
    ManifestOpt,
    RotateMissingOpt,
    SecretsDirOpt,
    StateDirOpt,
    VarFileOpt,
    VarOpt,
    cloud_context,
    friendly,
    load,
    stderr,
    use_color,
    write_out,
)
from provision.errors import EXIT_CHANGES, ProvisionError


@friendly
def plan(
    manifest: ManifestOpt,
    var: VarOpt = None,
    var_file: VarFileOpt = None,
    as_json: JsonOpt = False,
    out: Annotated[Path | None, typer.Option(
        "--out", metavar="PLAN.json", dir_okay=False,
        help="also save the plan for `provision apply PLAN.json`")] = None,
    markdown: Annotated[bool, typer.Option("--markdown", help="render the plan as Markdown (PRs)")] = False,
    detailed_exitcode: Annotated[bool, typer.Option(
        "--detailed-exitcode", help="exit 2 when there are changes, refused deletions or declared "
                                    "resources not delivered, 0 when none, 1 on error")] = False,
    only_expired: Annotated[bool, typer.Option(
        "--only-expired", help="only the changes that revoke users past expires_at")] = False,
    allow_destroy: AllowDestroyOpt = False,
    rotate_missing_secrets: RotateMissingOpt = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="also list resources in sync")] = False,
    state_dir: StateDirOpt = None,
    secrets_dir: SecretsDirOpt = None,
) -> None:
    """Show what apply would change: read the account, diff it with the manifest. Changes nothing.

    Exit codes: 0 no changes (or changes without --detailed-exitcode), 2 changes, refused deletions or
    declared resources not delivered (blocked by an unmanaged look-alike, a lost secret) with
    --detailed-exitcode, 1 error. Expiry (`expires_at`) is judged as of now, or as of `PROVISION_NOW`
    (ISO-8601) when set, for reproducible runs.

    Example: `provision plan -m manifests/example.yaml --var customer=globex --detailed-exitcode`

    Example: `provision plan -m manifests/example.yaml --out plan.json` (then `provision apply plan.json`)

    A managed key whose secret the secrets sink lacks is reported (a warning), not rotated: rotating breaks
    whoever uses the key. `--rotate-missing-secrets` plans its rotation (a saved plan keeps the switch).
    """
    from provision.cli.views import render_markdown, render_text
    from provision.engine.flow import make_plan, plan_document
    from provision.state.lock import Hold

    if as_json and markdown:
        raise ProvisionError("give --json or --markdown, not both")
    prepared = load(manifest, var, var_file, state_dir, secrets_dir)
    # shared: plans run side by side, but never while a writer (apply, revoke, confirm) changes the state
    context = cloud_context(prepared, state_dir, secrets_dir, Hold.SHARED)
    result = make_plan(prepared, context, allow_destroy=allow_destroy, only_expired=only_expired,
                       rotate_missing=rotate_missing_secrets)
    # the JSON document only when it is written: the text views render from the plan itself
    document = json.dumps(plan_document(result, prepared.source), indent=2) if out or as_json else ""
    if out is not None:
        write_out(out, document + "\n")
    if as_json:
        typer.echo(document)
    elif markdown:
        typer.echo(render_markdown(result.plan, prepared.source.command_args()))
    else:
        typer.echo(render_text(result.plan, color=use_color(), verbose=verbose,
                               manifest_args=prepared.source.command_args()))
    if out is not None:
        stderr().print(f"plan saved to {out}; apply it with: provision apply {out}", markup=False)
    # a refused deletion, or a declared resource not delivered (blocked by a look-alike, a lost secret, an
    # orphan of an interrupted apply), leaves the account unlike the manifest: a drift job must notice it
    if detailed_exitcode and not result.plan.delivered:
        raise typer.Exit(EXIT_CHANGES)

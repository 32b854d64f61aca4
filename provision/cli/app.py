"""Commands only: parse arguments, call the flow, choose the output and the exit code.

Each command's body lives in its own module (engine/, checks/, audit/); this file wires them to
typer (the `membership` commands in cli/membership.py, shared options in cli/common.py). Expected
failures (ProvisionError) print one actionable message, never a traceback.
"""

from __future__ import annotations

import json
from dataclasses import replace
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from provision.audit.collect import run_audit
from provision.audit.document import json_schema as audit_json_schema
from provision.audit.render import Format as AuditFormat
from provision.audit.render import render as render_audit
from provision.checks.revoke import read_revoke, render_record, run_revoke, step_line
from provision.checks.verify import render_table, run_verify
from provision.cli.common import (
    HELP_NAMES,
    AllowDestroyOpt,
    JsonOpt,
    ManifestOpt,
    ProvisionGroup,
    RotateMissingOpt,
    SecretsDirOpt,
    StateDirOpt,
    VarFileOpt,
    VarOpt,
    ask,
    cloud_context,
    friendly,
    load,
    parse_vars,
    prepare_source,
    stderr,
    use_color,
    write_out,
)
from provision.cli.membership import membership_app
from provision.cli.views import checklist_lines, render_markdown, render_text
from provision.clock import now, parse_time
from provision.emulator.cli import app as emulator_app
from provision.engine.apply import ApplySummary, Outcome
from provision.engine.flow import (
    PlanOptions,
    SavedPlan,
    load_saved_plan,
    make_plan,
    plan_document,
    plan_to_apply,
    prepare,
    run_apply,
)
from provision.errors import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, ProvisionError
from provision.manifest import manifest_json_schema
from provision.plan.checklist import ManualStep, manual_steps
from provision.plan.diff import ROTATE_FLAG

app = typer.Typer(
    name="provision",
    help="Access-as-code for Alibaba Cloud Model Studio (Bailian): plan, apply, verify, revoke, audit.",
    epilog="Exit codes: 0 success (`plan --detailed-exitcode`: nothing to change) · 1 error, usage error, "
           "failed or refused change · 2 `plan --detailed-exitcode` only: the account differs from the "
           "manifest · 130 interrupted (Ctrl-C)",
    cls=ProvisionGroup,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": HELP_NAMES},
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"provision {package_version('provision')}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_show_version, is_eager=True,
                                       help="Show the version and exit.")) -> None:
    pass
app.add_typer(emulator_app, name="emulator")
app.add_typer(membership_app, name="membership")


# --- plan ---------------------------------------------------------------------------------------------


@app.command()
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
        "--detailed-exitcode", help="exit 2 when there are changes (or refused deletions), 0 when none, "
                                    "1 on error")] = False,
    only_expired: Annotated[bool, typer.Option(
        "--only-expired", help="only the changes that revoke users past expires_at")] = False,
    allow_destroy: AllowDestroyOpt = False,
    rotate_missing_secrets: RotateMissingOpt = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="also list resources in sync")] = False,
    state_dir: StateDirOpt = None,
    secrets_dir: SecretsDirOpt = None,
) -> None:
    """Show what apply would change: read the account, diff it with the manifest. Changes nothing.

    Exit codes: 0 no changes (or changes without --detailed-exitcode), 2 changes or refused deletions
    with --detailed-exitcode, 1 error. Expiry (`expires_at`) is judged as of now, or as of `PROVISION_NOW`
    (ISO-8601) when set, for reproducible runs.

    Example: `provision plan -m manifests/example.yaml --var customer=globex --detailed-exitcode`

    Example: `provision plan -m manifests/example.yaml --out plan.json` (then `provision apply plan.json`)

    A managed key whose secret the secrets sink lacks is reported (a warning), not rotated: rotating breaks
    whoever uses the key. `--rotate-missing-secrets` plans its rotation (a saved plan keeps the switch).
    """
    if as_json and markdown:
        raise ProvisionError("give --json or --markdown, not both")
    prepared = load(manifest, var, var_file, state_dir, secrets_dir)
    context = cloud_context(prepared, state_dir, secrets_dir)
    result = make_plan(prepared, context, allow_destroy=allow_destroy, only_expired=only_expired,
                       rotate_missing=rotate_missing_secrets)
    document = plan_document(result, prepared.source)
    if out is not None:
        write_out(out, json.dumps(document, indent=2) + "\n")
    if as_json:
        typer.echo(json.dumps(document, indent=2))
    elif markdown:
        typer.echo(render_markdown(result.plan, prepared.source.command_args()))
    else:
        typer.echo(render_text(result.plan, color=use_color(), verbose=verbose,
                               manifest_args=prepared.source.command_args()))
    if out is not None:
        stderr().print(f"plan saved to {out}; apply it with: provision apply {out}", markup=False)
    # a refused deletion leaves the account unlike the manifest: a drift job must notice it
    if detailed_exitcode and (result.plan.has_changes or result.plan.summary().refused):
        raise typer.Exit(EXIT_CHANGES)


# --- apply --------------------------------------------------------------------------------------------


@app.command()
@friendly
def apply(
    plan_file: Annotated[Path | None, typer.Argument(
        metavar="[PLAN.json]", help="a plan saved by `provision plan --out` (instead of -m)",
        dir_okay=False)] = None,
    manifest: Annotated[Path | None, typer.Option(
        "--manifest", "-m", metavar="FILE", help="the manifest file (re-planned right before applying)",
        dir_okay=False)] = None,
    var: VarOpt = None,
    var_file: VarFileOpt = None,
    auto_approve: Annotated[bool, typer.Option("--auto-approve", help="apply without asking")] = False,
    allow_destroy: AllowDestroyOpt = False,
    rotate_missing_secrets: RotateMissingOpt = False,
    state_dir: StateDirOpt = None,
    secrets_dir: SecretsDirOpt = None,
    as_json: JsonOpt = False,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=64, metavar="N",
                                             help="changes in flight at once")] = 8,
    verify: Annotated[bool, typer.Option(
        "--verify", help="then run `provision verify` if the apply succeeded (exit 1 if one fails)")] = False,
) -> None:
    """Make the account match the manifest: re-plan, show the plan, ask, then apply it.

    Secrets the cloud returns once (AccessKey secrets, passwords, API keys) go to the secrets sink
    (one 0600 env file per account), never to the screen. An interrupted apply resumes: run it again.
    A saved plan is refused when the account or the manifest changed since it was made.

    Example: `provision apply -m manifests/example.yaml --auto-approve`

    Example: `provision apply -m manifests/example.yaml --auto-approve --verify` (then prove it works)

    Example: `provision apply plan.json` (a plan saved by `provision plan --out plan.json`)

    Example: `provision apply -m manifests/example.yaml --rotate-missing-secrets` (replace the keys whose
    secret the sink lost; without it they are only reported)
    """
    if (plan_file is None) == (manifest is None):
        raise ProvisionError("give a manifest (-m FILE) or a saved plan (PLAN.json), not both" if plan_file
                             else "give the manifest (-m FILE) or a saved plan (PLAN.json) to apply")
    saved: SavedPlan | None = None
    if plan_file is not None:
        if var or var_file or allow_destroy or rotate_missing_secrets:
            raise ProvisionError(f"{plan_file} carries its own manifest, variables and --allow-destroy/"
                                 f"{ROTATE_FLAG} switches: re-run plan to change them")
        saved = load_saved_plan(plan_file)
        prepared = prepare_source(replace(saved.source, state_dir=state_dir, secrets_dir=secrets_dir))
    else:
        assert manifest is not None
        prepared = load(manifest, var, var_file, state_dir, secrets_dir)
    context = cloud_context(prepared, state_dir, secrets_dir)
    options = PlanOptions(allow_destroy=allow_destroy, rotate_missing=rotate_missing_secrets)
    to_apply = plan_to_apply(prepared, context, saved, options)
    if not as_json:
        typer.echo(render_text(to_apply, color=use_color(), manifest_args=prepared.source.command_args()))
    count = len(to_apply.actionable)
    if count and not auto_approve:
        ask(f"apply these {count} changes?",
            f"apply needs confirmation for {count} change(s) but stdin is not a terminal: re-run with "
            "--auto-approve to apply without asking", "apply cancelled: nothing was changed")
    err = stderr()

    def progress(outcome: Outcome) -> None:
        err.print(outcome.line(), markup=False, style=_STYLE.get(str(outcome.status)))

    summary = run_apply(to_apply, context, concurrency=concurrency, on_event=progress)
    ran = not summary.failed and not summary.skipped  # refused deletions do not stop verify
    if verify and not ran:
        err.print("verify skipped: the apply did not succeed", markup=False, style="yellow")
    verified = run_verify(prepared, context) if verify and ran else None
    if verified is not None and as_json:  # one JSON document: the apply summary and the checks
        typer.echo(json.dumps({"apply": summary.to_dict(), "verify": verified.to_list()}, indent=2))
    else:
        _report(summary, manual_steps(to_apply, prepared.source.command_args()), as_json)
    if verified is not None and not as_json:
        typer.echo(render_table(verified, color=use_color()), nl=False)
    refusal = summary.refusal()
    if refusal is not None:
        typer.secho(f"error: {refusal}", fg=typer.colors.RED, err=True)
    exit_code = max(summary.exit_code, verified.exit_code if verified is not None else EXIT_OK)
    if exit_code != EXIT_OK:
        raise typer.Exit(exit_code)


_STYLE = {"done": "green", "failed": "red", "skipped": "yellow", "manual": "cyan"}


def _report(summary: ApplySummary, steps: list[ManualStep], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(summary.to_dict(), indent=2))
        return
    lines = [f"apply: {summary.counts()} in {summary.seconds:.1f}s"]
    lines += [f"  {o.line()}" for o in summary.failed + summary.skipped + summary.refused]
    if steps:
        lines.append("console steps left (list them with `provision membership checklist`):")
        lines += checklist_lines(steps)
    if not summary.done and not summary.failed and not summary.skipped:
        lines.insert(0, "nothing applied: every remaining change is refused" if summary.refused
                     else "nothing to do: the account matches the manifest")
    typer.echo("\n".join(lines))


# --- schema -------------------------------------------------------------------------------------------


@app.command()
def schema() -> None:
    """Print the manifest's JSON Schema (for editors and CI validation).

    Example: `provision schema > manifest.schema.json`
    """
    typer.echo(json.dumps(manifest_json_schema(), indent=2))


# --- verify -------------------------------------------------------------------------------------------


@app.command()
@friendly
def verify(
    manifest: ManifestOpt,
    var: VarOpt = None,
    var_file: VarFileOpt = None,
    as_json: JsonOpt = False,
    state_dir: StateDirOpt = None,
    secrets_dir: SecretsDirOpt = None,
) -> None:
    """Prove the delivered access works: smoke calls with the credentials in the secrets sink.

    Per `verify.checks` entry: a chat completion (OpenAI-compatible) and a DashScope generation with the
    workspace's API key, the refusal of `denied_model`, the agent app, and the same calls through each
    PrivateLink endpoint. Each delivered AccessKey must sign STS GetCallerIdentity as its RAM user; each
    declared member must pass the membership probe. A failure says what is wrong and which manifest
    entry (file:line) to change. Exits 0 only when every check passes. Changes nothing.

    Example: `provision verify -m manifests/example.yaml`

    Example: `provision verify -m manifests/example.yaml --json > verify.json`
    """
    prepared = load(manifest, var, var_file, state_dir, secrets_dir)
    report = run_verify(prepared, cloud_context(prepared, state_dir, secrets_dir))
    if as_json:
        typer.echo(json.dumps(report.to_list(), indent=2))
    else:
        typer.echo(render_table(report, color=use_color()), nl=False)
    if report.exit_code != EXIT_OK:
        raise typer.Exit(report.exit_code)


# --- revoke -------------------------------------------------------------------------------------------


@app.command()
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
    started = now()
    prepared = load(manifest, var, var_file, state_dir, secrets_dir)
    context = cloud_context(prepared, state_dir, secrets_dir)
    context.check_writable()  # the record and the sink must take what revoke writes
    to_revoke = read_revoke(prepared, context, user, delete_user=delete_user, now=started)
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
    record = run_revoke(to_revoke, prepared, context, started=started,
                        on_step=lambda step: err.print(step_line(step), markup=False))
    if as_json:
        typer.echo(json.dumps({**record.to_dict(), "record": str(record.path)}, indent=2))
    else:
        typer.echo(render_record(record))
    if not record.ok:
        raise typer.Exit(EXIT_ERROR)


# --- audit --------------------------------------------------------------------------------------------


def _print_audit_schema(value: bool) -> None:
    """``--schema``: print the JSON report's schema and stop (no manifest, no cloud call)."""
    if value:
        typer.echo(audit_json_schema(), nl=False)
        raise typer.Exit()


@app.command()
@friendly
def audit(
    manifest: ManifestOpt,
    fmt: Annotated[AuditFormat, typer.Option(
        "--format", "-f", help="html (one self-contained file for a browser), md (tickets), json (machines), "
                               "csv (one row per finding)")] = AuditFormat.HTML,
    out: Annotated[Path | None, typer.Option("--out", "-o", metavar="FILE", dir_okay=False,
                                             help="write the report to this file [default: stdout]")] = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", metavar="TIME", help="judge key ages, last use and expiry as of this UTC time, e.g. "
                                        "2026-06-30T00:00:00Z [default: now]")] = None,
    var: VarOpt = None,
    var_file: VarFileOpt = None,
    state_dir: StateDirOpt = None,
    secrets_dir: SecretsDirOpt = None,
    schema: Annotated[bool, typer.Option(
        "--schema", is_eager=True, expose_value=False, callback=_print_audit_schema,
        help="print the JSON Schema of the json report (docs/audit.schema.json) and exit")] = False,
) -> None:
    """Report who can reach what in Model Studio, with risks and drift flagged. Changes nothing.

    Reads every RAM user (managed or not), workspace, API key and PrivateLink endpoint to DashScope,
    then runs the checks BAILIAN-001..012 (docs/audit.md). No secret value is ever included.

    Example: `provision audit -m manifests/example.yaml --format html --out audit.html`

    Example: `provision audit -m manifests/example.yaml --format csv --out findings.csv`
    """
    moment = parse_time(as_of, "--as-of") if as_of else now()  # default: PROVISION_NOW, else now
    prepared = prepare(manifest, parse_vars(var), var_file or [], now=moment)
    report = run_audit(prepared, cloud_context(prepared, state_dir, secrets_dir), moment)
    text = render_audit(report, fmt)
    if out is None:
        typer.echo(text, nl=False)
    else:
        write_out(out, text)
    counts = ", ".join(f"{n} {s}" for s, n in report.summary().by_severity.items() if n) or "none"
    where = f": {fmt.value} report written to {out}" if out is not None else ""
    stderr().print(f"audit: {len(report.findings)} finding(s) ({counts}){where}", markup=False)


def main() -> None:
    """Console entry point (ProvisionGroup maps usage errors and ProvisionErrors to one line and a code)."""
    app()


if __name__ == "__main__":
    main()

"""Commands only: parse arguments, call the flow, choose the output and the exit code.

Each command's body lives in its own module (flow, apply, verify, revoke, audit); this file wires
them to typer. Expected failures (ProvisionError) print one actionable message, never a traceback.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console

from provision.apply import ApplySummary, Outcome
from provision.audit.collect import run_audit
from provision.audit.render import Format as AuditFormat
from provision.audit.render import render as render_audit
from provision.emulator.cli import app as emulator_app
from provision.errors import EXIT_CHANGES, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, ProvisionError
from provision.flow import (
    Context,
    PlanOptions,
    Prepared,
    SavedPlan,
    Source,
    load_saved_plan,
    make_plan,
    plan_document,
    plan_to_apply,
    prepare,
    run_apply,
)
from provision.manifest import manifest_json_schema
from provision.providers.membership import checklist_item, confirm_member
from provision.resources import MemberSpec
from provision.revoke import read_revoke, render_record, run_revoke, step_line
from provision.verify import render_table, run_verify
from provision.views import render_markdown, render_text

app = typer.Typer(
    name="provision",
    help="Access-as-code for Alibaba Cloud Model Studio (Bailian): plan, apply, verify, revoke, audit.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="markdown",
)
app.add_typer(emulator_app, name="emulator")
membership_app = typer.Typer(help="Workspace membership: console-only steps, their checklist, confirmations.",
                             no_args_is_help=True)
app.add_typer(membership_app, name="membership")

P = ParamSpec("P")
R = TypeVar("R")

# --- shared options -----------------------------------------------------------------------------------

ManifestOpt = Annotated[Path, typer.Option(
    "--manifest", "-m", help="the manifest file (YAML, Jinja2 template)", dir_okay=False)]
VarOpt = Annotated[list[str] | None, typer.Option("--var", help="template variable NAME=VALUE (repeatable)")]
VarFileOpt = Annotated[list[Path] | None, typer.Option("--var-file", help="YAML file of template variables "
                                                                         "(repeatable)", dir_okay=False)]
StateDirOpt = Annotated[Path | None, typer.Option(
    "--state-dir", envvar="PROVISION_STATE_DIR", help="state directory [default: .provision]",
    file_okay=False)]
SecretsDirOpt = Annotated[Path | None, typer.Option(
    "--secrets-dir", envvar="PROVISION_SECRETS_DIR",
    help="secrets sink directory [default: STATE_DIR/secrets]", file_okay=False)]
AllowDestroyOpt = Annotated[bool, typer.Option(
    "--allow-destroy", help="allow deleting resources declared state: absent (protect: true still refuses)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable JSON on stdout")]


def friendly(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn a ProvisionError into one red line on stderr and its exit code (also under a test runner)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except ProvisionError as exc:
            typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("interrupted: run the command again; apply re-plans and does only what is left",
                       err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None

    return wrapper


def _vars(pairs: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ProvisionError(f"--var {pair!r}: expected NAME=VALUE")
        out[name.strip()] = value
    return out


def _color() -> bool:
    """Colour only on a terminal, and never with NO_COLOR set."""
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _stderr() -> Console:
    # soft_wrap: a progress line is one line even when it is longer than the terminal
    return Console(stderr=True, highlight=False, soft_wrap=True)


def _load(manifest: Path, var: list[str] | None, var_file: list[Path] | None) -> Prepared:
    """Prepare the manifest given on the command line."""
    return _prepare(Source(manifest, _vars(var), tuple(var_file or ())))


def _prepare(source: Source) -> Prepared:
    """Prepare a manifest (no cloud call) and print its lint warnings on stderr."""
    prepared = prepare(source.manifest, source.vars, source.var_files, now=datetime.now(UTC))
    err = _stderr()
    for warning in prepared.warnings:
        err.print(f"warning: {warning}", style="yellow", markup=False)
    return prepared


def _context(prepared: Prepared, state_dir: Path | None, secrets_dir: Path | None) -> Context:
    return Context.build(prepared.manifest, state_dir=state_dir, secrets_dir=secrets_dir)


# --- plan ---------------------------------------------------------------------------------------------


@app.command()
@friendly
def plan(
    manifest: ManifestOpt,
    var: VarOpt = None,
    var_file: VarFileOpt = None,
    as_json: JsonOpt = False,
    out: Annotated[Path | None, typer.Option("--out", help="also save the plan as JSON for `provision apply "
                                                           "PLAN.json`", dir_okay=False)] = None,
    markdown: Annotated[bool, typer.Option("--markdown", help="render the plan as Markdown (PRs)")] = False,
    detailed_exitcode: Annotated[bool, typer.Option(
        "--detailed-exitcode", help="exit 2 when there are changes, 0 when none, 1 on error")] = False,
    only_expired: Annotated[bool, typer.Option(
        "--only-expired", help="only the changes that revoke users past expires_at")] = False,
    allow_destroy: AllowDestroyOpt = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="also list resources in sync")] = False,
    state_dir: StateDirOpt = None,
    secrets_dir: SecretsDirOpt = None,
) -> None:
    """Show what apply would change: read the account, diff it with the manifest. Changes nothing.

    Exit codes: 0 no changes (or changes without --detailed-exitcode), 2 changes with
    --detailed-exitcode, 1 error.

    Example: `provision plan -m manifests/example.yaml --var customer=globex --detailed-exitcode`

    Example: `provision plan -m manifests/example.yaml --out plan.json` (then `provision apply plan.json`)
    """
    prepared = _load(manifest, var, var_file)
    context = _context(prepared, state_dir, secrets_dir)
    result = make_plan(prepared, context, allow_destroy=allow_destroy, only_expired=only_expired)
    document = plan_document(result, prepared.source)
    if out is not None:
        out.write_text(json.dumps(document, indent=2) + "\n")
    if as_json:
        typer.echo(json.dumps(document, indent=2))
    elif markdown:
        typer.echo(render_markdown(result.plan))
    else:
        typer.echo(render_text(result.plan, color=_color(), verbose=verbose))
    if out is not None:
        _stderr().print(f"plan saved to {out}; apply it with: provision apply {out}", markup=False)
    if detailed_exitcode and result.plan.has_changes:
        raise typer.Exit(EXIT_CHANGES)


# --- apply --------------------------------------------------------------------------------------------


@app.command()
@friendly
def apply(
    plan_file: Annotated[Path | None, typer.Argument(
        metavar="[PLAN.json]", help="a plan saved by `provision plan --out` (instead of -m)",
        dir_okay=False)] = None,
    manifest: Annotated[Path | None, typer.Option(
        "--manifest", "-m", help="the manifest file (re-planned right before applying)",
        dir_okay=False)] = None,
    var: VarOpt = None,
    var_file: VarFileOpt = None,
    auto_approve: Annotated[bool, typer.Option("--auto-approve", help="apply without asking")] = False,
    allow_destroy: AllowDestroyOpt = False,
    state_dir: StateDirOpt = None,
    secrets_dir: SecretsDirOpt = None,
    as_json: JsonOpt = False,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=64,
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
    """
    if (plan_file is None) == (manifest is None):
        raise ProvisionError("give either a manifest (-m FILE) or a saved plan (PLAN.json), not both")
    saved: SavedPlan | None = None
    if plan_file is not None:
        if var or var_file or allow_destroy:
            raise ProvisionError(f"{plan_file} carries its own manifest, variables and --allow-destroy: "
                                 "re-run plan to change them")
        saved = load_saved_plan(plan_file)
        prepared = _prepare(saved.source)
    else:
        assert manifest is not None
        prepared = _load(manifest, var, var_file)
    context = _context(prepared, state_dir, secrets_dir)
    to_apply = plan_to_apply(prepared, context, saved, PlanOptions(allow_destroy=allow_destroy))
    if not as_json:
        typer.echo(render_text(to_apply, color=_color(), verbose=False))
    count = len(to_apply.actionable)
    if count and not auto_approve:
        _confirm(count)
    err = _stderr()

    def progress(outcome: Outcome) -> None:
        err.print(outcome.line(), markup=False, style=_STYLE.get(str(outcome.status)))

    summary = run_apply(to_apply, context, concurrency=concurrency, on_event=progress)
    if verify and summary.exit_code != EXIT_OK:
        err.print("verify skipped: the apply did not succeed", markup=False, style="yellow")
    verified = run_verify(prepared, context) if verify and summary.exit_code == EXIT_OK else None
    if verified is not None and as_json:  # one JSON document: the apply summary and the checks
        typer.echo(json.dumps({"apply": summary.to_dict(), "verify": verified.to_list()}, indent=2))
    else:
        _report(summary, as_json)
    if verified is not None and not as_json:
        typer.echo(render_table(verified, color=_color()), nl=False)
    exit_code = verified.exit_code if verified is not None else summary.exit_code
    if exit_code != EXIT_OK:
        raise typer.Exit(exit_code)


_STYLE = {"done": "green", "failed": "red", "skipped": "yellow", "manual": "cyan"}


def _confirm(count: int) -> None:
    """Ask before changing anything; without a terminal to ask on, refuse."""
    if not sys.stdin.isatty():
        raise ProvisionError(f"apply needs confirmation for {count} change(s) but stdin is not a terminal: "
                             "re-run with --auto-approve to apply without asking")
    if not typer.confirm(f"apply these {count} changes?", default=False, err=True):
        raise ProvisionError("apply cancelled: nothing was changed")


def _report(summary: ApplySummary, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(summary.to_dict(), indent=2))
        return
    lines = [f"apply: {summary.counts()} in {summary.seconds:.1f}s"]
    lines += [f"  {o.line()}" for o in summary.failed + summary.skipped + summary.refused]
    if summary.manual:
        lines.append("console steps left (list them with `provision membership checklist`):")
        lines += [f"  [ ] {o.message.removeprefix('manual: ')}" for o in summary.manual]
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


# --- membership ---------------------------------------------------------------------------------------


@membership_app.command("checklist")
@friendly
def membership_checklist(
    manifest: ManifestOpt,
    var: VarOpt = None,
    var_file: VarFileOpt = None,
    state_dir: StateDirOpt = None,
    secrets_dir: SecretsDirOpt = None,
) -> None:
    """List the console steps still pending (workspace memberships the probe cannot prove yet).

    Example: `provision membership checklist -m manifests/example.yaml`
    """
    prepared = _load(manifest, var, var_file)
    context = _context(prepared, state_dir, secrets_dir)
    result = make_plan(prepared, context)
    steps = result.plan.manual
    if not steps:
        typer.echo("no console steps pending: every declared membership is proven or confirmed")
        return
    typer.echo(f"{len(steps)} console step(s) pending:")
    for step in steps:
        member = step.spec
        ws_id = context.state.workspace_id(member.workspace) if isinstance(member, MemberSpec) else None
        typer.echo(f"  [ ] {checklist_item(step, ws_id)}")


@membership_app.command("confirm")
@friendly
def membership_confirm(
    manifest: ManifestOpt,
    workspace: Annotated[str, typer.Option("--workspace", help="workspace name as declared in the manifest")],
    user: Annotated[str, typer.Option("--user", help="RAM user name as declared in the manifest")],
    role: Annotated[str, typer.Option("--role", help="guest or admin, as set in the console")],
    by: Annotated[str | None, typer.Option("--by", help="who did the console step [default: $USER]")] = None,
    var: VarOpt = None,
    var_file: VarFileOpt = None,
    state_dir: StateDirOpt = None,
    secrets_dir: SecretsDirOpt = None,
) -> None:
    """Record that a console-only membership step was done, so plans stop listing it.

    Example: `provision membership confirm -m manifests/example.yaml --workspace agent-delivery
    --user acme-lead --role admin --by jane`
    """
    prepared = _load(manifest, var, var_file)
    context = _context(prepared, state_dir, secrets_dir)
    declared = {(s.workspace, s.user) for s in prepared.desired.present if isinstance(s, MemberSpec)}
    if (workspace, user) not in declared:
        raise ProvisionError(f"{manifest}: {user} is not declared as a member of workspace {workspace}")
    who = by or os.environ.get("USER") or "unknown"
    confirmation = confirm_member(context.state, workspace, user, role, who)
    typer.echo(f"recorded: {user} is {confirmation.role} in workspace {workspace} "
               f"(confirmed by {confirmation.confirmed_by} at {confirmation.confirmed_at})")


# --- commands: verify / revoke / audit ---------------------------------------------------------------
# TODO(issue 4): `verify` (provision.verify), `revoke` (provision.revoke), `audit` (provision.audit) go here.


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
    prepared = _load(manifest, var, var_file)
    report = run_verify(prepared, _context(prepared, state_dir, secrets_dir))
    if as_json:
        typer.echo(json.dumps(report.to_list(), indent=2))
    else:
        typer.echo(render_table(report, color=_color()), nl=False)
    if report.exit_code != EXIT_OK:
        raise typer.Exit(report.exit_code)


# --- revoke -------------------------------------------------------------------------------------------


@app.command()
@friendly
def revoke(
    manifest: ManifestOpt,
    user: Annotated[str, typer.Option("--user", help="the RAM user whose access to take back, as named in "
                                                     "the manifest")],
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
    workspace API keys issued to it; list the console steps for its workspace memberships (no API);
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
    started = datetime.now(UTC)
    prepared = _load(manifest, var, var_file)
    context = _context(prepared, state_dir, secrets_dir)
    to_revoke = read_revoke(prepared, context, user, delete_user=delete_user, now=started)
    out = _stderr() if as_json else Console(highlight=False, soft_wrap=True, no_color=not _color())
    out.print(f"revoke {user} ({to_revoke.why}):", markup=False)
    for number, step in enumerate(to_revoke.steps(), 1):
        out.print(f"  {number}. {step}", markup=False)
    if not auto_approve:
        _confirm_revoke(user)
    err = _stderr()
    record = run_revoke(to_revoke, prepared, context, started=started,
                        on_step=lambda step: err.print(step_line(step), markup=False))
    if as_json:
        typer.echo(json.dumps({**record.to_dict(), "record": str(record.path)}, indent=2))
    else:
        typer.echo(render_record(record))
    if not record.ok:
        raise typer.Exit(EXIT_ERROR)


def _confirm_revoke(user: str) -> None:
    """Ask before revoking; without a terminal to ask on, refuse."""
    if not sys.stdin.isatty():
        raise ProvisionError(f"revoke needs confirmation but stdin is not a terminal: nothing was changed; "
                             f"re-run with --auto-approve to revoke {user} without asking")
    if not typer.confirm(f"revoke every access of {user}?", default=False, err=True):
        raise ProvisionError("revoke cancelled: nothing was changed")


# --- audit --------------------------------------------------------------------------------------------


@app.command()
@friendly
def audit(
    manifest: ManifestOpt,
    fmt: Annotated[AuditFormat, typer.Option(
        "--format", "-f", help="html (one self-contained file for a browser), md (tickets), json (machines), "
                               "csv (one row per finding)")] = AuditFormat.HTML,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="write the report to this file "
                                                                 "[default: stdout]", dir_okay=False)] = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="judge key ages, last use and expiry as of this UTC time, e.g. 2026-06-30T00:00:00Z "
                        "[default: now]")] = None,
    var: VarOpt = None,
    var_file: VarFileOpt = None,
    state_dir: StateDirOpt = None,
    secrets_dir: SecretsDirOpt = None,
) -> None:
    """Report who can reach what in Model Studio, with risks and drift flagged. Changes nothing.

    Reads every RAM user (managed or not), workspace, API key and PrivateLink endpoint to DashScope,
    then runs the checks BAILIAN-001..012 (docs/audit.md). No secret value is ever included.

    Example: `provision audit -m manifests/example.yaml --format html --out audit.html`

    Example: `provision audit -m manifests/example.yaml --format csv --out findings.csv`
    """
    moment = _moment(as_of)
    prepared = prepare(manifest, _vars(var), var_file or [], now=moment)
    report = run_audit(prepared, _context(prepared, state_dir, secrets_dir), moment)
    text = render_audit(report, fmt)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
    counts = ", ".join(f"{n} {s}" for s, n in report.summary().by_severity.items() if n) or "none"
    where = f": {fmt.value} report written to {out}" if out is not None else ""
    _stderr().print(f"audit: {len(report.findings)} finding(s) ({counts}){where}", markup=False)


def _moment(text: str | None) -> datetime:
    """``--as-of`` as an aware UTC datetime (now when not given)."""
    if not text:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ProvisionError(f"--as-of {text!r}: expected an ISO-8601 time such as "
                             "2026-06-30T00:00:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def main() -> None:
    """Console entry point: run the app, turning expected failures into one line and an exit code."""
    try:
        app()
    except ProvisionError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)


if __name__ == "__main__":
    main()

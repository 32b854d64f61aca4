"""`provision apply`: re-plan, show the plan, ask, then make the account match the manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from provision.cli.common import (
    AllowDestroyOpt,
    JsonOpt,
    RotateMissingOpt,
    SecretsDirOpt,
    StateDirOpt,
    VarFileOpt,
    VarOpt,
    ask,
    cloud_context,
    friendly,
    load,
    prepare_source,
    stderr,
    use_color,
)
from provision.errors import EXIT_OK, ProvisionError
from provision.plan.flags import ROTATE_FLAG

if TYPE_CHECKING:
    from provision.engine.apply import ApplySummary, Outcome
    from provision.engine.flow import SavedPlan
    from provision.plan.checklist import ManualStep


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
    from dataclasses import replace

    from provision.cli.views import render_text
    from provision.engine.flow import PlanOptions, load_saved_plan, plan_to_apply, run_apply
    from provision.plan.checklist import manual_steps
    from provision.state.lock import Hold

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
    context = cloud_context(prepared, state_dir, secrets_dir, Hold.EXCLUSIVE)
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
    styled = err.is_terminal and not err.no_color  # else a plain line: rich's rendering costs ~0.3 ms each

    def progress(outcome: Outcome) -> None:
        if styled:
            err.print(outcome.line(), markup=False, style=_STYLE.get(str(outcome.status)))
        else:
            err.file.write(outcome.line() + "\n")
            err.file.flush()

    summary = run_apply(to_apply, context, concurrency=concurrency, on_event=progress)
    ran = not summary.failed and not summary.skipped  # refused deletions do not stop verify
    if verify and not ran:
        err.print("verify skipped: the apply did not succeed", markup=False, style="yellow")
    verified = None
    if verify and ran:  # the model-call SDKs (openai, dashscope) load only for --verify
        from provision.cli.clouds import run_verify
        from provision.cli.views import render_table

        verified = run_verify(prepared, context)
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
    from provision.cli.views import checklist_lines

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


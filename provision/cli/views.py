"""Views: the plan as Terraform-like text for the terminal (colour through rich) and as markdown for a PR
comment; the verify results as a table, or as blocks on a terminal too narrow for the table.

Both plan views render the same sections from a Plan: changes, drift, the console checklist for manual
steps, warnings, unmanaged look-alikes, and the summary line.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import textwrap
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from provision.checks.results import CheckResult, VerifyReport
from provision.desired.resources import Zone
from provision.plan.checklist import ManualStep, manual_steps
from provision.plan.diff import Action, Change, Plan

NO_CHANGES = "No changes. The account matches the manifest."
UNDELIVERED = "Not delivered: {n} declared resource(s) the account does not hold as the manifest says"
_SYMBOL = {Action.CREATE: "+", Action.UPDATE: "~", Action.DELETE: "-", Action.REFUSED: "!", Action.NOOP: "="}
_STYLE = {
    Action.CREATE: "green",
    Action.UPDATE: "yellow",
    Action.DELETE: "red",
    Action.REFUSED: "bold red",
    Action.NOOP: "dim",
    Action.MANUAL: "cyan",
}

Line = tuple[str, str]  # (text, rich style)


def render_text(plan: Plan, color: bool, verbose: bool = False, manifest_args: str | None = None) -> str:
    """The plan for a terminal: changes, drift, manual checklist, warnings, look-alikes, summary.
    ``manifest_args`` is how the checklist's confirm commands name the manifest (default: its path)."""
    lines: list[Line] = []
    shown = [
        c
        for c in plan.changes
        if not c.drift and c.action is not Action.MANUAL and (verbose or c.action is not Action.NOOP)
        and not _withheld(c)
    ]
    if plan.undelivered:
        lines.append((UNDELIVERED.format(n=len(plan.undelivered)) + ":", "bold red"))
        lines += [(f"  ✗ {why}", "red") for why in plan.undelivered]
        lines.append(("", ""))
    elif not _pending(plan):
        lines.append((NO_CHANGES, "bold green"))
    for change in shown:
        lines += _change_lines(change)
    drifted = [c for c in plan.changes if c.drift]
    if drifted:
        lines += [("", ""), ("Drift (changed outside provision)", "bold magenta")]
        for change in drifted:
            lines += _change_lines(change, style="magenta")
    withheld = [c for c in plan.changes if _withheld(c)]
    if withheld:
        lines += [("", ""), ("Withheld (declared for users past expires_at: not created)", "bold")]
        lines += [(f"  = {c.key} ({c.reason})", "dim") for c in withheld]
    steps = manual_steps(plan, manifest_args)
    if steps:
        lines += [
            ("", ""),
            ("Manual steps (no API exists: do them in the console, then confirm)", "bold cyan"),
        ]
        for n, step in enumerate(steps, 1):
            lines += [(f"  {n}. {step.what}", "cyan"), (f"     {step.where}; then run: {step.confirm}", "")]
    lines += _notes(plan)
    if _pending(plan):
        lines += [("", ""), (summary_line(plan), "bold")]
    return _render(lines, color)


def render_markdown(plan: Plan, manifest_args: str | None = None) -> str:
    """The plan as a PR comment: summary table, change table with details, and a console checklist."""
    s = plan.summary()
    out = [f"### provision plan{f' for `{plan.manifest}`' if plan.manifest else ''}", ""]
    if plan.undelivered:
        out += [f"**{UNDELIVERED.format(n=len(plan.undelivered))}:**", ""]
        out += [f"- {_md(why)}" for why in plan.undelivered] + [""]
    if not _pending(plan):
        out.append(NO_CHANGES if not plan.undelivered else "No change the tool can make on its own.")
    else:
        out += [
            "| create | update | delete | refused | manual | drift |",
            "|---:|---:|---:|---:|---:|---:|",
            f"| {s.create} | {s.update} | {s.delete} | {s.refused} | {s.manual} | {s.drift} |",
            "",
        ]
    listed = [c for c in plan.changes if c.action not in (Action.NOOP, Action.MANUAL) or _withheld(c)]
    if listed:
        out += ["| | resource | reason |", "|---|---|---|"]
        out += [
            f"| {_SYMBOL[c.action]} {'drift' if c.drift else c.action.value} | `{c.key}` | {_md(c.reason)} |"
            for c in listed
        ]
        details = [(c, line) for c in listed for line, _ in _detail_lines(c)]
        if details:
            out += ["", "<details><summary>Details</summary>", ""]
            out += [f"- `{c.key}`: {_md(line.strip())}" for c, line in details]
            out += ["", "</details>"]
    steps = manual_steps(plan, manifest_args)
    if steps:
        out += ["", "#### Manual steps (Model Studio console)", ""]
        out += [f"- [ ] {_md(step.what)} ({_md(step.where)}); then run `{step.confirm}`" for step in steps]
    if plan.warnings:
        out += ["", "#### Warnings", ""] + [f"- {_md(w)}" for w in plan.warnings]
    if plan.unmanaged:
        out += ["", "#### Unmanaged look-alikes (not touched; declare `adopt: true` to manage)", ""]
        out += [f"- `{key}`" for key in plan.unmanaged]
    return "\n".join(out) + "\n"


def summary_line(plan: Plan) -> str:
    """The closing line: counts of creates, updates, deletes, refusals, manual steps and drifted resources."""
    s = plan.summary()
    steps = "step" if s.manual == 1 else "steps"
    return (
        f"Plan: {s.create} to create, {s.update} to update, {s.delete} to delete, {s.refused} refused; "
        f"{s.manual} manual {steps}; {s.drift} drifted."
    )


def checklist_lines(steps: list[ManualStep]) -> list[str]:
    """Console steps as a checkbox list: ``  [ ] what``, then where to click, any note, the command to run."""
    return [f"  [ ] {step.what}\n      {step.where}\n" + (f"      note: {step.note}\n" if step.note else "")
            + f"      then run: {step.confirm}" for step in steps]


# --- verify ---------------------------------------------------------------------------------------------

_UNBOUNDED = 100_000  # columns: wide enough that nothing folds
_INDENT = "     "  # under the verdict: the target and the detail of a result


def terminal_width(color: bool) -> int | None:
    """The columns the output must fit: COLUMNS when set (also piped), else the terminal's when on one,
    else None (piped or logged: each row stays on one line)."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    return shutil.get_terminal_size().columns if color else None


def render_table(report: VerifyReport, color: bool, width: int | None = None) -> str:
    """The verify results and a summary line; colour on a TTY. ``width`` defaults to :func:`terminal_width`.

    Piped or logged (no width), a table with each row on one line, whatever the lengths of paths and ids.
    Within a width, the same table when it fits; otherwise one block per result (the verdict and the
    check, then the target and the detail wrapped at spaces), so a host name or an id is never split."""
    width = width or terminal_width(color)
    table = _verify_table(report, color)
    if width is None or max(map(len, table.splitlines()), default=0) <= width:
        return table
    return _verify_blocks(report, color, width)


def _verdict(result: CheckResult) -> Text:
    if result.passed:
        return Text("pass", style="green")
    if result.skipped:
        return Text("skipped", style="yellow")
    return Text(" ".join(["FAIL", *([str(result.status)] if result.status else []),
                          *([result.code] if result.code else [])]), style="bold red")


def _verify_table(report: VerifyReport, color: bool) -> str:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for column in ("check", "target", "result", "detail"):
        table.add_column(column, no_wrap=True)
    for r in report.results:  # Text cells: an ARN such as acs:ram::1:user/x must not turn into markup
        table.add_row(Text(r.id), Text(r.target), _verdict(r), Text(r.diagnosis))
    rows = [table] if report.results else []
    return _print([*rows, Text(report.summary(), style="green" if report.passed else "bold red")], color,
                  _UNBOUNDED)


def _verify_blocks(report: VerifyReport, color: bool, width: int) -> str:
    def wrap(text: str) -> list[Text]:
        return [Text(line) for line in textwrap.wrap(text, width, initial_indent=_INDENT,
                                                     subsequent_indent=_INDENT, break_long_words=False,
                                                     break_on_hyphens=False)]

    out: list[Text | Table] = []
    for r in report.results:
        verdict = _verdict(r)
        fits = len(verdict.plain) + 1 + len(r.id) <= width
        out.append(Text.assemble(verdict, f" {r.id}") if fits else verdict)
        out += ([] if fits else wrap(r.id)) + wrap(r.target) + wrap(r.diagnosis)
    out.append(Text(report.summary(), style="green" if report.passed else "bold red"))
    return _print(out, color, width)


def _print(renderables: list[Text | Table], color: bool, width: int) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, highlight=False, emoji=False,
                      width=width, soft_wrap=True)
    for renderable in renderables:
        console.print(renderable)
    text = buffer.getvalue()
    return text if color else "".join(line.rstrip() + "\n" for line in text.splitlines())


# --- pieces -------------------------------------------------------------------------------------------


def _withheld(change: Change) -> bool:
    """A declared resource of an expired user the account does not hold: listed, never hidden."""
    return change.action is Action.NOOP and bool(change.expired) and change.desired is not None \
        and change.live is None


def _pending(plan: Plan) -> bool:
    return any(c.action is not Action.NOOP for c in plan.changes)


def _change_lines(change: Change, style: str = "") -> list[Line]:
    head = f"  {_SYMBOL[change.action]} {change.action.value} {change.key} ({change.reason})"
    if change.drift and change.action is Action.UPDATE:
        head = f"  ~ {change.key} ({change.reason})"
    return [(head, style or _STYLE[change.action]), *_detail_lines(change)]


def _detail_lines(change: Change) -> list[Line]:
    lines = [(f"      ~ {f.field}: {_value(f.before)} → {_value(f.after)}", "") for f in change.fields]
    if change.action is Action.CREATE and change.desired is not None:  # Terraform-like: what it will have
        lines += [(f"      + {name} = {_value(value)}", "") for name, value in change.desired.shown()]
    if change.action is Action.DELETE:
        lines += [(f"      {n}. {step}", "") for n, step in enumerate(change.cascade, 1)]
    elif change.action is Action.REFUSED and change.cascade:
        lines.append((f"      would: {'; '.join(change.cascade)}", "dim"))
    return lines


def _notes(plan: Plan) -> list[Line]:
    lines: list[Line] = []
    if plan.warnings:
        lines += [("", ""), ("Warnings", "bold yellow")] + [(f"  ! {w}", "yellow") for w in plan.warnings]
    if plan.unmanaged:
        lines += [("", ""), ("Unmanaged look-alikes (not touched; declare adopt: true to manage)", "bold")]
        lines += [(f"  ? {key}", "") for key in plan.unmanaged]
    return lines


def _value(value: Any) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, Zone):
        return f"{value.zone_id}/{value.vswitch_id}"
    if value is None:
        return "(not set)"
    return json.dumps(value, ensure_ascii=False)


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def _render(lines: list[Line], color: bool) -> str:
    if not color:
        return "\n".join(text for text, _ in lines) + "\n"
    buffer = io.StringIO()
    console = Console(
        file=buffer, force_terminal=True, color_system="standard", width=200, soft_wrap=True, highlight=False,
        emoji=False,
    )
    for text, style in lines:
        console.print(Text(text, style=style or ""))
    return buffer.getvalue()

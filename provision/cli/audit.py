"""`provision audit`: who can reach what in Model Studio, with risks and drift flagged."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from provision.audit.render import Format as AuditFormat
from provision.cli.common import (
    ManifestOpt,
    SecretsDirOpt,
    StateDirOpt,
    VarFileOpt,
    VarOpt,
    cloud_context,
    friendly,
    parse_vars,
    stderr,
    write_out,
)


def _print_audit_schema(value: bool) -> None:
    """``--schema``: print the JSON report's schema and stop (no manifest, no cloud call)."""
    if value:
        from provision.audit.document import json_schema as audit_json_schema

        typer.echo(audit_json_schema(), nl=False)
        raise typer.Exit()


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
    from provision.audit.render import render as render_audit
    from provision.cli.clouds import run_audit
    from provision.clock import now, parse_time
    from provision.engine.flow import prepare

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


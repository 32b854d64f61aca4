"""Print an AuditReport as HTML (one self-contained file), Markdown, JSON or CSV.

JSON is the machine form (stable keys, ``schema`` versioned); CSV has one row per finding; HTML and
Markdown are rendered from Jinja2 templates (HTML autoescaped). The report holds no secret value:
the access map never carries one.
"""

from __future__ import annotations

import csv
import io
from enum import StrEnum
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from provision.audit.document import SCHEMA, to_json
from provision.audit.findings import catalogue
from provision.audit.layout import (
    anchor,
    by_manifest,
    by_user,
    drift_anchor,
    finding_groups,
    manifest_label,
    owner_label,
    picture,
)
from provision.audit.model import AuditReport, Severity

__all__ = ["CSV_COLUMNS", "SCHEMA", "Format", "render", "to_csv"]
CSV_COLUMNS = ("check_id", "severity", "title", "manifest", "user", "resource", "evidence", "fix")
# A cell starting with one of these is a formula to a spreadsheet: names and descriptions come from
# the account, so they are quoted rather than trusted.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class Format(StrEnum):
    HTML = "html"
    MD = "md"
    JSON = "json"
    CSV = "csv"


def render(report: AuditReport, fmt: Format | str) -> str:
    """The report in one format."""
    fmt = Format(fmt)
    if fmt is Format.JSON:
        return to_json(report)
    if fmt is Format.CSV:
        return to_csv(report)
    return _environment().get_template(f"report.{fmt.value}.j2").render(**_context(report))


def to_csv(report: AuditReport) -> str:
    """One row per finding, columns ``CSV_COLUMNS``, with a header row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for f in report.findings:
        writer.writerow([_cell(str(getattr(f, c))) for c in CSV_COLUMNS])
    return out.getvalue()


def _cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("provision.audit", "templates"),
                      autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True)
    env.filters["md"] = _md_cell
    env.filters["anchor"] = anchor
    env.filters["drift_anchor"] = drift_anchor
    env.filters["manifest_label"] = manifest_label
    env.filters["owner_label"] = owner_label
    env.filters["yesno"] = lambda value: "yes" if value else "no"
    env.filters["join_or"] = lambda items, empty="—": ", ".join(str(i) for i in items) if items else empty
    return env


def _md_cell(value: Any) -> str:
    """Text safe inside a Markdown table cell: no pipe, no line break."""
    return str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _context(report: AuditReport) -> dict[str, Any]:
    summary = report.summary()
    return {
        "m": report.access_map,
        "findings": report.findings,
        "summary": summary,
        "severities": list(Severity),
        "checks": catalogue(report.access_map),
        "failed_checks": sorted({f.check_id for f in report.findings}),
        "key_rows": [(u, k) for u in report.access_map.users for k in u.access_keys],
        "top_risks": report.top_risks,
        "groups": finding_groups(report),
        "by_manifest": by_manifest(report),
        "by_user": by_user(report),
        "picture": picture(report.access_map),
        "filter_manifests": sorted({manifest_label(f.manifest) for f in report.findings}),
        "filter_users": sorted({f.user for f in report.findings if f.user}),
    }

"""The audit report's renderers: JSON keys, CSV rows, a self-contained escaped HTML page, Markdown tables."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from provision.audit.findings import CHECKS, audit_report
from provision.audit.model import (
    AccessKeyEntry,
    AccessMap,
    ApiKeyEntry,
    ConsoleAccess,
    DriftEntry,
    EndpointEntry,
    Level,
    Membership,
    PolicyRef,
    Privilege,
    UserEntry,
    WorkspaceEntry,
    ZoneEntry,
)
from provision.audit.render import CSV_COLUMNS, render

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HOSTILE = '<script>alert("x")</script> | =cmd'

MAP = AccessMap(
    as_of="2026-05-01T00:00:00Z", account_id="1000000000000001", caller="acs:ram::1000000000000001:root",
    manifest="manifests/example.yaml", site="public", region="cn-beijing",
    users=(
        UserEntry(name="alice", display_name=HOSTILE, managed=True, declared="present",
                  console=ConsoleAccess(mfa_bound=False, mfa_required=False, password_reset_required=False),
                  access_keys=(AccessKeyEntry("LTAI1", "Active", "2026-01-01T00:00:00Z", 120, None, None),),
                  policies=(PolicyRef("AliyunBailianDataReadOnlyAccess", "System"),),
                  privilege=Privilege(data=Level.READ_ONLY,
                                      sources=("System:AliyunBailianDataReadOnlyAccess",)),
                  memberships=(Membership("ws", "guest", "probe"),)),
        UserEntry(name="=mallory", policies=(PolicyRef("AliyunBailianFullAccess", "System", "group:ops"),),
                  privilege=Privilege(super_admin=True, control=Level.FULL, data=Level.FULL,
                                      sources=("System:AliyunBailianFullAccess",))),
    ),
    workspaces=(WorkspaceEntry(name="ws", workspace_id="ws-1", managed=True, declared=True, all_models=True,
                               granted_models=("qwen-max", "qwen-plus")),),
    api_keys=(ApiKeyEntry(workspace="ws", api_key_id="100001", key_name="main", description=HOSTILE,
                          issued_to="alice", created_by="1000000000000001", all_models=True),),
    endpoints=(EndpointEntry(name="dashscope-bj", endpoint_id="ep-1", region="cn-beijing", vpc_id="vpc-1",
                             service_name="com.aliyuncs.dashscope", status="Active",
                             connection_status="Connected",
                             zones=(ZoneEntry("cn-beijing-a", "vsw-a", "Connected"),)),),
    notes=("memberships come from probes",),
)
REPORT = audit_report(MAP)


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.refs: list[str] = []
        self.ids: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        found = dict(attrs)
        self.refs += [v for k, v in attrs if k in ("src", "href") and v]
        if found.get("id"):
            self.ids.append(str(found["id"]))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def page() -> tuple[str, Page]:
    text = render(REPORT, "html")
    parsed = Page()
    parsed.feed(text)
    return text, parsed


# --- JSON ------------------------------------------------------------------------------------------


def test_json_has_stable_top_level_and_finding_keys() -> None:
    document = json.loads(render(REPORT, "json"))
    assert list(document) == ["schema", "as_of", "account_id", "caller", "manifest", "manifest_name", "site",
                              "region", "summary", "top_risks", "checks", "findings", "access_map", "notes"]
    assert document["schema"] == "provision.audit/1"
    assert list(document["access_map"]) == ["users", "workspaces", "api_keys", "endpoints", "drift",
                                            "console_steps"]
    assert all(list(f) == ["check_id", "title", "severity", "resource", "evidence", "fix", "manifest", "user"]
               for f in document["findings"])
    assert [c["check_id"] for c in document["checks"]] == [c.check_id for c in CHECKS]


def test_json_carries_the_findings_summary_and_derived_fields() -> None:
    document = json.loads(render(REPORT, "json"))
    assert {(f["check_id"], f["resource"]) for f in document["findings"]} == {
        (f.check_id, f.resource) for f in REPORT.findings}
    assert document["summary"]["by_severity"] == REPORT.summary().by_severity
    assert document["summary"]["findings"] == len(REPORT.findings) > 0
    mallory = document["access_map"]["users"][1]
    assert mallory["privilege"]["label"] == "super admin" and mallory["resource"] == "ram.user/=mallory"
    assert mallory["policies"] == [{"name": "AliyunBailianFullAccess", "policy_type": "System",
                                    "via": "group:ops"}]
    assert document["access_map"]["api_keys"][0]["resource"] == "modelstudio.api_key/ws/main"


# --- CSV -------------------------------------------------------------------------------------------


def test_csv_has_a_header_and_one_row_per_finding() -> None:
    rows = list(csv.reader(io.StringIO(render(REPORT, "csv"))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [(r[0], r[1], r[5]) for r in rows[1:]] == [(f.check_id, f.severity.value, f.resource)
                                                      for f in REPORT.findings]
    assert {r[4] for r in rows[1:]} == {"alice", "'=mallory", ""}  # the user, quoted like any cell
    assert render(audit_report(AccessMap(as_of=MAP.as_of)), "csv") == ",".join(CSV_COLUMNS) + "\n"


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_quoted() -> None:
    drifted = AccessMap(as_of=MAP.as_of, drift=(DriftEntry("=HYPERLINK(\"http://x\")", "-1+1"),))
    row, = csv.DictReader(io.StringIO(render(audit_report(drifted), "csv")))
    assert row["resource"] == "'=HYPERLINK(\"http://x\")" and row["evidence"] == "'-1+1"
    assert row["check_id"] == "BAILIAN-009"


# --- HTML ------------------------------------------------------------------------------------------


def test_html_is_one_self_contained_file() -> None:
    text, parsed = page()
    assert parsed.refs and all(r.startswith("#") for r in parsed.refs)  # links inside the page only
    assert "link" not in parsed.tags
    assert "http://" not in text.replace("http://www.w3.org", "") and "https://" not in text
    assert "<style>" in text and parsed.scripts and "sortable" in "".join(parsed.scripts)


def test_html_puts_the_summary_first_then_findings_then_the_access_map_tables() -> None:
    text, parsed = page()
    order = ["summary", "top-risks", "findings", "access-map", "picture", "by-manifest", "by-user",
             "users", "access-keys", "workspaces", "api-keys", "endpoints", "drift", "checks",
             "console-steps", "notes"]
    assert [i for i in parsed.ids if i in order] == order
    # findings, by manifest, by user, users, keys, workspaces, API keys, endpoints, checks
    assert parsed.tags.count("table") == 9
    for finding in REPORT.findings:
        assert finding.check_id in text
    assert "The account matches the manifest." in text


def test_html_escapes_names_and_descriptions_from_the_account() -> None:
    text, parsed = page()
    assert "<script>alert" not in text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in text
    assert len(parsed.scripts) == 1  # only the report's own script (sorting, filters)


@pytest.mark.skipif(CHROMIUM is None, reason="headless chromium not installed")
def test_html_tables_sort_when_a_column_header_is_clicked(tmp_path: Path) -> None:
    click = ('<script>var t = document.getElementById("checks-table"); t.querySelectorAll("th")[2].click();'
             'document.title = Array.prototype.map.call(t.tBodies[0].rows, function (r) {'
             ' return r.cells[0].textContent; }).join(",");</script></body>')
    path = tmp_path / "report.html"
    path.write_text(render(REPORT, "html").replace("</body>", click))
    dom = subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                          path.as_uri()], capture_output=True, text=True, timeout=60).stdout
    title = re.search(r"<title>(.*)</title>", dom)
    assert title is not None
    ids = title.group(1).split(",")
    by_severity = [c.check_id for c in sorted(CHECKS, key=lambda c: c.severity.rank)]
    assert ids == by_severity != [c.check_id for c in CHECKS]


def test_html_says_so_when_there_is_nothing_to_report() -> None:
    text = render(audit_report(AccessMap(as_of=MAP.as_of)), "html")
    assert "No findings: every check passed." in text and "No workspaces." in text


# --- Markdown --------------------------------------------------------------------------------------


def test_markdown_lists_every_finding_and_escapes_pipes_in_cells() -> None:
    text = render(REPORT, "md")
    assert text.startswith("# Model Studio (Bailian) access audit")
    for finding in REPORT.findings:
        assert f"| **{finding.severity.value}** | {finding.check_id} " in text
    piped = AccessMap(as_of=MAP.as_of, workspaces=(WorkspaceEntry(name="team | a", workspace_id="ws-2"),))
    row = next(line for line in render(audit_report(piped), "md").splitlines() if line.startswith("| team"))
    assert row == "| team \\| a | `ws-2` | no | no | — |"

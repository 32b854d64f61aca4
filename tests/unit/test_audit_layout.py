"""The report's views: grouping by manifest and by user, the access picture, finding links, and
Markdown and CSV carrying the facts the JSON carries."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace

from provision.audit.findings import audit_report
from provision.audit.layout import NOT_MANAGED, anchor, by_manifest, by_user, finding_groups, picture, targets
from provision.audit.model import (
    ApiKeyEntry,
    ConsoleAccess,
    ConsoleStep,
    EndpointEntry,
    Level,
    Membership,
    Privilege,
    UserEntry,
    WorkspaceEntry,
)
from provision.audit.render import render
from tests.unit.test_audit_render import MAP

OURS = UserEntry(name="acme-lead", managed=True, owner="acme", declared="present",
                 console=ConsoleAccess(False, True, False),
                 memberships=(Membership("ws", "admin", "confirmation"),),
                 privilege=Privilege(data=Level.READ_ONLY,
                                     sources=("System:AliyunBailianDataReadOnlyAccess",)))
THEIRS = UserEntry(name="globex-lead", managed=True, owner="globex",
                   console=ConsoleAccess(False, True, False))
SHARED = replace(
    MAP, manifest_name="acme", users=(*MAP.users, OURS, THEIRS),
    workspaces=(*MAP.workspaces,
                WorkspaceEntry(name="other", workspace_id="ws-2", granted_models=("qwen-max",))),
    api_keys=(*MAP.api_keys, ApiKeyEntry(workspace="other", api_key_id="9", key_name="k", owner="globex",
                                         disabled=True, issued_to="globex-lead")),
    endpoints=(*MAP.endpoints,
               EndpointEntry(name="ep2", endpoint_id="ep-2", region="cn-shanghai", vpc_id="v")),
    console_steps=(ConsoleStep("Add RAM user acme-lead to workspace ws as admin", "console",
                               "provision ..."),))
REPORT = audit_report(SHARED)


def test_resources_are_grouped_under_the_manifest_that_manages_them_audited_first() -> None:
    groups = {g.label: g for g in by_manifest(REPORT)}
    assert [g.label for g in by_manifest(REPORT)] == ["acme", "globex", NOT_MANAGED]
    assert groups["acme"].users == ("alice", "acme-lead")  # alice's marker has no name: the audited one's
    assert groups["globex"].users == ("globex-lead",)
    assert groups["globex"].api_keys == ("modelstudio.api_key/other/k",)
    assert groups[NOT_MANAGED].users == ("=mallory",) and groups[NOT_MANAGED].workspaces == ("other",)
    mfa = {f.user: f.manifest for f in REPORT.findings if f.check_id == "BAILIAN-001"}
    assert mfa == {"alice": "acme", "acme-lead": "acme", "globex-lead": "globex"}


def test_by_user_lists_each_users_paths() -> None:
    reach = {r.user.name: r for r in by_user(REPORT)}
    assert reach["acme-lead"].workspaces == ("ws (admin, confirmation)",)
    assert reach["acme-lead"].models == ("qwen-max", "qwen-plus")
    assert reach["=mallory"].workspaces == ("ws (super admin)", "other (super admin)")
    assert reach["alice"].api_keys == ("modelstudio.api_key/ws/main",)


def test_the_picture_has_a_node_per_user_and_workspace_and_an_edge_per_path() -> None:
    drawn = picture(SHARED)
    kinds = [n.kind for n in drawn.nodes]
    assert kinds.count("user") == len(SHARED.users) and kinds.count("workspace") == len(SHARED.workspaces)
    paths = {(e.source.label, e.target.label, e.label) for e in drawn.edges}
    assert ("acme-lead", "ws", "admin · confirmation") in paths
    assert ("=mallory", "other", "super admin") in paths  # a super admin reaches every workspace
    assert ("ws", "every model", "") in paths and ("other", "qwen-max", "") in paths
    assert ("main", "dashscope-bj", "") in paths  # enabled key, endpoint in the account's region
    assert not any(e.source.label == "k" for e in drawn.edges)  # a disabled key reaches no endpoint
    assert not any(e.target.label == "ep2" for e in drawn.edges)  # another region
    assert all(n.y + 40 <= drawn.height and n.x + 210 <= drawn.width for n in drawn.nodes)


def test_every_finding_links_to_a_row_of_the_access_map() -> None:
    known = targets(SHARED)
    rows = [row for g in finding_groups(REPORT) for row in g.rows]
    assert len(rows) == len(REPORT.findings) and all(row.target in known for row in rows)
    key = next(row for row in rows if row.finding.check_id == "BAILIAN-003")
    assert key.target == anchor("ram.access_key/alice/LTAI1")
    html = render(REPORT, "html")
    assert all(f'id="{row.target}"' in html for row in rows)


def test_markdown_and_csv_carry_the_facts_of_the_json() -> None:
    document = json.loads(render(REPORT, "json"))
    markdown = render(REPORT, "md")
    rows = list(csv.DictReader(io.StringIO(render(REPORT, "csv"))))
    assert [{k: r[k].removeprefix("'") for k in r} for r in rows] == [
        {k: str(v) for k, v in f.items()} for f in document["findings"]]
    for f in document["findings"]:
        row = (f"| {f['check_id']} {f['title']} | `{f['resource']}` | {f['manifest'] or NOT_MANAGED} "
               f"| {f['user'] or '—'} |")
        assert row in markdown
    assert all(r["text"] in markdown for r in document["top_risks"])
    assert f"{document['summary']['drift']} drift from the manifest; 1 console steps pending" in markdown
    assert "* [ ] Add RAM user acme-lead to workspace ws as admin" in markdown
    assert "* acme-lead → ws (admin · confirmation)" in markdown
    assert "| globex | globex-lead |" in markdown

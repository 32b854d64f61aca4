"""What the HTML and Markdown reports show beyond the raw map: anchors, finding groups, the access map
grouped by manifest and by user, and the picture of who reaches what (laid out for inline SVG). Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from provision.audit.findings import CHECKS_BY_ID, owner_of
from provision.audit.model import AccessMap, AuditReport, Finding, UserEntry

NOT_MANAGED = "not managed"  # the manifest label of resources no manifest manages


def anchor(resource: str) -> str:
    """The HTML id of a resource's row in the access map (unique per resource key)."""
    return "r-" + re.sub(r"[^A-Za-z0-9-]", lambda m: f"_{ord(m.group()):x}", resource)


def drift_anchor(resource: str) -> str:
    return anchor("drift:" + resource)


def manifest_label(manifest: str) -> str:
    return manifest or NOT_MANAGED


@dataclass(frozen=True)
class FindingRow:
    finding: Finding
    target: str  # the access-map anchor the finding links to

    @property
    def manifest(self) -> str:
        return manifest_label(self.finding.manifest)

    @property
    def search_text(self) -> str:
        f = self.finding
        return " ".join((f.check_id, f.title, f.severity.value, f.resource, f.evidence, f.fix, self.manifest,
                         f.user)).lower()


@dataclass(frozen=True)
class FindingGroup:
    """The findings of one check: one row when alone, else a collapsed row with a count that expands."""

    check_id: str
    title: str
    rows: tuple[FindingRow, ...]

    @property
    def label(self) -> str:
        check = CHECKS_BY_ID.get(self.check_id)
        return check.count(len(self.rows)) if check else f"{len(self.rows)} findings"


def targets(m: AccessMap) -> set[str]:
    """Every anchor the access map tables carry."""
    found = {anchor(r) for r in (*(u.resource for u in m.users), *(w.resource for w in m.workspaces),
                                 *(k.resource for k in m.api_keys), *(e.resource for e in m.endpoints))}
    found |= {anchor(f"ram.access_key/{u.name}/{k.access_key_id}") for u in m.users for k in u.access_keys}
    return found | {drift_anchor(d.resource) for d in m.drift}


def finding_target(m: AccessMap, finding: Finding, known: set[str]) -> str:
    """The row a finding links to: its resource's, else its drift row, else its user's, else the map."""
    for candidate in (anchor(finding.resource), drift_anchor(finding.resource),
                      anchor(f"ram.user/{finding.user}") if finding.user else ""):
        if candidate in known:
            return candidate
    return "access-map"


def finding_groups(report: AuditReport) -> list[FindingGroup]:
    """Findings grouped by check, in report order (worst first)."""
    known = targets(report.access_map)
    groups: dict[str, list[FindingRow]] = {}
    for f in report.findings:
        groups.setdefault(f.check_id, []).append(FindingRow(f, finding_target(report.access_map, f, known)))
    return [FindingGroup(cid, rows[0].finding.title, tuple(rows)) for cid, rows in groups.items()]


# --- grouped views ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ManifestGroup:
    """What one manifest (one customer) manages, or what none does."""

    label: str
    users: tuple[str, ...]
    workspaces: tuple[str, ...]
    api_keys: tuple[str, ...]  # resource keys
    endpoints: tuple[str, ...]
    findings: int


class Owned(Protocol):
    @property
    def managed(self) -> bool: ...

    @property
    def owner(self) -> str: ...


def owner_label(entry: Owned, m: AccessMap) -> str:
    """The manifest that manages an access-map entry, or ``not managed``."""
    return manifest_label(owner_of(entry.managed, entry.owner, m))


def by_manifest(report: AuditReport) -> list[ManifestGroup]:
    """Resources grouped by the manifest that manages them: the audited one first, unmanaged last."""
    m = report.access_map
    entries: list[Owned] = [*m.users, *m.workspaces, *m.api_keys, *m.endpoints]
    audited = manifest_label(m.manifest_name)
    labels = {owner_label(e, m) for e in entries}
    order = sorted(labels, key=lambda name: (name != audited, name == NOT_MANAGED, name))
    return [ManifestGroup(
        label,
        tuple(u.name for u in m.users if owner_label(u, m) == label),
        tuple(w.name for w in m.workspaces if owner_label(w, m) == label),
        tuple(k.resource for k in m.api_keys if owner_label(k, m) == label),
        tuple(e.resource for e in m.endpoints if owner_label(e, m) == label),
        sum(1 for f in report.findings if manifest_label(f.manifest) == label)) for label in order]


@dataclass(frozen=True)
class Reach:
    """One user's paths into Model Studio."""

    user: UserEntry
    manifest: str
    workspaces: tuple[str, ...]  # "ws (role, source)", or every workspace for a super admin
    models: tuple[str, ...]
    api_keys: tuple[str, ...]  # resource keys of the API keys issued to the user
    findings: int


def by_user(report: AuditReport) -> list[Reach]:
    m = report.access_map
    rows = []
    for u in m.users:
        if u.privilege.super_admin:
            reached = [w.name for w in m.workspaces]
            via = tuple(f"{w} (super admin)" for w in reached)
        else:
            reached = [ms.workspace for ms in u.memberships]
            via = tuple(f"{ms.workspace} ({ms.role}, {ms.source})" for ms in u.memberships)
        models = sorted({model for w in m.workspaces if w.name in reached for model in w.granted_models})
        keys = tuple(k.resource for k in m.api_keys if k.issued_to == u.name)
        rows.append(Reach(u, owner_label(u, m), via, tuple(models), keys,
                          sum(1 for f in report.findings if f.user == u.name)))
    return rows


# --- the picture ---------------------------------------------------------------------------------------

NODE_W, NODE_H, GAP, TOP, COLUMN = 210, 40, 12, 34, 320  # the gap between columns fits an edge label
COLUMNS = ("RAM users", "Workspaces", "Models and API keys", "PrivateLink endpoints")


@dataclass(frozen=True)
class Node:
    node_id: str
    kind: str  # user | workspace | model | api_key | endpoint
    label: str
    sub: str
    x: int
    y: int
    href: str  # anchor in the access map ("" for models)
    tone: str = ""  # "bad" when the node carries a risk worth a glance

    @property
    def short(self) -> str:
        return self.label if len(self.label) <= 26 else self.label[:25] + "…"


@dataclass(frozen=True)
class Edge:
    source: Node
    target: Node
    label: str
    style: str  # member | super-admin | grant | key | endpoint

    @property
    def path(self) -> str:
        x1, y1 = self.source.x + NODE_W, self.source.y + NODE_H // 2
        x2, y2 = self.target.x, self.target.y + NODE_H // 2
        mid = (x1 + x2) // 2
        return f"M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}"

    @property
    def label_x(self) -> int:
        return (self.source.x + NODE_W + self.target.x) // 2

    @property
    def label_y(self) -> int:
        return (self.source.y + self.target.y) // 2 + NODE_H // 2 - 3


@dataclass(frozen=True)
class Picture:
    """Users → workspaces (role, how it is known) → models and API keys → endpoints."""

    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    width: int
    height: int

    node_width = NODE_W
    node_height = NODE_H

    @property
    def headings(self) -> list[tuple[int, str]]:
        return [(i * COLUMN, title) for i, title in enumerate(COLUMNS)]


def picture(m: AccessMap) -> Picture:
    """One node per user, workspace, model granted, API key and endpoint; an edge per path. Workspaces
    that grant every model point at one "every model" node. An enabled API key reaches every DashScope
    endpoint of the account's region (an endpoint serves any key); a disabled key reaches nothing."""
    columns: list[list[Node]] = [[], [], [], []]

    def add(column: int, node_id: str, kind: str, label: str, sub: str, href: str, tone: str = "") -> Node:
        node = Node(node_id, kind, label, sub, column * COLUMN, TOP + len(columns[column]) * (NODE_H + GAP),
                    href, tone)
        columns[column].append(node)
        return node

    users = {u.name: add(0, f"user:{u.name}", "user", u.name, u.privilege.label, anchor(u.resource),
                         "bad" if u.privilege.super_admin else "") for u in m.users}
    spaces = {w.name: add(1, f"ws:{w.name}", "workspace", w.name,
                          "all models" if w.all_models else f"{len(w.granted_models)} models",
                          anchor(w.resource), "bad" if w.all_models else "") for w in m.workspaces}
    edges: list[Edge] = []
    for u in m.users:
        if u.privilege.super_admin:
            edges += [Edge(users[u.name], node, "super admin", "super-admin") for node in spaces.values()]
            continue
        edges += [Edge(users[u.name], spaces[ms.workspace], f"{ms.role} · {ms.source}", "member")
                  for ms in u.memberships if ms.workspace in spaces]
    models: dict[str, Node] = {}
    for w in m.workspaces:
        names = ["*"] if w.all_models else list(w.granted_models)
        for name in names:
            if name not in models:
                label = "every model" if name == "*" else name
                models[name] = add(2, f"model:{name}", "model", label, "granted for inference", "",
                                   "bad" if name == "*" else "")
            edges.append(Edge(spaces[w.name], models[name], "", "grant"))
    keys = []
    for k in m.api_keys:
        sub = ("disabled" if k.disabled else "enabled") + (f", to {k.issued_to}" if k.issued_to else "")
        node = add(2, f"key:{k.resource}", "api_key", k.key_name or f"#{k.api_key_id}", sub,
                   anchor(k.resource), "bad" if not k.disabled and not k.ip_allow_list else "")
        keys.append((k, node))
        if k.workspace in spaces:
            edges.append(Edge(spaces[k.workspace], node, "API key", "key"))
    endpoints = [(e, add(3, f"ep:{e.resource}", "endpoint", e.name, f"{e.region}, {e.status}",
                         anchor(e.resource))) for e in m.endpoints]
    for k, node in keys:
        if not k.disabled:
            edges += [Edge(node, target, "", "endpoint") for e, target in endpoints if e.region == m.region]
    rows = max((len(c) for c in columns), default=0)
    return Picture(tuple(n for c in columns for n in c), tuple(edges), 3 * COLUMN + NODE_W + 2,
                   TOP + max(rows, 1) * (NODE_H + GAP))

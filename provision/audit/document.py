"""The JSON report as typed models: one home for its shape, from which both the document and its
published JSON Schema (``provision audit --schema``, docs/audit.schema.json) are made.

Entries whose JSON shape is their dataclass's are reused as they are; users and API keys add their
derived fields (``resource``, the privilege's ``label``, ``managed``).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from pydantic import BaseModel, ConfigDict

from provision.audit.findings import catalogue
from provision.audit.model import (
    AccessKeyEntry,
    AuditReport,
    ConsoleAccess,
    ConsoleStep,
    DriftEntry,
    EndpointEntry,
    Finding,
    Level,
    Membership,
    PolicyRef,
    Severity,
    Summary,
    UserEntry,
    WorkspaceEntry,
)

SCHEMA = "provision.audit/1"
SCHEMA_ID = "urn:provision:audit:1"


class _Doc(BaseModel):
    model_config = ConfigDict(frozen=True)


class CheckDoc(_Doc):
    check_id: str
    title: str
    severity: Severity


class RiskDoc(_Doc):
    check_id: str
    severity: Severity
    count: int
    text: str


class PrivilegeDoc(_Doc):
    super_admin: bool
    control: Level
    data: Level
    sources: list[str]
    label: str


class JustifiedDoc(_Doc):
    policy: str
    reason: str


class UserDoc(_Doc):
    name: str
    display_name: str
    email: str
    created: str
    managed: bool
    owner: str
    declared: str
    declared_policies: list[str]
    expires_at: str | None
    expired: bool
    console: ConsoleAccess | None
    access_keys: list[AccessKeyEntry]
    groups: list[str]
    policies: list[PolicyRef]
    privilege: PrivilegeDoc
    justified: list[JustifiedDoc]
    memberships: list[Membership]
    resource: str


class ApiKeyDoc(_Doc):
    workspace: str
    api_key_id: str
    workspace_id: str
    key_name: str
    description: str
    created_by: str
    created: str
    disabled: bool
    all_models: bool
    allowed_models: list[str]
    ip_allow_list: list[str]
    issued_to: str | None
    owner: str
    managed: bool
    resource: str


class AccessMapDoc(_Doc):
    users: list[UserDoc]
    workspaces: list[WorkspaceEntry]
    api_keys: list[ApiKeyDoc]
    endpoints: list[EndpointEntry]
    drift: list[DriftEntry]
    console_steps: list[ConsoleStep]


class AuditDocument(_Doc):
    """The whole JSON report. Keys are stable: new keys may be added, existing ones keep their meaning."""

    schema_: str
    as_of: str
    account_id: str
    caller: str
    manifest: str
    manifest_name: str
    site: str
    region: str
    summary: Summary
    top_risks: list[RiskDoc]
    checks: list[CheckDoc]
    findings: list[Finding]
    access_map: AccessMapDoc
    notes: list[str]

    model_config = ConfigDict(frozen=True, title="provision audit report")


def _user(user: UserEntry) -> UserDoc:
    fields = asdict(user)
    fields["privilege"] = {**fields["privilege"], "label": user.privilege.label}
    fields["justified"] = [{"policy": p, "reason": r} for p, r in user.justified]
    return UserDoc.model_validate({**fields, "resource": user.resource})


def document(report: AuditReport) -> AuditDocument:
    """The report as its JSON document."""
    m = report.access_map
    return AuditDocument(
        schema_=SCHEMA, as_of=m.as_of, account_id=m.account_id, caller=m.caller, manifest=m.manifest,
        manifest_name=m.manifest_name, site=m.site, region=m.region, summary=report.summary(),
        top_risks=[RiskDoc.model_validate(asdict(r)) for r in report.top_risks],
        checks=[CheckDoc(check_id=c.check_id, title=c.title, severity=c.severity) for c in catalogue(m)],
        findings=list(report.findings),
        access_map=AccessMapDoc(
            users=[_user(u) for u in m.users], workspaces=list(m.workspaces),
            api_keys=[ApiKeyDoc.model_validate({**asdict(k), "managed": k.managed, "resource": k.resource})
                      for k in m.api_keys],
            endpoints=list(m.endpoints), drift=list(m.drift), console_steps=list(m.console_steps)),
        notes=list(m.notes))


def to_json(report: AuditReport) -> str:
    """The JSON report, indented, keys in the documented order."""
    data = document(report).model_dump(mode="json", by_alias=True)
    return json.dumps(_renamed(data), indent=2, ensure_ascii=False) + "\n"


def _renamed(data: dict[str, Any]) -> dict[str, Any]:
    """``schema_`` (a name pydantic's BaseModel reserves) is written ``schema``."""
    return {("schema" if k == "schema_" else k): v for k, v in data.items()}


def json_schema() -> str:
    """The published JSON Schema of the report (draft 2020-12), as ``provision audit --schema`` prints it."""
    schema = AuditDocument.model_json_schema(mode="serialization")
    properties = _renamed(schema["properties"])
    properties["schema"] = {"const": SCHEMA, "title": "Schema", "type": "string"}
    required = ["schema" if r == "schema_" else r for r in schema.get("required", [])]
    full = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            **{k: v for k, v in schema.items() if k not in ("properties", "required")},
            "properties": properties, "required": required}
    return json.dumps(full, indent=2, ensure_ascii=False) + "\n"

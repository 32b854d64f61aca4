"""The access map (who can reach what) and the findings drawn from it. Pure data: no I/O, no SDK.

``collect`` fills an :class:`AccessMap` from the account, ``findings`` checks it, ``render`` prints it.
Tests build maps by hand. Dates are ISO-8601 UTC strings; ages are whole days as of ``AccessMap.as_of``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from provision.desired.kinds import Kind  # the natural keys (``ram.user/alice``) are the planner's


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """0 for critical … 4 for info (sort key: worst first)."""
        return list(Severity).index(self)


class Level(StrEnum):
    NONE = "none"
    READ_ONLY = "read-only"
    FULL = "full"


@dataclass(frozen=True)
class Privilege:
    """What a user's policies allow on Model Studio (Bailian), and which policies say so."""

    super_admin: bool = False  # AliyunBailianFullAccess or AdministratorAccess: every workspace
    control: Level = Level.NONE  # workspaces, grants, API keys (modelstudio / bailiancontrol)
    data: Level = Level.NONE  # applications, knowledge bases (sfm / bailiandata)
    sources: tuple[str, ...] = ()  # the policies that grant it, e.g. "System:AliyunBailianFullAccess"

    @property
    def label(self) -> str:
        """``super admin``, ``control full, data read-only``, or ``none``."""
        if self.super_admin:
            return "super admin"
        parts = [f"{name} {level}" for name, level in (("control", self.control), ("data", self.data))
                 if level is not Level.NONE]
        return ", ".join(parts) or "none"

    @property
    def any(self) -> bool:
        return self.super_admin or self.control is not Level.NONE or self.data is not Level.NONE


@dataclass(frozen=True)
class PolicyRef:
    """A policy a user holds, directly or through a group (``via`` = ``direct`` or ``group:<name>``)."""

    name: str
    policy_type: str  # System | Custom
    via: str = "direct"

    @property
    def ref(self) -> str:
        return f"{self.policy_type}:{self.name}"


@dataclass(frozen=True)
class AccessKeyEntry:
    access_key_id: str
    status: str  # Active | Inactive
    created: str
    age_days: int | None
    last_used: str | None  # None = never used
    last_used_days: int | None  # days since last use; None = never used

    @property
    def active(self) -> bool:
        return self.status == "Active"


@dataclass(frozen=True)
class ConsoleAccess:
    """A console login profile: MFA bound (a device is attached) and/or required at next login."""

    mfa_bound: bool
    mfa_required: bool
    password_reset_required: bool


@dataclass(frozen=True)
class Membership:
    """A workspace role, and how it is known: ``probe`` (the user's own key reached the workspace) or
    ``confirmation`` (an operator recorded the console step). No API lists members."""

    workspace: str
    role: str
    source: str


@dataclass(frozen=True)
class UserEntry:
    """One RAM user and every path it has into Model Studio."""

    name: str
    display_name: str = ""
    email: str = ""
    created: str = ""
    managed: bool = False  # carries the tool's marker
    owner: str = ""  # the manifest whose marker it carries ("" when not managed)
    declared: str = ""  # "present" / "absent" when the manifest names the user, else ""
    declared_policies: tuple[str, ...] = ()  # the policies the manifest attaches ("System:Name")
    expires_at: str | None = None  # from the manifest
    expired: bool = False  # expires_at has passed
    console: ConsoleAccess | None = None
    access_keys: tuple[AccessKeyEntry, ...] = ()
    groups: tuple[str, ...] = ()
    policies: tuple[PolicyRef, ...] = ()
    privilege: Privilege = Privilege()
    justified: tuple[tuple[str, str], ...] = ()  # (policy, reason) the manifest gives for a privileged policy
    memberships: tuple[Membership, ...] = ()

    @property
    def resource(self) -> str:
        return f"{Kind.USER}/{self.name}"

    @property
    def active_keys(self) -> tuple[AccessKeyEntry, ...]:
        return tuple(k for k in self.access_keys if k.active)


@dataclass(frozen=True)
class ApiKeyEntry:
    """A workspace API key. ``key_name`` is set for keys the tool manages (from their description marker)."""

    workspace: str
    api_key_id: str
    workspace_id: str = ""
    key_name: str = ""
    description: str = ""
    created_by: str = ""
    created: str = ""
    disabled: bool = False
    all_models: bool = True
    allowed_models: tuple[str, ...] = ()
    ip_allow_list: tuple[str, ...] = ()  # empty = reachable from any address
    issued_to: str | None = None  # the RAM user the manifest delivers it to
    owner: str = ""  # the manifest whose marker its description carries ("" when not managed)

    @property
    def managed(self) -> bool:
        return bool(self.key_name)

    @property
    def resource(self) -> str:
        return f"{Kind.API_KEY}/{self.workspace}/{self.key_name or '#' + self.api_key_id}"


@dataclass(frozen=True)
class WorkspaceEntry:
    name: str
    workspace_id: str = ""
    created: str = ""
    managed: bool = False  # created or adopted by the tool (state file)
    owner: str = ""  # the manifest whose state file records it ("" when not managed)
    declared: bool = False
    all_models: bool = False  # every model granted (one-click authorization)
    granted_models: tuple[str, ...] = ()

    @property
    def resource(self) -> str:
        return f"{Kind.WORKSPACE}/{self.name}"


@dataclass(frozen=True)
class ZoneEntry:
    zone_id: str
    vswitch_id: str
    status: str


@dataclass(frozen=True)
class EndpointEntry:
    """A PrivateLink interface endpoint to DashScope."""

    name: str
    endpoint_id: str
    region: str
    vpc_id: str
    service_name: str = ""
    status: str = ""
    connection_status: str = ""
    domain: str = ""
    managed: bool = False
    owner: str = ""  # the manifest its tags name ("" when not managed)
    zones: tuple[ZoneEntry, ...] = ()

    @property
    def resource(self) -> str:
        return f"{Kind.ENDPOINT}/{self.name}"


@dataclass(frozen=True)
class FieldDiff:
    field: str
    live: str
    declared: str


@dataclass(frozen=True)
class DriftEntry:
    """A difference between the manifest and the account, as ``plan.diff`` found it."""

    resource: str
    reason: str
    fields: tuple[FieldDiff, ...] = ()
    drift: bool = False  # the manifest matches what the tool last applied: changed outside the tool


@dataclass(frozen=True)
class ConsoleStep:
    """A membership step still to be done in the console (no API), as the plan's checklist words it."""

    what: str
    where: str
    confirm: str  # the ``provision membership confirm`` command that records it done


@dataclass(frozen=True)
class AccessMap:
    """Everything the audit read, as of one moment."""

    as_of: str
    account_id: str = ""
    caller: str = ""  # ARN of the identity that read the account
    cloud: str = "alibaba"  # whose checks apply: alibaba | huaweicloud
    manifest: str = ""  # the manifest file audited against
    manifest_name: str = ""  # its ``name:``, as ownership markers write it
    site: str = ""
    region: str = ""
    users: tuple[UserEntry, ...] = ()
    workspaces: tuple[WorkspaceEntry, ...] = ()
    api_keys: tuple[ApiKeyEntry, ...] = ()
    endpoints: tuple[EndpointEntry, ...] = ()
    drift: tuple[DriftEntry, ...] = ()
    console_steps: tuple[ConsoleStep, ...] = ()  # membership steps pending in the console
    notes: tuple[str, ...] = ()  # what the map cannot know, and how memberships were established

    def user(self, name: str) -> UserEntry | None:
        return next((u for u in self.users if u.name == name), None)


@dataclass(frozen=True)
class Finding:
    """One failed check on one resource, with the evidence and the fix."""

    check_id: str
    title: str
    severity: Severity
    resource: str
    evidence: str
    fix: str
    manifest: str = ""  # the manifest that manages the resource ("" when none does)
    user: str = ""  # the RAM user the finding is about (the key's holder for an API key), if any


@dataclass(frozen=True)
class Risk:
    """One line of the summary's top risks: the findings of one check, counted (``3 console users
    without MFA``)."""

    check_id: str
    severity: Severity
    count: int
    text: str


@dataclass(frozen=True)
class Summary:
    by_severity: dict[str, int]
    findings: int
    drift: int  # differences from the manifest (BAILIAN-009 findings)
    console_steps_pending: int  # membership steps the console still has to do
    users: int
    managed_users: int
    active_access_keys: int
    workspaces: int
    api_keys: int
    endpoints: int


@dataclass(frozen=True)
class AuditReport:
    """The access map and its findings (worst first): what every renderer prints."""

    access_map: AccessMap
    findings: tuple[Finding, ...] = field(default=())
    top_risks: tuple[Risk, ...] = field(default=())  # the few check groups that matter most

    def summary(self) -> Summary:
        """Counts by severity (every severity present, zeros included) and of what was read."""
        m = self.access_map
        counts = {s.value: sum(1 for f in self.findings if f.severity is s) for s in Severity}
        return Summary(by_severity=counts, findings=len(self.findings), drift=len(m.drift),
                       console_steps_pending=len(m.console_steps), users=len(m.users),
                       managed_users=sum(1 for u in m.users if u.managed),
                       active_access_keys=sum(len(u.active_keys) for u in m.users),
                       workspaces=len(m.workspaces), api_keys=len(m.api_keys), endpoints=len(m.endpoints))

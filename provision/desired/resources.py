"""The resource kinds the tool manages: one typed spec per kind, the same for desired and live.

A spec has a natural key (``ram.user/alice``), the fields the manifest declares (``None`` means
"not declared": never compared, never drift), and its parents (created before it, deleted after it).
Providers normalise SDK responses into these specs so the planner compares like with like.
This module imports no SDK and no output library.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from typing import Any, ClassVar, Protocol, runtime_checkable

MARKER = "managed-by=provision"  # in RAM user Comments, API key descriptions, tags' value


class Kind(StrEnum):
    USER = "ram.user"
    LOGIN_PROFILE = "ram.login_profile"
    ACCESS_KEYS = "ram.access_keys"
    POLICY = "ram.policy"
    ATTACHMENT = "ram.attachment"
    WORKSPACE = "modelstudio.workspace"
    GRANT = "modelstudio.grant"
    API_KEY = "modelstudio.api_key"
    MEMBER = "modelstudio.member"
    ENDPOINT = "privatelink.endpoint"
    # Huawei Cloud (specs in desired/huawei.py)
    IAM_USER = "iam.user"
    IAM_LOGIN_PROFILE = "iam.login_profile"
    IAM_ACCESS_KEYS = "iam.access_keys"
    IAM_POLICY = "iam.policy"
    IAM_ATTACHMENT = "iam.attachment"
    IAM_GROUP_MEMBER = "iam.group_member"
    MA_WORKSPACE = "modelarts.workspace"
    MA_GRANT = "modelarts.grant"
    STUDIO_ROLE = "modelarts.studio_role"
    MAAS_API_KEY = "maas.api_key"
    VPCEP_ENDPOINT = "vpcep.endpoint"
    SCP = "organizations.policy"


@dataclass(frozen=True)
class Spec:
    """Base of every resource spec. ``compared`` lists the fields the diff looks at."""

    kind: ClassVar[Kind]
    compared: ClassVar[tuple[str, ...]] = ()
    described: ClassVar[tuple[str, ...]] = ()  # also shown under a create (never compared)
    manual: ClassVar[bool] = False  # no API: plan/apply produce a checklist item instead

    @property
    def name(self) -> str:  # the key within the kind
        raise NotImplementedError

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.name}"

    def parents(self) -> tuple[str, ...]:
        """Keys of resources that must exist before this one."""
        return ()

    def holder(self) -> str | None:
        """The user this resource gives access to (its own user, the user a key is issued to), if any:
        the one whose expiry takes it away."""
        return None

    def expired_form(self) -> Spec | None:
        """What the manifest asks of this resource once its holder has expired: None (withheld, removed
        when present), or a stripped form (zero access keys)."""
        return None

    def declared(self) -> Iterator[tuple[str, Any]]:
        """(field, value) for each compared field the spec declares (value not None)."""
        return self._set(self.compared)

    def shown(self) -> Iterator[tuple[str, Any]]:
        """(field, value) a plan shows under a create: the declared compared fields, then the described."""
        return self._set((*self.compared, *self.described))

    def _set(self, names: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
        for f in names:
            value = getattr(self, f)
            if value is not None:
                yield f, value


@runtime_checkable
class Protectable(Protocol):
    """A top-level spec that may carry ``protect: true`` (its deletion is always refused)."""

    protect: bool


# --- RAM ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserSpec(Spec):
    """A RAM user. Ownership is marked in ``Comments`` (RAM users cannot be tagged)."""

    kind: ClassVar[Kind] = Kind.USER
    compared: ClassVar[tuple[str, ...]] = ("display_name", "email")
    described: ClassVar[tuple[str, ...]] = ("expires_at",)
    user: str
    display_name: str | None = None
    email: str | None = None
    protect: bool = False  # refuse deletion
    expires_at: str | None = None  # ISO-8601 UTC; past it, the account is revoked

    def holder(self) -> str | None:
        return self.user

    @property
    def name(self) -> str:
        return self.user


@dataclass(frozen=True)
class LoginProfileSpec(Spec):
    """Console login of a user. The initial password is generated and goes to the secrets sink."""

    kind: ClassVar[Kind] = Kind.LOGIN_PROFILE
    compared: ClassVar[tuple[str, ...]] = ("password_reset_required", "mfa_bind_required")
    user: str
    password_reset_required: bool | None = None
    mfa_bind_required: bool | None = None

    def holder(self) -> str | None:
        return self.user

    @property
    def name(self) -> str:
        return self.user

    def parents(self) -> tuple[str, ...]:
        return (f"{Kind.USER}/{self.user}",)


@dataclass(frozen=True)
class AccessKeysSpec(Spec):
    """How many active AccessKeys a user has (0-2). Secrets go to the sink on create.

    Live only: ``key_ids`` (active keys) and ``missing_secret`` (managed keys whose secret the
    sink does not hold: the plan offers rotation).
    """

    kind: ClassVar[Kind] = Kind.ACCESS_KEYS
    compared: ClassVar[tuple[str, ...]] = ("count",)
    user: str
    count: int | None = None
    key_ids: tuple[str, ...] = ()
    missing_secret: tuple[str, ...] = ()

    def expired_form(self) -> Spec | None:
        return replace(self, count=0, key_ids=(), missing_secret=())

    def holder(self) -> str | None:
        return self.user

    @property
    def name(self) -> str:
        return self.user

    def parents(self) -> tuple[str, ...]:
        return (f"{Kind.USER}/{self.user}",)


@dataclass(frozen=True)
class PolicySpec(Spec):
    """A custom RAM policy. ``document`` is canonical JSON (sorted keys, no spaces)."""

    kind: ClassVar[Kind] = Kind.POLICY
    compared: ClassVar[tuple[str, ...]] = ("document", "description")
    policy: str
    document: str | None = None
    description: str | None = None
    protect: bool = False  # refuse deletion

    @property
    def name(self) -> str:
        return self.policy


@dataclass(frozen=True)
class AttachmentSpec(Spec):
    """A policy attached to a user. ``policy_type`` is ``System`` or ``Custom``."""

    kind: ClassVar[Kind] = Kind.ATTACHMENT
    user: str
    policy: str
    policy_type: str = "System"

    def holder(self) -> str | None:
        return self.user

    @property
    def name(self) -> str:
        return f"{self.user}/{self.policy_type}:{self.policy}"

    def parents(self) -> tuple[str, ...]:
        parents = [f"{Kind.USER}/{self.user}"]
        if self.policy_type == "Custom":
            parents.append(f"{Kind.POLICY}/{self.policy}")
        return tuple(parents)


# --- Model Studio ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkspaceSpec(Spec):
    """A Model Studio sub-workspace, identified by its exact name (no rename API exists)."""

    kind: ClassVar[Kind] = Kind.WORKSPACE
    workspace: str
    workspace_id: str | None = None  # live only
    protect: bool = False  # refuse deletion

    @property
    def name(self) -> str:
        return self.workspace


ALL_MODELS = "*"


@dataclass(frozen=True)
class GrantSpec(Spec):
    """Inference on one model granted to a workspace; ``model == "*"`` is the one-click OPEN grant."""

    kind: ClassVar[Kind] = Kind.GRANT
    workspace: str
    model: str

    @property
    def name(self) -> str:
        return f"{self.workspace}/{self.model}"

    def parents(self) -> tuple[str, ...]:
        return (f"{Kind.WORKSPACE}/{self.workspace}",)


@dataclass(frozen=True)
class ApiKeySpec(Spec):
    """A workspace API key, found by its description marker (``providers.markers.KeyMarker``).

    ``allowed_models`` empty tuple = all models; ``ip_allow_list`` empty = unrestricted.
    ``issued_to`` names the RAM user the key is delivered to (its secret goes to that user's file); the
    marker records it, so the live value is the cloud's.
    """

    kind: ClassVar[Kind] = Kind.API_KEY
    compared: ClassVar[tuple[str, ...]] = ("allowed_models", "ip_allow_list", "disabled", "issued_to")
    workspace: str
    key_name: str
    allowed_models: tuple[str, ...] | None = None
    ip_allow_list: tuple[str, ...] | None = None
    disabled: bool | None = None
    issued_to: str | None = None
    api_key_id: str | None = None  # live only
    missing_secret: bool = False  # live only: managed key whose secret the sink lacks

    def holder(self) -> str | None:
        return self.issued_to

    @property
    def name(self) -> str:
        return f"{self.workspace}/{self.key_name}"

    def parents(self) -> tuple[str, ...]:
        return (f"{Kind.WORKSPACE}/{self.workspace}",)


@dataclass(frozen=True)
class MemberSpec(Spec):
    """Workspace membership (guest/admin). No public API: a console checklist item plus a probe."""

    kind: ClassVar[Kind] = Kind.MEMBER
    compared: ClassVar[tuple[str, ...]] = ("role",)
    manual: ClassVar[bool] = True
    workspace: str
    user: str
    role: str | None = None  # guest | admin

    def holder(self) -> str | None:
        return self.user

    @property
    def name(self) -> str:
        return f"{self.workspace}/{self.user}"

    def parents(self) -> tuple[str, ...]:
        return (f"{Kind.WORKSPACE}/{self.workspace}", f"{Kind.USER}/{self.user}")


# --- PrivateLink -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Zone:
    zone_id: str
    vswitch_id: str


@dataclass(frozen=True)
class EndpointSpec(Spec):
    """A PrivateLink interface endpoint to DashScope, identified by (region, VPC, endpoint name).

    Give ``service_name`` (public cloud) or ``service_id`` (finance cloud).
    """

    kind: ClassVar[Kind] = Kind.ENDPOINT
    compared: ClassVar[tuple[str, ...]] = ("zones", "security_group_ids")
    described: ClassVar[tuple[str, ...]] = ("region", "vpc_id", "service_name", "service_id")
    endpoint: str
    region: str
    vpc_id: str
    zones: tuple[Zone, ...] | None = None
    security_group_ids: tuple[str, ...] | None = None
    service_name: str | None = None
    service_id: str | None = None
    protect: bool = False  # refuse deletion
    endpoint_id: str | None = None  # live only
    domain: str | None = None  # live only
    status: str | None = None  # live only
    connection_status: str | None = None  # live only

    @property
    def name(self) -> str:
        return self.endpoint


SPEC_TYPES: dict[Kind, type[Spec]] = {
    cls.kind: cls
    for cls in (UserSpec, LoginProfileSpec, AccessKeysSpec, PolicySpec, AttachmentSpec, WorkspaceSpec,
                GrantSpec, ApiKeySpec, MemberSpec, EndpointSpec)
}

# Creation order of kinds (parents first); deletion runs it backwards.
KIND_ORDER: tuple[Kind, ...] = (
    Kind.POLICY, Kind.USER, Kind.LOGIN_PROFILE, Kind.ACCESS_KEYS, Kind.ATTACHMENT,
    Kind.WORKSPACE, Kind.GRANT, Kind.API_KEY, Kind.MEMBER, Kind.ENDPOINT,
    Kind.IAM_POLICY, Kind.IAM_USER, Kind.IAM_LOGIN_PROFILE, Kind.IAM_ACCESS_KEYS, Kind.IAM_ATTACHMENT,
    Kind.IAM_GROUP_MEMBER, Kind.MA_WORKSPACE, Kind.MA_GRANT, Kind.STUDIO_ROLE, Kind.MAAS_API_KEY,
    Kind.VPCEP_ENDPOINT, Kind.SCP,
)


class Proof(StrEnum):
    """How a live membership (which no API lists) is known."""

    PROBE = "probe"  # a probe call with the member's own AccessKey succeeded
    CONFIRMATION = "confirmation"  # an operator confirmed it (`membership confirm --role`)
    PENDING = "pending removal"  # its console removal was asked for and is not confirmed yet


@dataclass(frozen=True)
class MemberFacts:
    """What the membership provider knows of a live membership, and how."""

    proven_by: Proof = Proof.PROBE
    probe: str = ""  # what the probe said ("unknown: …" when it could not tell)
    role: str = ""  # where the role comes from (the probe cannot tell guest from admin)
    confirmed: str = ""  # the operator's confirmation: "guest by jane at T"
    pending: str = ""  # a pending removal: why, and since when


@dataclass(frozen=True)
class Live:
    """A resource as read from the cloud: its spec plus ownership and the cloud's id."""

    spec: Spec
    managed: bool  # carries the tool's marker (or was adopted)
    cloud_id: str = ""
    cascade: tuple[str, ...] = ()  # a deletable resource: the steps its delete takes, as its provider says
    member: MemberFacts | None = None  # a membership: how it is known
    duplicates: int = 0  # a workspace: how many share its exact name (more than 1: the others are ignored)

    @property
    def key(self) -> str:
        return self.spec.key


def spec_fields(spec: Spec) -> dict[str, Any]:
    """All dataclass fields of a spec (for JSON output)."""
    return {f.name: getattr(spec, f.name) for f in fields(spec)}


@dataclass(frozen=True)
class Desired:
    """What the manifest asks for: resources to be present, top-level ones declared absent, adoptions.

    ``absent`` holds top-level specs (user, policy, workspace, endpoint) declared ``state: absent``;
    deleting them needs ``--allow-destroy`` and is refused for ``protect``. An expired user stays in
    ``present`` stripped of every access (keys, login, policies, API keys): the diff revokes the rest.
    ``adopt`` holds keys of existing unmanaged resources the manifest takes under management.
    ``expired`` holds user names past ``expires_at`` (the plan gives them the reason "expired").
    ``manifest`` is the manifest's name: a resource whose marker names another manifest is not ours.
    ``withheld`` holds what the manifest declares for expired users (login, attachments, API keys issued
    to them, memberships): never created, removed when present, listed by the plan with the reason.
    """

    present: tuple[Spec, ...] = ()
    absent: tuple[Spec, ...] = ()
    adopt: frozenset[str] = frozenset()
    expired: frozenset[str] = frozenset()
    manifest: str = ""  # the manifest's name: written into ownership markers; others' resources are not ours
    withheld: tuple[Spec, ...] = ()

    def expiry(self, user: str) -> str:
        """When an expired user's access ended: ``alice expired at 2026-01-31T00:00:00Z``."""
        at = next((s.expires_at for s in self.present if isinstance(s, UserSpec) and s.user == user), None)
        return f"{user} expired at {at or '?'}"

    def revoked(self) -> dict[str, str]:
        """The users whose access the manifest takes away, and why: expired, or declared absent."""
        why = {user: self.expiry(user) for user in self.expired}
        why.update({s.user: f"{s.user} is declared absent" for s in self.absent if isinstance(s, UserSpec)})
        return why


@dataclass(frozen=True)
class SpecProblem:
    """What the account says is wrong with a desired spec (an unknown model, a vSwitch in another VPC).

    ``field`` and ``value`` name the offending spec field and value, so the manifest entry can be found.
    """

    key: str
    field: str
    value: str
    message: str


# The Huawei Cloud kinds register their specs in SPEC_TYPES (a saved plan names them by kind).
from provision.desired import huawei as _huawei  # noqa: E402,F401

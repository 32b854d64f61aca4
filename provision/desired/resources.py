"""The Alibaba Cloud resource specs (RAM, Model Studio, PrivateLink), the same for desired and live,
and ``ALIBABA_SPECS``, their classes (``spec_types.py`` maps every kind of both clouds to its class).

Providers normalise SDK responses into these specs so the planner compares like with like.
This module imports no SDK and no output library.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from provision.desired.kinds import Kind, Spec

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

    Live only: ``key_ids`` (active keys), ``missing_secret`` (managed keys whose secret the sink does
    not hold: the plan offers rotation) and ``dead_in_sink`` (keys the cloud no longer lists whose secret
    the sink still holds: apply makes the sink forget them).
    """

    kind: ClassVar[Kind] = Kind.ACCESS_KEYS
    compared: ClassVar[tuple[str, ...]] = ("count",)
    user: str
    count: int | None = None
    key_ids: tuple[str, ...] = ()
    missing_secret: tuple[str, ...] = ()
    dead_in_sink: tuple[str, ...] = ()

    def expired_form(self) -> Spec | None:
        return self.without_keys()

    def without_keys(self) -> AccessKeysSpec:
        """This user's keys asked to be none (its class kept: Huawei's subclass stays Huawei's)."""
        return replace(self, count=0, key_ids=(), missing_secret=(), dead_in_sink=())

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

    def cleared_by(self) -> str | None:
        """Closing the one-click grant (CLOSE) revokes every model of the workspace: a declared model is
        granted again after it."""
        return None if self.model == ALL_MODELS else f"{Kind.GRANT}/{self.workspace}/{ALL_MODELS}"


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


ALIBABA_SPECS: tuple[type[Spec], ...] = (
    UserSpec, LoginProfileSpec, AccessKeysSpec, PolicySpec, AttachmentSpec, WorkspaceSpec, GrantSpec,
    ApiKeySpec, MemberSpec, EndpointSpec)

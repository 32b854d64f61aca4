"""The resource kinds of Huawei Cloud (IAM v5, ModelArts, MaaS, VPCEP, Organizations).

The specs subclass the Alibaba ones where the meaning is the same (a user, its login profile and
access-key count, a custom policy and its attachments, a workspace, an API key), so the one planner
(``plan/diff.py``), its expiry and drift rules and the delete cascades treat both clouds alike; only the
kind, the parents and a few fields differ. Pure: no SDK, no I/O.

Ownership markers (docs/architecture.md): IAM v5 users carry the tags ``managed-by=provision`` and
``provision-manifest=<name>``; custom policies, workspaces and SCPs carry ``managed-by=provision`` in their
description; MaaS API keys ``provision:<ws>/<key> managed-by=provision`` in theirs; VPC endpoints are
tagged like users.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import ClassVar

from provision.clock import iso
from provision.desired.kinds import Kind, Spec
from provision.desired.resources import (
    AccessKeysSpec,
    ApiKeySpec,
    AttachmentSpec,
    LoginProfileSpec,
    MemberSpec,
    PolicySpec,
    UserSpec,
    WorkspaceSpec,
)
from provision.manifest.model import Manifest
from provision.manifest.schema_services import Guardrail, Workspace
from provision.manifest.schema_users import Policy, User

INTERNAL = "INTERNAL"  # the workspace visibility whose grants list who may use it


@dataclass(frozen=True)
class IamUserSpec(UserSpec):
    """An IAM v5 user; ``display_name`` is kept in the user's description, ownership in its tags."""

    kind: ClassVar[Kind] = Kind.IAM_USER
    compared: ClassVar[tuple[str, ...]] = ("display_name",)
    groups: tuple[str, ...] = ()  # live only: the user groups it is in, as read (never compared)


@dataclass(frozen=True)
class IamLoginProfileSpec(LoginProfileSpec):
    """Console login of an IAM v5 user (the password goes to the sink). IAM v5 keeps no MFA flag on the
    login profile: MFA is the user's own device, so only the reset flag is compared."""

    kind: ClassVar[Kind] = Kind.IAM_LOGIN_PROFILE
    compared: ClassVar[tuple[str, ...]] = ("password_reset_required",)

    def parents(self) -> tuple[str, ...]:
        return (f"{Kind.IAM_USER}/{self.user}",)


@dataclass(frozen=True)
class IamAccessKeysSpec(AccessKeysSpec):
    """How many active AK/SKs an IAM v5 user has (0-2)."""

    kind: ClassVar[Kind] = Kind.IAM_ACCESS_KEYS

    def parents(self) -> tuple[str, ...]:
        return (f"{Kind.IAM_USER}/{self.user}",)


@dataclass(frozen=True)
class IamPolicySpec(PolicySpec):
    """A custom IAM v5 identity policy (``document`` canonical JSON; a change is a new default version)."""

    kind: ClassVar[Kind] = Kind.IAM_POLICY


@dataclass(frozen=True)
class IamAttachmentSpec(AttachmentSpec):
    """An identity policy attached to an IAM v5 user; ``policy_type`` ``System`` or ``Custom``."""

    kind: ClassVar[Kind] = Kind.IAM_ATTACHMENT

    def parents(self) -> tuple[str, ...]:
        parents = [f"{Kind.IAM_USER}/{self.user}"]
        if self.policy_type == "Custom":
            parents.append(f"{Kind.IAM_POLICY}/{self.policy}")
        return tuple(parents)


@dataclass(frozen=True)
class IamGroupMemberSpec(Spec):
    """An IAM v5 user in an existing user group (the group itself is not managed)."""

    kind: ClassVar[Kind] = Kind.IAM_GROUP_MEMBER
    user: str
    group: str

    def holder(self) -> str | None:
        return self.user

    @property
    def name(self) -> str:
        return f"{self.user}/{self.group}"

    def parents(self) -> tuple[str, ...]:
        return (f"{Kind.IAM_USER}/{self.user}",)


@dataclass(frozen=True)
class ModelArtsWorkspaceSpec(WorkspaceSpec):
    """A ModelArts (Studio) workspace, by exact name; ``auth_type`` INTERNAL: only its grants may use it."""

    kind: ClassVar[Kind] = Kind.MA_WORKSPACE
    compared: ClassVar[tuple[str, ...]] = ("auth_type",)
    auth_type: str | None = None
    description: str | None = None  # live only: its description without the ownership marker (kept on adopt)


@dataclass(frozen=True)
class ModelArtsGrantSpec(Spec):
    """An IAM user granted an INTERNAL workspace (a manifest ``members`` entry): applied by API."""

    kind: ClassVar[Kind] = Kind.MA_GRANT
    workspace: str
    user: str
    user_id: str | None = None  # live only

    def holder(self) -> str | None:
        return self.user

    @property
    def name(self) -> str:
        return f"{self.workspace}/{self.user}"

    def parents(self) -> tuple[str, ...]:
        return (f"{Kind.MA_WORKSPACE}/{self.workspace}", f"{Kind.IAM_USER}/{self.user}")


@dataclass(frozen=True)
class StudioRoleSpec(MemberSpec):
    """A member's ModelArts Studio role (a manifest ``members`` entry's ``role``): no API, so a console step
    with the same checklist, ``membership confirm`` and probe as an Alibaba Cloud membership. The member's
    access to the workspace is its :class:`ModelArtsGrantSpec`, applied by API."""

    kind: ClassVar[Kind] = Kind.STUDIO_ROLE

    def parents(self) -> tuple[str, ...]:
        return (f"{Kind.MA_WORKSPACE}/{self.workspace}", f"{Kind.IAM_USER}/{self.user}")


@dataclass(frozen=True)
class MaasApiKeySpec(ApiKeySpec):
    """A MaaS API key (account-wide in the cloud; declared under its workspace). ``ip_allow_list`` holds the
    key's ``ip_whitelist``. Keys cannot be changed: a change replaces the key (a new secret)."""

    kind: ClassVar[Kind] = Kind.MAAS_API_KEY

    def parents(self) -> tuple[str, ...]:
        return (f"{Kind.MA_WORKSPACE}/{self.workspace}",)


@dataclass(frozen=True)
class VpcepEndpointSpec(Spec):
    """A VPC endpoint to a MaaS endpoint service, found by its ``provision-name`` tag. A change of subnet,
    service or DNS replaces it (VPCEP has no update of those)."""

    kind: ClassVar[Kind] = Kind.VPCEP_ENDPOINT
    compared: ClassVar[tuple[str, ...]] = ("vpc_id", "subnet_id", "service_id", "enable_dns")
    endpoint: str
    vpc_id: str
    subnet_id: str | None = None
    service_id: str | None = None
    enable_dns: bool | None = None
    protect: bool = False
    endpoint_id: str | None = None  # live only
    domain: str | None = None  # live only
    status: str | None = None  # live only

    @property
    def name(self) -> str:
        return self.endpoint


@dataclass(frozen=True)
class ScpSpec(Spec):
    """A service control policy attached to the account. ``document`` is canonical JSON in which
    ``${endpoint:NAME}`` stands for the id of endpoint NAME (the provider resolves it both ways)."""

    kind: ClassVar[Kind] = Kind.SCP
    compared: ClassVar[tuple[str, ...]] = ("document", "description", "attached")
    policy: str
    document: str | None = None
    description: str | None = None
    attached: bool | None = None  # attached to the delivery account
    endpoints: tuple[str, ...] = ()  # endpoint names the document refers to (created first)
    protect: bool = False

    @property
    def name(self) -> str:
        return self.policy

    def parents(self) -> tuple[str, ...]:
        return tuple(f"{Kind.VPCEP_ENDPOINT}/{name}" for name in self.endpoints)


HUAWEI_SPECS: tuple[type[Spec], ...] = (
    IamUserSpec, IamLoginProfileSpec, IamAccessKeysSpec, IamPolicySpec, IamAttachmentSpec, IamGroupMemberSpec,
    ModelArtsWorkspaceSpec, ModelArtsGrantSpec, StudioRoleSpec, MaasApiKeySpec, VpcepEndpointSpec, ScpSpec)


# --- Manifest → specs ------------------------------------------------------------------------------------


@dataclass
class Specs:
    """The specs one cloud's builder derives from a manifest (``desired/build.py`` makes them a Desired)."""

    present: list[Spec] = field(default_factory=list)
    absent: list[Spec] = field(default_factory=list)
    adopt: set[str] = field(default_factory=set)
    withheld: list[Spec] = field(default_factory=list)

    def add(self, top: Spec, state: str, children: list[Spec], adopted: bool,
            expired: frozenset[str] = frozenset()) -> None:
        """A top-level spec (present or absent) and, when present, its children; a child whose holder is
        ``expired`` takes its expired form (zero keys), else is withheld (see ``Spec.expired_form``)."""
        (self.present if state == "present" else self.absent).append(top)
        if state == "present":
            for child in children:
                stripped = child.expired_form() if child.holder() in expired else child
                if stripped is None:
                    self.withheld.append(child)
                else:
                    self.present.append(stripped)
        if adopted:
            self.adopt.add(top.key)


ENDPOINT_REF = re.compile(r"\$\{endpoint:([A-Za-z][A-Za-z0-9_-]{1,127})\}")


def huawei_specs(manifest: Manifest, expired: frozenset[str]) -> Specs:
    """IAM policies and users (login, keys, attachments, groups), workspaces (grants from ``members``, MaaS
    keys), VPC endpoints and guardrails. An expired user keeps only a zero key count: the diff strips the
    rest, and its grants and the keys issued to it are withheld."""
    specs = Specs()
    for policy in manifest.policies:
        specs.add(_policy(policy), policy.state, [], policy.adopt)
    for user in manifest.users:
        specs.add(_user(user), user.state, _access(user), user.adopt, expired)
    for ws in manifest.workspaces:
        specs.add(ModelArtsWorkspaceSpec(workspace=ws.name, protect=ws.protect, auth_type=INTERNAL), ws.state,
                  _workspace_children(ws), ws.adopt, expired)
    for e in manifest.endpoints:
        specs.add(VpcepEndpointSpec(endpoint=e.name, vpc_id=e.vpc_id, subnet_id=e.subnet_id,
                                    service_id=e.service_id, enable_dns=e.enable_dns, protect=e.protect),
                  e.state, [], e.adopt)
    for g in manifest.guardrails:
        specs.add(_guardrail(g), g.state, [], False)
    return specs


def _policy(policy: Policy) -> IamPolicySpec:
    document = policy.document.canonical_json() if policy.document else None
    return IamPolicySpec(policy=policy.name, document=document, description=policy.description,
                         protect=policy.protect)


def _user(user: User) -> IamUserSpec:
    return IamUserSpec(user=user.name, display_name=user.display_name, protect=user.protect,
                       expires_at=iso(user.expires_at) if user.expires_at else None)


def _access(user: User) -> list[Spec]:
    specs: list[Spec] = []
    login = user.console_login
    if login is not None and login.enabled:
        specs.append(IamLoginProfileSpec(user=user.name,
                                         password_reset_required=login.password_reset_required,
                                         mfa_bind_required=login.mfa_required))
    specs.append(IamAccessKeysSpec(user=user.name, count=user.access_keys))
    specs.extend(IamAttachmentSpec(user=user.name, policy=name, policy_type="System")
                 for name in user.policies.system)
    specs.extend(IamAttachmentSpec(user=user.name, policy=name, policy_type="Custom")
                 for name in user.policies.custom)
    specs.extend(IamGroupMemberSpec(user=user.name, group=group) for group in user.groups)
    return specs


def _workspace_children(ws: Workspace) -> list[Spec]:
    specs: list[Spec] = [ModelArtsGrantSpec(workspace=ws.name, user=m.user) for m in ws.members]
    specs.extend(StudioRoleSpec(workspace=ws.name, user=m.user, role=m.role) for m in ws.members)
    specs.extend(MaasApiKeySpec(workspace=ws.name, key_name=key.name, ip_allow_list=tuple(key.ip_whitelist),
                                issued_to=key.issued_to)
                 for key in ws.api_keys)
    return specs


def _guardrail(g: Guardrail) -> ScpSpec:
    document = g.document.canonical_json() if g.document else None
    endpoints = tuple(dict.fromkeys(ENDPOINT_REF.findall(document or "")))
    return ScpSpec(policy=g.name, document=document, description=g.description or None,
                   attached=True if g.state == "present" else None, endpoints=endpoints, protect=g.protect)


def scp_content(document: str, endpoint_ids: dict[str, str]) -> str:
    """The SCP content sent to the cloud: each ``${endpoint:NAME}`` replaced by that endpoint's id."""
    return ENDPOINT_REF.sub(lambda m: endpoint_ids.get(m.group(1), m.group(0)), document)


def scp_document(content: str, endpoint_ids: dict[str, str]) -> str:
    """The live content in the manifest's form: canonical JSON, known endpoint ids back as references."""
    try:
        text = json.dumps(json.loads(content), sort_keys=True, separators=(",", ":"))
    except ValueError:
        text = content
    for name, endpoint_id in endpoint_ids.items():
        text = text.replace(endpoint_id, f"${{endpoint:{name}}}")
    return text

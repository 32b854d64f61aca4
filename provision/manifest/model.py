"""The manifest as typed, validated models (pydantic v2, unknown fields rejected).

Field-level rules live here; rules that relate one part of the manifest to another (references,
duplicates, site-specific requirements) live in ``refs.py``. Every field carries a description so the
JSON Schema (``provision schema``) is useful in editors.
"""

from __future__ import annotations

import ipaddress
import json
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
)

from provision.manifest.marks import FieldPath, Origin, SourceMap

SUPER_ADMIN_POLICY = "AliyunBailianFullAccess"
# cloud.provider values; the default keeps every existing manifest an Alibaba Cloud one
CloudProvider = Literal["alibabacloud", "huaweicloud"]
ALIBABA: CloudProvider = "alibabacloud"
HUAWEI: CloudProvider = "huaweicloud"
PROVIDERS: tuple[CloudProvider, ...] = (ALIBABA, HUAWEI)
State = Literal["present", "absent"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _reject_super_admin_role(value: Any) -> Any:
    if isinstance(value, str) and value.replace("-", "_").lower() in ("super_admin", "superadmin"):
        raise ValueError(
            f"super admin is not a workspace role: it is the account-wide RAM policy {SUPER_ADMIN_POLICY} "
            "(admin of every workspace). Declare it on the user as `super_admin: {reason: ...}`")
    return value


def _version_as_string(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _at_most_two_keys(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and value > 2:
        raise ValueError(f"at most 2 access keys per RAM user (RAM limit), got {value}")
    return value


def _at_least_two_zones(value: Any) -> Any:
    if isinstance(value, list) and len(value) < 2:
        raise ValueError("a PrivateLink endpoint to DashScope needs vSwitches in at least 2 zones")
    return value


def _models_list_or_all(value: Any) -> Any:
    if isinstance(value, str) and value != "all":
        raise ValueError(f"models is a list of model ids or the word all, got {value!r}")
    return value


def _midnight(value: Any) -> Any:
    """A date means midnight UTC of that day."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time(), tzinfo=UTC)
    return value


def _utc(value: datetime) -> datetime:
    """A time without a zone is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _ip_or_cidr(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address or CIDR block") from None
    return value


UserName = Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,64}$",
                                description="RAM user name (1-64 of A-Z a-z 0-9 . _ -)")]
PolicyName = Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{1,128}$", description="RAM policy name")]
ModelId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$", description="model id: qwen-plus")]
IpOrCidr = Annotated[str, AfterValidator(_ip_or_cidr), Field(description="an IP address or CIDR block")]
Role = Annotated[Literal["guest", "admin"], BeforeValidator(_reject_super_admin_role)]
ExpiresAt = Annotated[datetime, BeforeValidator(_midnight), AfterValidator(_utc)]

_STATE: Any = Field("present", description="present: make it exist; absent: delete it (--allow-destroy)")
_PROTECT = Field(False, description="refuse to delete this resource, even with state: absent")
_ADOPT = Field(False, description="take an existing resource of the same name that provision did not create "
                                  "under management (writes the ownership marker)")


# --- cloud -------------------------------------------------------------------------------------------


class CloudEndpoints(_Model):
    """Hosts that replace the default endpoint of one product (e.g. a VPC or proxy endpoint)."""

    ram: str | None = Field(None, description="RAM API host (default ram.aliyuncs.com)")
    sts: str | None = Field(None, description="STS API host (default sts.<region>.aliyuncs.com)")
    modelstudio: str | None = Field(None, description="Model Studio API host (default per region)")
    bailian: str | None = Field(None, description="Bailian data API host (default per region)")
    privatelink: str | None = Field(None, description="PrivateLink API host (default per region)")
    vpc: str | None = Field(None, description="VPC API host (default per region)")
    dashscope: str | None = Field(None, description="DashScope base URL used by verify (default per site)")


class Cloud(_Model):
    """Where the account lives. Credentials never go here: they come from the credential chain."""

    provider: CloudProvider = Field(
        ALIBABA, description="the cloud: alibabacloud (Model Studio, default) or huaweicloud (ModelArts "
                             "Studio / Pangu)")
    site: Literal["public", "finance"] = Field("public", description="public or finance cloud")
    region: str = Field(pattern=r"^[a-z]{2}-[a-z0-9-]+$",
                        description="region of the AI platform and endpoints: cn-beijing, "
                                    "cn-shanghai-finance-1 (Alibaba), cn-southwest-2 (Huawei)")
    endpoints: CloudEndpoints = Field(default_factory=lambda: CloudEndpoints.model_validate({}),
                                      description="optional endpoint overrides")


# --- RAM ---------------------------------------------------------------------------------------------

Actions = str | list[str]


class Statement(_Model):
    """One statement of a RAM policy document (RAM's own key names)."""

    model_config = ConfigDict(populate_by_name=True)
    effect: Literal["Allow", "Deny"] = Field(alias="Effect", description="Allow or Deny")
    action: Actions | None = Field(None, alias="Action", description="actions, e.g. sfm:ListPublishedAgent")
    not_action: Actions | None = Field(None, alias="NotAction", description="every action except these")
    resource: Actions | None = Field(None, alias="Resource", description="resources (ARNs) or *")
    not_resource: Actions | None = Field(None, alias="NotResource", description="every resource except these")
    condition: dict[str, dict[str, Any]] | None = Field(None, alias="Condition", description="RAM conditions")

    @field_validator("action", "not_action")
    @classmethod
    def _action_names(cls, value: Actions | None) -> Actions | None:
        for action in [value] if isinstance(value, str) else value or []:
            if action != "*" and (action.count(":") not in (1, 2) or not all(action.split(":"))):
                raise ValueError(f"action {action!r} is not '<service>:<Action>' (Huawei: "
                                 "'<service>:<resource>:<action>') or '*'")
        return value

    def actions(self) -> list[str]:
        """The Action entries of the statement as a list."""
        return [self.action] if isinstance(self.action, str) else list(self.action or [])


class PolicyDocument(_Model):
    """A RAM policy document, written as YAML with RAM's key names."""

    model_config = ConfigDict(populate_by_name=True)
    version: Annotated[Literal["1", "5.0"], BeforeValidator(_version_as_string)] = Field(
        alias="Version", description='policy language version: "1" (Alibaba), "5.0" (Huawei IAM v5, SCP)')
    statement: list[Statement] = Field(alias="Statement", min_length=1, description="the statements")

    def canonical_json(self) -> str:
        """The document as canonical JSON (sorted keys, no spaces): the form compared with the live policy."""
        body = self.model_dump(by_alias=True, exclude_none=True, mode="json")
        return json.dumps(body, sort_keys=True, separators=(",", ":"))


class Policy(_Model):
    """A custom RAM policy the tool owns (tagged managed-by=provision)."""

    name: PolicyName
    description: str | None = Field(None, max_length=1024, description="policy description shown in RAM")
    document: PolicyDocument | None = Field(None, description="the policy document (required unless absent)")
    state: State = _STATE
    protect: bool = _PROTECT
    adopt: bool = _ADOPT


class ConsoleLogin(_Model):
    """Console sign-in for the user. The initial password is generated and goes to the secrets sink."""

    enabled: bool = Field(True, description="whether the user can sign in to the console")
    password_reset_required: bool = Field(True, description="force a new password at first sign-in")
    mfa_required: bool = Field(True, description="force binding an MFA device at sign-in")


class UserPolicies(_Model):
    """RAM policies attached to the user."""

    system: list[PolicyName] = Field(default_factory=list,
                                     description="system policies, e.g. AliyunBailianDataReadOnlyAccess")
    custom: list[PolicyName] = Field(default_factory=list,
                                     description="custom policies declared under policies")


class PrivilegedAllow(_Model):
    """An explicit, reviewed exception to the lint rule against a privileged policy."""

    policy: PolicyName = Field(description="the privileged policy allowed for this user")
    reason: str = Field(min_length=10, description="why this user needs it (kept in review history)")


class SuperAdmin(_Model):
    """Model Studio super admin: the account-wide RAM policy AliyunBailianFullAccess (every workspace)."""

    reason: str = Field(min_length=10, description="why this user must administer every workspace")


class User(_Model):
    """A RAM user (an agent-delivery account); its ownership marker lives in the user's Comments."""

    name: UserName
    display_name: str | None = Field(None, min_length=1, max_length=128, description="display name in RAM")
    email: str | None = Field(None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", description="contact email")
    console_login: ConsoleLogin | None = Field(None, description="console sign-in; omitted = none")
    access_keys: Annotated[int, BeforeValidator(_at_most_two_keys)] = Field(
        0, ge=0, le=2, description="number of active AccessKeys wanted (0-2); secrets go to the secrets sink")
    policies: UserPolicies = Field(default_factory=UserPolicies, description="attached RAM policies")
    groups: list[Annotated[str, Field(min_length=1, max_length=128)]] = Field(
        default_factory=list, description="Huawei IAM user groups the user joins (existing groups)")
    allow_privileged: list[PrivilegedAllow] = Field(
        default_factory=list, description="reviewed exceptions to the privileged-policy lint")
    super_admin: SuperAdmin | None = Field(
        None, description="make the user super admin: attaches AliyunBailianFullAccess, account-wide")
    expires_at: ExpiresAt | None = Field(
        None, description="ISO-8601 time after which the account is stripped of all access (UTC if no zone)")
    state: State = _STATE
    protect: bool = _PROTECT
    adopt: bool = _ADOPT


# --- Model Studio ------------------------------------------------------------------------------------


class ApiKey(_Model):
    """A workspace API key; the tool finds it by the marker it writes into the key's description."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
                      description="key name, unique in the workspace")
    description: str | None = Field(None, description="a note for readers (the cloud keeps the marker)")
    issued_to: UserName | None = Field(None, description="the user the key is delivered to (secrets file)")
    allowed_models: list[ModelId] = Field(default_factory=list,
                                          description="models the key may call; empty = all")
    ip_allow_list: list[IpOrCidr] = Field(
        default_factory=list, description="source IPs/CIDRs allowed; empty = any")
    ip_whitelist: list[IpOrCidr] = Field(
        default_factory=list, description="Huawei MaaS key: source IPv4 addresses/CIDRs allowed; empty = any")
    disabled: bool = Field(False, description="keep the key but disable it")


class Member(_Model):
    """A workspace member. No API exists: plan/apply give a console checklist item; a probe proves it."""

    user: UserName = Field(description="a user declared under users")
    role: Role = Field(description="guest or admin (super admin is the RAM policy, see users[].super_admin)")


class Workspace(_Model):
    """A Model Studio sub-workspace, matched by exact name."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[^\s/][^/]*$",
                      description="exact workspace name")
    models: Annotated[Literal["all"] | list[ModelId], BeforeValidator(_models_list_or_all)] = Field(
        default_factory=list, description="models granted for inference: a list, or all (one-click grant)")
    api_keys: list[ApiKey] = Field(default_factory=list, description="API keys of the workspace")
    members: list[Member] = Field(default_factory=list, description="members and their roles (console steps)")
    state: State = _STATE
    protect: bool = _PROTECT
    adopt: bool = _ADOPT


# --- PrivateLink -------------------------------------------------------------------------------------


class EndpointZone(_Model):
    """A zone of the endpoint and the vSwitch it uses there."""

    zone_id: str = Field(min_length=1, description="zone, e.g. cn-beijing-a")
    vswitch_id: str = Field(pattern=r"^vsw-[a-z0-9]+$", description="vSwitch in that zone and the VPC")


UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


class Endpoint(_Model):
    """A private endpoint, tagged managed-by=provision: an Alibaba PrivateLink interface endpoint to
    DashScope (zones, security groups), or a Huawei VPC endpoint to a MaaS endpoint service (subnet)."""

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{1,127}$",
                      description="endpoint name (2-128, starts with a letter)")
    region: str | None = Field(None, pattern=r"^[a-z]{2}-[a-z0-9-]+$",
                               description="region (default cloud.region)")
    vpc_id: str = Field(pattern=rf"^(vpc-[a-z0-9]+|{UUID})$",
                        description="the VPC the endpoint lives in: vpc-... (Alibaba), a UUID (Huawei)")
    zones: Annotated[list[EndpointZone], BeforeValidator(_at_least_two_zones)] = Field(
        default_factory=list, description="Alibaba: at least 2 zones, each with a vSwitch")
    security_group_ids: list[Annotated[str, Field(pattern=r"^sg-[a-z0-9]+$")]] = Field(
        default_factory=list, max_length=10, description="Alibaba: security groups (inbound TCP 80/443)")
    subnet_id: str | None = Field(None, pattern=rf"^{UUID}$",
                                  description="Huawei: the subnet of the endpoint")
    enable_dns: bool = Field(True, description="Huawei: create the private DNS name of the endpoint")
    service_name: str | None = Field(None, description="service name (public cloud): com.aliyuncs.dashscope")
    service_id: str | None = Field(None, pattern=rf"^(epsrv-[a-z0-9]+|{UUID})$",
                                   description="endpoint service id: epsrv-... (Alibaba finance cloud), the "
                                               "MaaS endpoint service's UUID (Huawei)")
    state: State = _STATE
    protect: bool = _PROTECT
    adopt: bool = _ADOPT


# --- guardrails (Huawei) ------------------------------------------------------------------------------


class Guardrail(_Model):
    """A service control policy (Huawei Organizations SCP) attached to the delivery account: it bounds what
    any caller of the account may do. ``${endpoint:NAME}`` in the document is the id of the declared
    endpoint NAME (e.g. with ``g:SourceVpce``: calls only through the delivery VPC endpoint)."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", description="SCP name (1-64)")
    description: str = Field("", max_length=512, description="SCP description")
    document: PolicyDocument | None = Field(None, description="the SCP document (Version 5.0)")
    state: State = _STATE
    protect: bool = _PROTECT


# --- verify ------------------------------------------------------------------------------------------


ParamValue = str | int | float | bool


class BizParams(_Model):
    """``biz_params`` of an agent-app call (dashscope-application-call): the values of the variables the
    app's prompt references, and business parameters of its plugin tools. The tools' user tokens
    (``user_defined_tokens``) carry secrets and are never written in a manifest."""

    user_prompt_params: dict[str, ParamValue] = Field(
        default_factory=dict, description="prompt variable → value (variables defined in the app's prompt)")
    user_defined_params: dict[str, dict[str, ParamValue]] = Field(
        default_factory=dict, description="plugin tool id → its business parameters")


class RagOptions(_Model):
    """``rag_options`` of an agent-app call: which knowledge bases (and documents of them) to search."""

    pipeline_ids: list[str] = Field(default_factory=list, description="knowledge base (index) ids")
    file_ids: list[str] = Field(default_factory=list,
                                description="document ids; their knowledge bases must be in pipeline_ids")
    tags: list[str] = Field(default_factory=list, description="document tags to narrow the search")
    metadata_filter: dict[str, str] = Field(default_factory=dict, description="document metadata to match")


class VerifyCheck(_Model):
    """A smoke check run by `provision verify` with a declared workspace API key."""

    workspace: str = Field(description="a workspace declared under workspaces")
    api_key: str = Field(description="the name of an API key of that workspace")
    model: ModelId = Field(description="a granted model the key must be able to call")
    denied_model: ModelId | None = Field(None, description="a model the key must be refused")
    app_id: str | None = Field(None, pattern=r"^[0-9a-f]{32}$",
                               description="an agent app of the workspace: its conversation is verified")
    biz_params: BizParams | None = Field(None, description="custom parameters the app call passes")
    rag_options: RagOptions | None = Field(None, description="knowledge-base retrieval the app call asks for")
    memory_id: str | None = Field(None, min_length=1, description="a long-term memory of the app to use")
    user: UserName | None = Field(None,
                                  description="Huawei: the declared user whose AK/SK signs the Pangu V1 "
                                                    "and agent-run calls")
    deployment_id: str | None = Field(None, pattern=rf"^{UUID}$",
                                      description="Huawei: a Pangu V1 deployment the user must call")
    agent_id: str | None = Field(None, pattern=rf"^{UUID}$",
                                 description="Huawei: an agent whose conversation is verified (agent-run)")
    via_endpoints: list[str] = Field(default_factory=list, description="endpoints to repeat the call through")


class Verify(_Model):
    """Checks run after apply."""

    checks: list[VerifyCheck] = Field(default_factory=list, description="smoke checks")


# --- the manifest ------------------------------------------------------------------------------------


class Manifest(_Model):
    """Access-as-code for AI model platforms (Alibaba Cloud Model Studio, Huawei Cloud ModelArts Studio):
    users, policies, workspaces, endpoints, guardrails, checks."""

    model_config = ConfigDict(title="provision manifest")
    version: Literal[1] = Field(description="manifest format version: 1")
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
                      description="manifest id, used in ownership markers and records")
    cloud: Cloud = Field(description="site and region")
    policies: list[Policy] = Field(default_factory=list, description="custom RAM policies")
    users: list[User] = Field(default_factory=list, description="RAM users")
    workspaces: list[Workspace] = Field(default_factory=list, description="Model Studio workspaces")
    endpoints: list[Endpoint] = Field(default_factory=list,
                                      description="private endpoints (PrivateLink, VPCEP)")
    guardrails: list[Guardrail] = Field(default_factory=list,
                                        description="Huawei: SCPs attached to the account")
    verify: Verify = Field(default_factory=Verify, description="smoke checks for provision verify")

    _source: SourceMap | None = PrivateAttr(default=None)

    def with_source(self, source: SourceMap) -> Manifest:
        """Attach where each field was written (set by the loader)."""
        self._source = source
        return self

    @property
    def source_file(self) -> str | None:
        """The manifest file it was loaded from (None when built in code)."""
        return self._source.file if self._source else None

    def locate(self, path: FieldPath) -> Origin | None:
        """File and line where ``path`` (or its nearest ancestor) was written, if loaded from a file."""
        return self._source.locate(path) if self._source else None

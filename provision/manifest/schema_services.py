"""The manifest's ``workspaces`` (API keys, members, models), ``endpoints`` (PrivateLink, VPCEP) and
``guardrails`` (Huawei SCPs) sections.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
)

from provision.manifest.schema_base import (
    ADOPT,
    PROTECT,
    STATE,
    UUID,
    IpOrCidr,
    ModelId,
    Role,
    State,
    StrictModel,
    UserName,
)
from provision.manifest.schema_users import PolicyDocument


def _at_least_two_zones(value: Any) -> Any:
    if isinstance(value, list) and len(value) < 2:
        raise ValueError("a PrivateLink endpoint to DashScope needs vSwitches in at least 2 zones")
    return value


def _models_list_or_all(value: Any) -> Any:
    if isinstance(value, str) and value != "all":
        raise ValueError(f"models is a list of model ids or the word all, got {value!r}")
    return value


# --- Model Studio ------------------------------------------------------------------------------------


class ApiKey(StrictModel):
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


class Member(StrictModel):
    """A workspace member. No API exists: plan/apply give a console checklist item; a probe proves it."""

    user: UserName = Field(description="a user declared under users")
    role: Role = Field(description="guest or admin (super admin is the RAM policy, see users[].super_admin)")


class Workspace(StrictModel):
    """A Model Studio sub-workspace, matched by exact name."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[^\s/][^/]*$",
                      description="exact workspace name")
    models: Annotated[Literal["all"] | list[ModelId], BeforeValidator(_models_list_or_all)] = Field(
        default_factory=list, description="models granted for inference: a list, or all (one-click grant)")
    api_keys: list[ApiKey] = Field(default_factory=list, description="API keys of the workspace")
    members: list[Member] = Field(default_factory=list, description="members and their roles (console steps)")
    state: State = STATE
    protect: bool = PROTECT
    adopt: bool = ADOPT


# --- PrivateLink -------------------------------------------------------------------------------------


class EndpointZone(StrictModel):
    """A zone of the endpoint and the vSwitch it uses there."""

    zone_id: str = Field(min_length=1, description="zone, e.g. cn-beijing-a")
    vswitch_id: str = Field(pattern=r"^vsw-[a-z0-9]+$", description="vSwitch in that zone and the VPC")


class Endpoint(StrictModel):
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
    state: State = STATE
    protect: bool = PROTECT
    adopt: bool = ADOPT


# --- guardrails (Huawei) ------------------------------------------------------------------------------


class Guardrail(StrictModel):
    """A service control policy (Huawei Organizations SCP) attached to the delivery account: it bounds what
    any caller of the account may do. ``${endpoint:NAME}`` in the document is the id of the declared
    endpoint NAME (e.g. with ``g:SourceVpce``: calls only through the delivery VPC endpoint)."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", description="SCP name (1-64)")
    description: str = Field("", max_length=512, description="SCP description")
    document: PolicyDocument | None = Field(None, description="the SCP document (Version 5.0)")
    state: State = STATE
    protect: bool = PROTECT

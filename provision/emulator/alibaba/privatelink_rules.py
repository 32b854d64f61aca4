"""PrivateLink state and rules: endpoints, their zones and security groups, with states computed lazily.

Nothing runs in the background. Every record keeps the clock time of its last change, and the public
states (``EndpointStatus``, ``ConnectionStatus``, ``ZoneStatus``, ``SecurityGroupStatus``) are derived
from that time, the clock and ``world.settings["async_delay_s"]`` each time they are read. Finished
deletions are purged by :func:`settle`. Rules raise :class:`CloudError` with the real error codes.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from provision.emulator.alibaba import vpc
from provision.emulator.paging import PREFIXED, Page, TokenPaging
from provision.emulator.wire import Body, Caller, CloudError, Ctx, Request
from provision.emulator.world import StateModel, World, register_state

T = TypeVar("T")

# The documented messages; every PrivateLink error is HTTP 400 (the API metadata lists them under 400).
_MESSAGES: dict[str, str] = {
    "DryRunOperation": "Request validation has been passed with DryRun flag set.",
    "EndpointNotFound": "The specified Endpoint does not exist.",
    "EndpointOperationDenied": "The specified operation of endpoint is not allowed.",
    "EndpointDependenceViolation": "The specified endpoint has dependent zone(s).",
    "EndpointServiceNotFound": "The specified Service does not exist.",
    "EndpointServiceNotSupportedZone": "The specified endpoint service does not support the zone.",
    "EndpointZoneDuplicated": "The zone is duplicated for the Endpoint.",
    "EndpointZoneNotFound": "The specified zone of Endpoint does not exist.",
    "EndpointMustContainSecurityGroup": "The specified endpoint must have at least one security group.",
    "OperationDenied.EndpointProtected": "The operation is not allowed because of EndpointProtected.",
    "SecurityGroupExist": "The specified security group already exists.",
    "SecurityGroupNotFound": "The specified security group does not exist.",
    "VSwitchNotFound": "The specified VSwitch does not exist.",
    "VpcNotFound": "The specified VPC does not exist.",
    "InvalidResourceId.NotFound": "The specified ResourceIds are not found in our records.",
    "NeedOpenProduct": "The product is not activated.",
    "OrderOpend": "You have already activated the service. Go to the console to start using it.",
}


def pl_error(code: str, detail: str = "") -> CloudError:
    """A PrivateLink error (HTTP 400) with the documented message, plus what exactly was wrong."""
    message = _MESSAGES.get(code, "")
    return CloudError(code, f"{message} {detail}".strip() if message else detail, 400)


# -- state ----------------------------------------------------------------------------------------------
class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServiceRecord(_Record):
    """An endpoint service offered to this account (Alibaba's DashScope service in the seed)."""

    service_id: str
    service_name: str
    zones: list[str]
    service_type: str = "Interface"
    service_resource_type: str = "slb"
    auto_accept_enabled: bool = True
    payer: str = "Endpoint"
    min_zones: int = 2  # the DashScope guide asks for vSwitches in ≥2 zones; the emulator enforces it


class ZoneRecord(_Record):
    zone_id: str
    vswitch_id: str
    eni_id: str
    eni_ip: str
    added_at: float
    removing_since: float | None = None


class SecurityGroupLink(_Record):
    security_group_id: str
    attached_at: float
    detaching_since: float | None = None


class EndpointRecord(_Record):
    endpoint_id: str
    endpoint_name: str = ""
    endpoint_description: str = ""
    endpoint_type: str = "Interface"
    region_id: str
    vpc_id: str
    service_id: str
    service_name: str
    auto_accept: bool = True
    zones: list[ZoneRecord] = Field(default_factory=list)
    security_groups: list[SecurityGroupLink] = Field(default_factory=list)
    tags: dict[str, str] = Field(default_factory=dict)
    zone_private_ip_address_count: int = 1
    resource_group_id: str = ""
    protected: bool = False
    creator: str = ""  # who created it: a RAM user name, or "" for the root key
    create_time: str
    created_at: float
    busy_until: float = 0.0  # Pending (zones or security groups changing) until then
    deleting_since: float | None = None


class RegionState(_Record):
    services: list[ServiceRecord] = Field(default_factory=list)
    endpoints: list[EndpointRecord] = Field(default_factory=list)  # creation order
    client_tokens: dict[str, str] = Field(default_factory=dict)  # "Action:token" → endpoint id


@register_state
class PrivateLinkState(StateModel):
    """One account's PrivateLink: activation, and per region its services and endpoints."""

    service: ClassVar[str] = "privatelink"
    product_open: bool = True
    regions: dict[str, RegionState] = Field(default_factory=dict)

    def region(self, region_id: str) -> RegionState:
        return self.regions.setdefault(region_id, RegionState())


# -- lazy states ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Timing:
    """The clock reading and the async delay that every derived state is computed from."""

    now: float
    delay: float

    @classmethod
    def of(cls, world: World) -> Timing:
        return cls(now=world.clock.timestamp(), delay=float(world.settings.get("async_delay_s", 0.3)))

    def done(self, since: float) -> bool:
        return self.now >= since + self.delay

    def half_done(self, since: float) -> bool:
        return self.now >= since + self.delay / 2


def endpoint_status(ep: EndpointRecord, t: Timing) -> str:
    """Creating → Active; Pending while zones or security groups change; Deleting before it is gone."""
    if ep.deleting_since is not None:
        return "Deleting"
    if not t.done(ep.created_at):
        return "Creating"
    return "Pending" if t.now < ep.busy_until else "Active"


def connection_status(ep: EndpointRecord, t: Timing) -> str:
    """Pending → Connecting → Connected (auto-accepting services); Deleting while the endpoint is."""
    if ep.deleting_since is not None:
        return "Deleting"
    if not t.half_done(ep.created_at) or not ep.auto_accept:
        return "Pending"
    return "Connected" if t.done(ep.created_at) else "Connecting"


def zone_status(ep: EndpointRecord, zone: ZoneRecord, t: Timing) -> str:
    """Creating → Wait → Connected; Deleting while removed (or while the endpoint is deleted)."""
    if zone.removing_since is not None or ep.deleting_since is not None:
        return "Deleting"
    if not t.half_done(zone.added_at):
        return "Creating"
    return "Connected" if t.done(zone.added_at) and ep.auto_accept else "Wait"


def security_group_status(link: SecurityGroupLink, t: Timing) -> str:
    """Attaching → Attached; Detaching before it disappears."""
    if link.detaching_since is not None:
        return "Detaching"
    return "Attached" if t.done(link.attached_at) else "Attaching"


def settle(region: RegionState, t: Timing) -> None:
    """Drop what finished disappearing: deleted endpoints, removed zones, detached security groups."""
    region.endpoints = [ep for ep in region.endpoints
                        if ep.deleting_since is None or not t.done(ep.deleting_since)]
    for ep in region.endpoints:
        ep.zones = [z for z in ep.zones if z.removing_since is None or not t.done(z.removing_since)]
        ep.security_groups = [g for g in ep.security_groups
                              if g.detaching_since is None or not t.done(g.detaching_since)]


# -- domains --------------------------------------------------------------------------------------------
def endpoint_domain(ep: EndpointRecord) -> str:
    return f"{ep.endpoint_id}.{ep.service_id}.{ep.region_id}.privatelink.aliyuncs.com"


def zone_domain(ep: EndpointRecord, zone: ZoneRecord) -> str:
    return f"{ep.endpoint_id}-{ep.region_id}.{ep.service_id}.{zone.zone_id}.privatelink.aliyuncs.com"


def service_domain(service: ServiceRecord, region_id: str) -> str:
    return f"{service.service_id}.{region_id}.privatelink.aliyuncs.com"


# -- rules ----------------------------------------------------------------------------------------------
_NAME = re.compile(r"^[A-Za-z\u4e00-\u9fff][A-Za-z0-9\u4e00-\u9fff_-]{1,127}$")
_TAG_RESERVED = ("aliyun", "acs:", "http://", "https://")


def check_name(name: str | None) -> None:
    """EndpointName: 2-128 characters, starts with a letter; letters, digits, ``-`` and ``_``."""
    if name is not None and not _NAME.match(name):
        raise CloudError("IllegalParamFormat.EndpointName", "The EndpointName must be 2 to 128 characters "
                         "long, start with a letter and contain only letters, digits, '-' and '_'.", 400)


def check_description(text: str | None) -> None:
    """EndpointDescription: 2-256 characters, not starting with ``http://`` or ``https://``."""
    if text is not None and (not 2 <= len(text) <= 256 or text.startswith(("http://", "https://"))):
        raise CloudError("IllegalParamFormat.EndpointDescription", "The EndpointDescription must be 2 to "
                         "256 characters long and must not start with http:// or https://.", 400)


def check_tags(pairs: list[dict[str, str]]) -> dict[str, str]:
    """``Tag.N.Key/Value`` → ordered dict; at most 20, keys unique, non-empty, not reserved."""
    tags: dict[str, str] = {}
    for pair in pairs:
        key, value = pair.get("Key", ""), pair.get("Value", "")
        if not key or len(key) > 64 or key.startswith(_TAG_RESERVED):
            raise CloudError("IllegalTagKeyParam", f"The tag key {key!r} is illegal.", 400)
        if len(value) > 128 or value.startswith(_TAG_RESERVED):
            raise CloudError("IllegalTagValueParam", "The tag value is Illegal.", 400)
        if key in tags:
            raise CloudError("DuplicatedTagKey", "The tag keys is duplicated.", 400)
        tags[key] = value
    if len(tags) > 20:
        raise CloudError("QuotaExceeded.TagNum", "At most 20 tags per resource.", 400)
    return tags


def resolve_service(region: RegionState, service_name: str | None, service_id: str | None) -> ServiceRecord:
    """The service named by exactly one of ServiceName / ServiceId."""
    if bool(service_name) == bool(service_id):
        raise CloudError("IllegalParam.ServiceId", "Specify exactly one of ServiceName and ServiceId.", 400)
    found = next((s for s in region.services
                  if (service_id and s.service_id == service_id)
                  or (service_name and s.service_name == service_name)), None)
    if found is None:
        raise pl_error("EndpointServiceNotFound", f"({service_id or service_name})")
    return found


@dataclass(frozen=True)
class Placement:
    """Where the endpoint's ENIs go, as asked for: zone → vSwitch."""

    zone_id: str
    vswitch_id: str


def check_zone(world: World, account_id: str, region_id: str, vpc_id: str, service: ServiceRecord,
               place: Placement) -> vpc.VSwitchRecord:
    """The zone must be one the service supports; its vSwitch must exist in the VPC, in that zone."""
    if place.zone_id not in service.zones:
        supported = ", ".join(service.zones)
        raise pl_error("EndpointServiceNotSupportedZone",
                       f"Service {service.service_id} supports {supported}, not {place.zone_id}.")
    vsw = vpc.vswitch_info(world, account_id, region_id, place.vswitch_id)
    if vsw is None or vsw.vpc_id != vpc_id:
        where = f"belongs to {vsw.vpc_id}" if vsw else "does not exist"
        raise pl_error("VSwitchNotFound", f"vSwitch {place.vswitch_id!r} {where}, not in {vpc_id}.")
    if vsw.zone_id != place.zone_id:
        raise CloudError("IllegalParam.VSwitchId", f"vSwitch {vsw.vswitch_id} is in zone {vsw.zone_id}, "
                         f"not in {place.zone_id}.", 400)
    return vsw


def check_security_group(world: World, account_id: str, region_id: str, vpc_id: str, sg_id: str) -> None:
    """The security group must exist in the endpoint's VPC."""
    group = vpc.security_group_info(world, account_id, region_id, sg_id)
    if group is None or group.vpc_id != vpc_id:
        raise pl_error("SecurityGroupNotFound", f"({sg_id} in {vpc_id})")


def check_placements(world: World, account_id: str, region_id: str, vpc_id: str, service: ServiceRecord,
                     places: list[Placement], sg_ids: list[str]) -> list[vpc.VSwitchRecord]:
    """CreateVpcEndpoint's network checks (VPC, zones ≥ the service's minimum, SGs) → each zone's vSwitch."""
    if vpc.vpc_info(world, account_id, region_id, vpc_id) is None:
        raise pl_error("VpcNotFound", f"({vpc_id} in {region_id})")
    zone_ids = [p.zone_id for p in places]
    if len(set(zone_ids)) != len(zone_ids):
        raise pl_error("EndpointZoneDuplicated")
    if len(zone_ids) > 10 or len(sg_ids) > 10:
        raise CloudError("QuotaExceeded.epZonePerEndpoint", "At most 10 zones and 10 security groups.", 400)
    if len(zone_ids) < service.min_zones:
        raise CloudError("IllegalParam.ZoneCount", f"Service {service.service_name} needs vSwitches in at "
                         f"least {service.min_zones} zones; {len(zone_ids)} given.", 400)
    vswitches = [check_zone(world, account_id, region_id, vpc_id, service, place) for place in places]
    if not sg_ids:
        raise pl_error("EndpointMustContainSecurityGroup")
    for sg_id in sg_ids:
        check_security_group(world, account_id, region_id, vpc_id, sg_id)
    return vswitches


def find_endpoint(region: RegionState, endpoint_id: str) -> EndpointRecord:
    """The endpoint (deleting ones included) or EndpointNotFound."""
    found = next((ep for ep in region.endpoints if ep.endpoint_id == endpoint_id), None)
    if found is None:
        raise pl_error("EndpointNotFound", f"({endpoint_id})")
    return found


def check_changeable(ep: EndpointRecord, t: Timing, principal: str) -> None:
    """Changes need an Active endpoint (else retry later) and, if protected, its creator."""
    if ep.protected and principal != ep.creator:
        raise pl_error("OperationDenied.EndpointProtected", f"({ep.endpoint_id})")
    status = endpoint_status(ep, t)
    if status != "Active":
        raise pl_error("EndpointOperationDenied", f"Endpoint {ep.endpoint_id} is {status}; retry later.")


def eni_ip(world: World, vsw: vpc.VSwitchRecord) -> str:
    """The next private address in the vSwitch (deterministic per world)."""
    n = world.ids.number(f"eni-ip/{vsw.vswitch_id}") - 100000
    return str(ipaddress.ip_network(vsw.cidr_block)[n + 9])


# -- NextToken paging (every PrivateLink list) ----------------------------------------------------------
def _paging(limit: int) -> TokenPaging:
    return TokenPaging(50, limit, PREFIXED, ("IllegalParam.MaxResults",
                                             f"MaxResults must be between 1 and {limit}."),
                       ("IllegalParam.NextToken", "The NextToken is invalid."))


PAGING = _paging(1000)  # MaxResults 1-1000, default 50; the NextToken is an opaque "nt-<offset>"
SG_PAGING = _paging(50)  # ListVpcEndpointSecurityGroups


def page_of(req: Request, items: Sequence[T], paging: TokenPaging = PAGING) -> Page[T]:
    """The page the request's ``MaxResults`` (0 = the default) and ``NextToken`` ask for."""
    return paging.page(items, req.get_int("MaxResults") or None, req.get("NextToken"))


def principal_of(caller: Caller | None) -> str:
    """The identity ProtectedEnabled compares: the RAM user name, or "" for the root key."""
    return (caller.user_name or "") if caller is not None else ""


def new_zone(world: World, vsw: vpc.VSwitchRecord, t: Timing) -> ZoneRecord:
    """A zone being created now: an ENI with the next address of its (validated) vSwitch."""
    return ZoneRecord(zone_id=vsw.zone_id, vswitch_id=vsw.vswitch_id, eni_id=world.ids.next("eni"),
                      eni_ip=eni_ip(world, vsw), added_at=t.now)


def tags_match(ep: EndpointRecord, tag_filter: list[dict[str, str]]) -> bool:
    """Every Tag.N pair is on the endpoint (a pair without Value matches any value of its key)."""
    return all(f.get("Key") in ep.tags and ("Value" not in f or ep.tags[f["Key"]] == f["Value"])
               for f in tag_filter)


# -- request helpers (shared by the PrivateLink handlers) -----------------------------------------------
def scope(ctx: Ctx, req: Request) -> tuple[RegionState, str, Timing]:
    """The caller's region state (RegionId is required), settled at the current clock."""
    region_id = req.require("RegionId")
    region = ctx.world.state(ctx.account_id, PrivateLinkState).region(region_id)
    t = Timing.of(ctx.world)
    settle(region, t)
    return region, region_id, t


def replayed(region: RegionState, action: str, req: Request) -> str | None:
    """The endpoint id a previous call with the same ClientToken produced, if any."""
    token = req.get("ClientToken")
    return region.client_tokens.get(f"{action}:{token}") if token else None


def remember(region: RegionState, action: str, req: Request, endpoint_id: str) -> None:
    token = req.get("ClientToken")
    if token:
        region.client_tokens[f"{action}:{token}"] = endpoint_id


def dry_run(req: Request) -> None:
    """After validation: a DryRun call stops here with DryRunOperation (400), which means 'would pass'."""
    if req.get_bool("DryRun", False):
        raise pl_error("DryRunOperation")


def ok(body: Body | None = None) -> Body:
    """A success body (the server adds ``RequestId``)."""
    return dict(body or {})

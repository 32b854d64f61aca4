"""PrivateLink 2020-04-15 (RPC): interface endpoints to endpoint services, per account and region.

Handlers parse the wire parameters, call the rules in ``privatelink_rules.py`` and shape the JSON the
SDK's typed responses read; an endpoint's zones, security groups and tags are in ``privatelink_members.py``.
``endpoint_by_domain`` lets the data plane see an endpoint's live states.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from provision.emulator.alibaba import privatelink_members as members
from provision.emulator.alibaba import privatelink_rules as rules
from provision.emulator.alibaba.privatelink_rules import (
    EndpointRecord,
    Placement,
    PrivateLinkState,
    SecurityGroupLink,
    ServiceRecord,
    Timing,
    pl_error,
)
from provision.emulator.wire import Body, CloudError, Ctx, Request, Service, rpc_routes
from provision.emulator.world import World

VERSION = "2020-04-15"


# -- seed -----------------------------------------------------------------------------------------------
class PrivateLinkSeed(BaseModel):
    """The ``privatelink`` section of a seed account; ``include_defaults`` keeps the DashScope services."""

    model_config = ConfigDict(extra="forbid")
    include_defaults: bool = True
    product_open: bool = True
    services: dict[str, list[ServiceRecord]] = Field(default_factory=dict)  # region → services


_DASHSCOPE = "com.aliyuncs.dashscope"
DEFAULT_SEED: dict[str, Any] = {"services": {
    "cn-beijing": [{"service_id": "epsrv-2zedashscope00001", "service_name": _DASHSCOPE,
                    "domain_label": "dashscope", "zones": ["cn-beijing-a", "cn-beijing-h", "cn-beijing-i"]}],
    "cn-shanghai-finance-1": [{"service_id": "epsrv-fin0dashscope00001", "service_name": _DASHSCOPE,
                               "zones": ["cn-shanghai-finance-1f", "cn-shanghai-finance-1g"]}],
}}


def seed(world: World, account_id: str, section: dict[str, Any]) -> None:
    """Load one account's ``privatelink`` seed section (validated); a service id seen again is replaced."""
    parsed = PrivateLinkSeed.model_validate(section)
    state = world.state(account_id, PrivateLinkState)
    state.product_open = parsed.product_open
    sources = [PrivateLinkSeed.model_validate(DEFAULT_SEED)] if parsed.include_defaults else []
    for source in [*sources, parsed]:
        for region_id, services in source.services.items():
            region = state.region(region_id)
            by_id = {s.service_id: s for s in region.services}
            by_id.update({s.service_id: s.model_copy() for s in services})
            region.services = list(by_id.values())


# -- cross-service --------------------------------------------------------------------------------------
def endpoint_by_domain(world: World, host: str) -> tuple[str, str, str] | None:
    """(account id, EndpointStatus, ConnectionStatus) of the endpoint a Host names, states as of now."""
    name = host.strip().lower().rstrip(".")
    name = name.rsplit(":", 1)[0] if ":" in name else name
    with world.lock:
        t = Timing.of(world)
        for account_id in list(world.accounts):
            for region in world.state(account_id, PrivateLinkState).regions.values():
                rules.settle(region, t)
                for ep in region.endpoints:
                    domains = {rules.endpoint_domain(ep)} | {rules.zone_domain(ep, z) for z in ep.zones}
                    if name in domains:
                        return account_id, rules.endpoint_status(ep, t), rules.connection_status(ep, t)
    return None


# fields GetVpcEndpointAttribute has and the SDK models of the other answers do not
_NOT_IN_LIST = ("ZonePrivateIpAddressCount", "Payer")
_NOT_IN_CREATE = (*_NOT_IN_LIST, "EndpointType", "RegionId", "ProtectedEnabled", "ResourceGroupId",
                  "ResourceOwner")


def _endpoint_body(ep: EndpointRecord, t: Timing, view: Literal["get", "list", "create"] = "get") -> Body:
    """An endpoint as ``GetVpcEndpointAttribute`` answers it; ``list`` and ``create`` keep the fields their
    SDK models know (``list`` adds the tags)."""
    body: Body = {
        "EndpointId": ep.endpoint_id, "EndpointName": ep.endpoint_name,
        "EndpointDescription": ep.endpoint_description, "EndpointType": ep.endpoint_type,
        "EndpointDomain": rules.endpoint_domain(ep), "EndpointStatus": rules.endpoint_status(ep, t),
        "ConnectionStatus": rules.connection_status(ep, t), "EndpointBusinessStatus": "Normal",
        "ServiceId": ep.service_id, "ServiceName": ep.service_name, "ServiceRegionId": ep.region_id,
        "VpcId": ep.vpc_id, "RegionId": ep.region_id, "CreateTime": ep.create_time,
        "ZonePrivateIpAddressCount": ep.zone_private_ip_address_count, "ProtectedEnabled": ep.protected,
        "ResourceGroupId": ep.resource_group_id, "ResourceOwner": False, "Payer": "Endpoint",
        "Bandwidth": 1024, "AddressIpVersion": "IPv4", "ZoneAffinityEnabled": False,
    }
    if view == "list":
        body["Tags"] = [{"Key": k, "Value": v} for k, v in ep.tags.items()]
    dropped = {"get": (), "list": _NOT_IN_LIST, "create": _NOT_IN_CREATE}[view]
    return {k: v for k, v in body.items() if k not in dropped}


# -- product --------------------------------------------------------------------------------------------
def _check_product_open(ctx: Ctx, req: Request) -> Body:
    """CheckProductOpen: Success true once activated, else NeedOpenProduct (400)."""
    if not ctx.world.state(ctx.account_id, PrivateLinkState).product_open:
        raise pl_error("NeedOpenProduct")
    return rules.ok({"Success": True})


def _open_private_link_service(ctx: Ctx, req: Request) -> Body:
    """OpenPrivateLinkService: activates once; a second call fails with OrderOpend (400)."""
    state = ctx.world.state(ctx.account_id, PrivateLinkState)
    if state.product_open:
        raise pl_error("OrderOpend")
    state.product_open = True
    return rules.ok({"OrderId": str(ctx.world.ids.number("privatelink-order"))})


def _list_services_by_end_user(ctx: Ctx, req: Request) -> Body:
    """ListVpcEndpointServicesByEndUser: filters ServiceName, ServiceId, ServiceType; NextToken paging."""
    region, region_id, _ = rules.scope(ctx, req)
    name, sid, stype = req.get("ServiceName"), req.get("ServiceId"), req.get("ServiceType")
    found = [s for s in region.services if (not name or s.service_name == name)
             and (not sid or s.service_id == sid) and (not stype or s.service_type == stype)]
    page = rules.page_of(req, found)
    return rules.ok({"Services": [{
        "ServiceId": s.service_id, "ServiceName": s.service_name, "ServiceType": s.service_type,
        "ServiceDomain": rules.service_domain(s, region_id), "Zones": list(s.zones),
        "AutoAcceptEnabled": s.auto_accept_enabled, "ServiceResourceType": s.service_resource_type,
        "Payer": s.payer, "ServiceSupportIPv6": False, "ZoneAffinityEnabled": False,
        "AddressIpVersion": "IPv4", "Tags": [],
    } for s in page.items], "NextToken": page.next_token, "MaxResults": page.size,
        "TotalCount": str(page.total)})


# -- endpoints ------------------------------------------------------------------------------------------
def _create_endpoint(ctx: Ctx, req: Request) -> Body:
    """CreateVpcEndpoint: validates everything, then creates it Creating. Same ClientToken → same endpoint."""
    region, region_id, t = rules.scope(ctx, req)
    previous = rules.replayed(region, "CreateVpcEndpoint", req)
    if previous is not None and any(ep.endpoint_id == previous for ep in region.endpoints):
        return rules.ok(_endpoint_body(rules.find_endpoint(region, previous), t, "create"))
    if not ctx.world.state(ctx.account_id, PrivateLinkState).product_open:
        raise pl_error("NeedOpenProduct")
    vpc_id = req.require("VpcId")
    service = rules.resolve_service(region, req.get("ServiceName"), req.get("ServiceId"))
    endpoint_type = req.get("EndpointType") or "Interface"
    if endpoint_type != service.service_type:
        raise CloudError("Mismatch.EndpointType", f"The EndpointType {endpoint_type} is mismatched for "
                         f"service {service.service_id} ({service.service_type}).", 400)
    if (req.get_int("ZonePrivateIpAddressCount", 1) or 1) != 1:
        raise CloudError("IllegalParam.ZonePrivateIpAddressCount", "ZonePrivateIpAddressCount must be 1.",
                         400)
    name, description = req.get("EndpointName"), req.get("EndpointDescription")
    rules.check_name(name)
    rules.check_description(description)
    tags = rules.check_tags(req.get_objects("Tag"))
    places = [Placement(z.get("ZoneId", ""), z.get("VSwitchId", "")) for z in req.get_objects("Zone")]
    sg_ids = req.get_list("SecurityGroupId")
    vswitches = rules.check_placements(ctx.world, ctx.account_id, region_id, vpc_id, service, places, sg_ids)
    rules.dry_run(req)
    ep = EndpointRecord(
        endpoint_id=ctx.next_id("ep"), endpoint_name=name or "", endpoint_description=description or "",
        endpoint_type=endpoint_type, region_id=region_id, vpc_id=vpc_id, service_id=service.service_id,
        service_name=service.service_name, domain_label=service.domain_label,
        auto_accept=service.auto_accept_enabled, tags=tags,
        resource_group_id=req.get("ResourceGroupId") or "", protected=bool(req.get_bool("ProtectedEnabled")),
        creator=rules.principal_of(req.caller), create_time=ctx.now_iso(), created_at=t.now,
        security_groups=[SecurityGroupLink(security_group_id=g, attached_at=t.now) for g in sg_ids],
    )
    ep.zones = [rules.new_zone(ctx.world, vsw, t) for vsw in vswitches]
    region.endpoints.append(ep)
    rules.remember(region, "CreateVpcEndpoint", req, ep.endpoint_id)
    return rules.ok(_endpoint_body(ep, t, "create"))


def _get_endpoint(ctx: Ctx, req: Request) -> Body:
    """GetVpcEndpointAttribute: the endpoint with its live states; EndpointNotFound once gone."""
    region, _, t = rules.scope(ctx, req)
    return rules.ok(_endpoint_body(rules.find_endpoint(region, req.require("EndpointId")), t))


_ENDPOINT_FILTERS: dict[str, Callable[[EndpointRecord, Timing], str]] = {
    "EndpointId": lambda ep, t: ep.endpoint_id,
    "EndpointName": lambda ep, t: ep.endpoint_name,
    "EndpointType": lambda ep, t: ep.endpoint_type,
    "VpcId": lambda ep, t: ep.vpc_id,
    "ServiceName": lambda ep, t: ep.service_name,
    "ResourceGroupId": lambda ep, t: ep.resource_group_id,
    "EndpointStatus": rules.endpoint_status,
    "ConnectionStatus": rules.connection_status,
}


def _list_endpoints(ctx: Ctx, req: Request) -> Body:
    """ListVpcEndpoints: exact-match filters and Tag.N (all must match); MaxResults/NextToken paging."""
    region, _, t = rules.scope(ctx, req)
    wanted = {k: v for k in _ENDPOINT_FILTERS if (v := req.get(k))}
    tag_filter = req.get_objects("Tag")
    found = [ep for ep in region.endpoints
             if all(_ENDPOINT_FILTERS[k](ep, t) == v for k, v in wanted.items())
             and rules.tags_match(ep, tag_filter)]
    page = rules.page_of(req, found)
    return rules.ok({"Endpoints": [_endpoint_body(ep, t, "list") for ep in page.items],
                     "NextToken": page.next_token, "MaxResults": page.size, "TotalCount": page.total})


def _update_endpoint(ctx: Ctx, req: Request) -> Body:
    """UpdateVpcEndpointAttribute: EndpointName / EndpointDescription; needs an Active endpoint."""
    region, _, t = rules.scope(ctx, req)
    ep = rules.find_endpoint(region, req.require("EndpointId"))
    name, description = req.get("EndpointName"), req.get("EndpointDescription")
    rules.check_name(name)
    rules.check_description(description)
    rules.check_changeable(ep, t, rules.principal_of(req.caller))
    rules.dry_run(req)
    ep.endpoint_name = ep.endpoint_name if name is None else name
    ep.endpoint_description = ep.endpoint_description if description is None else description
    return rules.ok()


def _delete_endpoint(ctx: Ctx, req: Request) -> Body:
    """DeleteVpcEndpoint: Active, zones removed → Deleting, then gone. A replayed ClientToken is a no-op."""
    region, _, t = rules.scope(ctx, req)
    endpoint_id = req.require("EndpointId")
    if rules.replayed(region, "DeleteVpcEndpoint", req) == endpoint_id:
        return rules.ok()
    ep = rules.find_endpoint(region, endpoint_id)
    rules.check_changeable(ep, t, rules.principal_of(req.caller))
    if ep.zones:
        raise pl_error("EndpointDependenceViolation", "Remove its zones first (RemoveZoneFromVpcEndpoint).")
    rules.dry_run(req)
    ep.deleting_since = t.now
    rules.remember(region, "DeleteVpcEndpoint", req, endpoint_id)
    return rules.ok()


# -- routes ---------------------------------------------------------------------------------------------
SERVICE = Service(
    name="privatelink",
    routes=rpc_routes(VERSION, "privatelink", {
        "CheckProductOpen": _check_product_open,
        "OpenPrivateLinkService": _open_private_link_service,
        "ListVpcEndpointServicesByEndUser": _list_services_by_end_user,
        "CreateVpcEndpoint": _create_endpoint,
        "GetVpcEndpointAttribute": _get_endpoint,
        "ListVpcEndpoints": _list_endpoints,
        "UpdateVpcEndpointAttribute": _update_endpoint,
        "DeleteVpcEndpoint": _delete_endpoint,
        "AddZoneToVpcEndpoint": members.add_zone,
        "RemoveZoneFromVpcEndpoint": members.remove_zone,
        "ListVpcEndpointZones": members.list_zones,
        "AttachSecurityGroupToVpcEndpoint": members.attach_security_group,
        "DetachSecurityGroupFromVpcEndpoint": members.detach_security_group,
        "ListVpcEndpointSecurityGroups": members.list_security_groups,
        "TagResources": members.tag_resources,
        "UntagResources": members.untag_resources,
        "ListTagResources": members.list_tag_resources,
    }),
    seed=seed,
    default_seed=DEFAULT_SEED,
)

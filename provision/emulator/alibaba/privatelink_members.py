"""PrivateLink handlers for an endpoint's parts: its zones, its security groups and its tags.

Each change needs an Active endpoint and leaves it Pending for one async delay (see the rules module).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from provision.emulator.alibaba import privatelink_rules as rules
from provision.emulator.alibaba.privatelink_rules import (
    EndpointRecord,
    Placement,
    RegionState,
    SecurityGroupLink,
    Timing,
    pl_error,
)
from provision.emulator.wire import Body, CloudError, Ctx, Handler, Request

TAG_RESOURCE_TYPE = "vpcendpoint"


# -- zones and security groups --------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """The endpoint a zone or security-group change applies to, found and checked, with its region."""

    region: RegionState
    region_id: str
    t: Timing
    ep: EndpointRecord


Change = Callable[[Ctx, Request, Target], None]


def endpoint_change(action: str, change: Change) -> Handler:
    """The handler of a zone or security-group change: a replayed ClientToken is a no-op; the endpoint
    must be Active; ``change`` validates (honouring DryRun) and applies; then the endpoint stays Pending
    for one async delay."""

    def handler(ctx: Ctx, req: Request) -> Body:
        region, region_id, t = rules.scope(ctx, req)
        endpoint_id = req.require("EndpointId")
        if rules.replayed(region, action, req) == endpoint_id:
            return rules.ok()
        ep = rules.find_endpoint(region, endpoint_id)
        rules.check_changeable(ep, t, rules.principal_of(req.caller))
        change(ctx, req, Target(region, region_id, t, ep))
        ep.busy_until = t.now + t.delay
        rules.remember(region, action, req, ep.endpoint_id)
        return rules.ok()

    handler.__doc__ = change.__doc__
    return handler


def _add_zone(ctx: Ctx, req: Request, target: Target) -> None:
    """AddZoneToVpcEndpoint: a supported zone and a vSwitch of the VPC in it; Pending meanwhile."""
    ep = target.ep
    place = Placement(req.require("ZoneId"), req.require("VSwitchId"))
    if any(z.zone_id == place.zone_id for z in ep.zones):
        raise pl_error("EndpointZoneDuplicated", f"({place.zone_id})")
    service = rules.resolve_service(target.region, None, ep.service_id)
    vsw = rules.check_zone(ctx.world, ctx.account_id, target.region_id, ep.vpc_id, service, place)
    rules.dry_run(req)
    ep.zones.append(rules.new_zone(ctx.world, vsw, target.t))


def _remove_zone(ctx: Ctx, req: Request, target: Target) -> None:
    """RemoveZoneFromVpcEndpoint: the zone is Deleting, then gone; the endpoint is Pending meanwhile."""
    zone_id = req.require("ZoneId")
    zone = next((z for z in target.ep.zones if z.zone_id == zone_id and z.removing_since is None), None)
    if zone is None:
        raise pl_error("EndpointZoneNotFound", f"({zone_id})")
    rules.dry_run(req)
    zone.removing_since = target.t.now


def _attach_security_group(ctx: Ctx, req: Request, target: Target) -> None:
    """AttachSecurityGroupToVpcEndpoint: an SG of the endpoint's VPC, not yet attached; Pending meanwhile."""
    ep, sg_id = target.ep, req.require("SecurityGroupId")
    rules.check_security_group(ctx.world, ctx.account_id, target.region_id, ep.vpc_id, sg_id)
    if any(g.security_group_id == sg_id for g in ep.security_groups):
        raise pl_error("SecurityGroupExist", f"({sg_id})")
    rules.dry_run(req)
    ep.security_groups.append(SecurityGroupLink(security_group_id=sg_id, attached_at=target.t.now))


def _detach_security_group(ctx: Ctx, req: Request, target: Target) -> None:
    """DetachSecurityGroupFromVpcEndpoint: never the last one (EndpointMustContainSecurityGroup)."""
    ep, sg_id = target.ep, req.require("SecurityGroupId")
    live = [g for g in ep.security_groups if g.detaching_since is None]
    link = next((g for g in live if g.security_group_id == sg_id), None)
    if link is None:
        raise pl_error("SecurityGroupNotFound", f"({sg_id} is not attached to {ep.endpoint_id})")
    if len(live) == 1:
        raise pl_error("EndpointMustContainSecurityGroup")
    rules.dry_run(req)
    link.detaching_since = target.t.now


add_zone = endpoint_change("AddZoneToVpcEndpoint", _add_zone)
remove_zone = endpoint_change("RemoveZoneFromVpcEndpoint", _remove_zone)
attach_security_group = endpoint_change("AttachSecurityGroupToVpcEndpoint", _attach_security_group)
detach_security_group = endpoint_change("DetachSecurityGroupFromVpcEndpoint", _detach_security_group)


def list_zones(ctx: Ctx, req: Request) -> Body:
    """ListVpcEndpointZones: each zone with its live ZoneStatus; MaxResults/NextToken paging."""
    region, region_id, t = rules.scope(ctx, req)
    ep = rules.find_endpoint(region, req.require("EndpointId"))
    page = rules.page_of(req, ep.zones)
    return rules.ok({"Zones": [{
        "ZoneId": z.zone_id, "VSwitchId": z.vswitch_id, "EniId": z.eni_id, "EniIp": z.eni_ip,
        "ZoneDomain": rules.zone_domain(ep, z), "ZoneStatus": rules.zone_status(ep, z, t),
        "RegionId": region_id, "ZoneIpv6Address": "",
    } for z in page.items], "NextToken": page.next_token, "MaxResults": page.size, "TotalCount": page.total})


def list_security_groups(ctx: Ctx, req: Request) -> Body:
    """ListVpcEndpointSecurityGroups: each SG with Attaching/Attached/Detaching; NextToken paging."""
    region, _, t = rules.scope(ctx, req)
    ep = rules.find_endpoint(region, req.require("EndpointId"))
    page = rules.page_of(req, ep.security_groups, rules.SG_PAGING)
    return rules.ok({"SecurityGroups": [
        {"SecurityGroupId": g.security_group_id, "SecurityGroupStatus": rules.security_group_status(g, t)}
        for g in page.items],
        "NextToken": page.next_token, "MaxResults": page.size, "TotalCount": page.total})


# -- tags -----------------------------------------------------------------------------------------------
def _tag_targets(region: RegionState, req: Request, strict: bool) -> list[EndpointRecord]:
    """ResourceType vpcendpoint (any case) and ResourceId.N → the endpoints (all when no ids given).

    ``strict``: an unknown id fails with InvalidResourceId.NotFound instead of being skipped.
    """
    resource_type = req.require("ResourceType")
    if resource_type.lower() != TAG_RESOURCE_TYPE:
        raise CloudError("IllegalParam.ResourceType", f"ResourceType {resource_type!r} is not supported "
                         "here; use vpcendpoint.", 400)
    ids = req.get_list("ResourceId")
    if not ids:
        return list(region.endpoints)
    by_id = {ep.endpoint_id: ep for ep in region.endpoints}
    missing = [i for i in ids if i not in by_id]
    if strict and missing:
        raise pl_error("InvalidResourceId.NotFound", f"({', '.join(missing)})")
    return [by_id[i] for i in ids if i in by_id]


def _require_ids(req: Request) -> None:
    if not req.get_list("ResourceId"):
        raise CloudError("MissingParameter", "The input parameter ResourceId that is mandatory for "
                         "processing this request is not supplied.", 400)


def tag_resources(ctx: Ctx, req: Request) -> Body:
    """TagResources (form body): adds or overwrites tags on each endpoint; repeating it changes nothing."""
    region, _, _ = rules.scope(ctx, req)
    _require_ids(req)
    targets = _tag_targets(region, req, strict=True)
    tags = rules.check_tags(req.get_objects("Tag"))
    if not tags:
        raise CloudError("MissingTagKeyParam", "The tag key is empty.", 400)
    for ep in targets:  # all-or-nothing: check every merged tag set before changing any
        rules.check_tags([{"Key": k, "Value": v} for k, v in {**ep.tags, **tags}.items()])
    rules.dry_run(req)
    for ep in targets:
        ep.tags.update(tags)
    return rules.ok()


def untag_resources(ctx: Ctx, req: Request) -> Body:
    """UntagResources (form body): removes TagKey.N, or every tag with All=true; absent keys are ignored."""
    region, _, _ = rules.scope(ctx, req)
    _require_ids(req)
    targets = _tag_targets(region, req, strict=True)
    keys = req.get_list("TagKey")
    if not keys and not req.get_bool("All", False):
        raise CloudError("MissingTagKeyParam", "The tag key is empty.", 400)
    rules.dry_run(req)
    for ep in targets:
        ep.tags = {k: v for k, v in ep.tags.items() if keys and k not in keys}
    return rules.ok()


def list_tag_resources(ctx: Ctx, req: Request) -> Body:
    """ListTagResources: ResourceId.N and/or Tag.N (every pair must match); 50 rows a page with NextToken."""
    region, _, _ = rules.scope(ctx, req)
    tag_filter = req.get_objects("Tag")
    if not req.get_list("ResourceId") and not tag_filter:
        raise CloudError("MissingResourceIdOrTagParam", "The resource id and tag is empty.", 400)
    rows = [{"ResourceId": ep.endpoint_id, "ResourceType": TAG_RESOURCE_TYPE, "TagKey": k, "TagValue": v}
            for ep in _tag_targets(region, req, strict=False) if rules.tags_match(ep, tag_filter)
            for k, v in ep.tags.items()]
    page = rules.PAGING.page(rows, None, req.get("NextToken"))  # always 50 rows: no MaxResults here
    return rules.ok({"TagResources": page.items, "NextToken": page.next_token})

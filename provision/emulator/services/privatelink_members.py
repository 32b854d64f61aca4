"""PrivateLink handlers for an endpoint's parts: its zones, its security groups and its tags.

Each change needs an Active endpoint and leaves it Pending for one async delay (see the rules module).
"""

from __future__ import annotations

from provision.emulator.services import privatelink_rules as rules
from provision.emulator.services.privatelink_rules import (
    EndpointRecord,
    Placement,
    RegionState,
    SecurityGroupLink,
    Timing,
    pl_error,
)
from provision.emulator.wire import Body, CloudError, Ctx, Request

TAG_RESOURCE_TYPE = "vpcendpoint"


# -- zones and security groups --------------------------------------------------------------------------
def _mutation(ctx: Ctx, req: Request, action: str) -> tuple[RegionState, str, Timing, EndpointRecord] | None:
    """Common prologue of the zone/SG changes; None when the ClientToken was already used (no-op)."""
    region, region_id, t = rules.scope(ctx, req)
    endpoint_id = req.require("EndpointId")
    if rules.replayed(region, action, req) == endpoint_id:
        return None
    ep = rules.find_endpoint(region, endpoint_id)
    rules.check_changeable(ep, t, rules.principal_of(req.caller))
    return region, region_id, t, ep


def _commit(region: RegionState, action: str, req: Request, ep: EndpointRecord, t: Timing) -> Body:
    """The endpoint stays Pending for one async delay after a zone or security-group change."""
    ep.busy_until = t.now + t.delay
    rules.remember(region, action, req, ep.endpoint_id)
    return rules.ok()


def add_zone(ctx: Ctx, req: Request) -> Body:
    """AddZoneToVpcEndpoint: a supported zone and a vSwitch of the VPC in it; Pending meanwhile."""
    scope = _mutation(ctx, req, "AddZoneToVpcEndpoint")
    if scope is None:
        return rules.ok()
    region, region_id, t, ep = scope
    place = Placement(req.require("ZoneId"), req.require("VSwitchId"))
    if any(z.zone_id == place.zone_id for z in ep.zones):
        raise pl_error("EndpointZoneDuplicated", f"({place.zone_id})")
    service = rules.resolve_service(region, None, ep.service_id)
    vsw = rules.check_zone(ctx.world, ctx.account_id, region_id, ep.vpc_id, service, place)
    rules.dry_run(req)
    ep.zones.append(rules.new_zone(ctx.world, vsw, t))
    return _commit(region, "AddZoneToVpcEndpoint", req, ep, t)


def remove_zone(ctx: Ctx, req: Request) -> Body:
    """RemoveZoneFromVpcEndpoint: the zone is Deleting, then gone; the endpoint is Pending meanwhile."""
    scope = _mutation(ctx, req, "RemoveZoneFromVpcEndpoint")
    if scope is None:
        return rules.ok()
    region, _, t, ep = scope
    zone_id = req.require("ZoneId")
    zone = next((z for z in ep.zones if z.zone_id == zone_id and z.removing_since is None), None)
    if zone is None:
        raise pl_error("EndpointZoneNotFound", f"({zone_id})")
    rules.dry_run(req)
    zone.removing_since = t.now
    return _commit(region, "RemoveZoneFromVpcEndpoint", req, ep, t)


def list_zones(ctx: Ctx, req: Request) -> Body:
    """ListVpcEndpointZones: each zone with its live ZoneStatus; MaxResults/NextToken paging."""
    region, region_id, t = rules.scope(ctx, req)
    ep = rules.find_endpoint(region, req.require("EndpointId"))
    page, token, size = rules.paginate(ep.zones, req.get_int("MaxResults"), req.get("NextToken"))
    return rules.ok({"Zones": [{
        "ZoneId": z.zone_id, "VSwitchId": z.vswitch_id, "EniId": z.eni_id, "EniIp": z.eni_ip,
        "ZoneDomain": rules.zone_domain(ep, z), "ZoneStatus": rules.zone_status(ep, z, t),
        "RegionId": region_id, "ZoneIpv6Address": "",
    } for z in page], "NextToken": token, "MaxResults": size, "TotalCount": len(ep.zones)})


def attach_security_group(ctx: Ctx, req: Request) -> Body:
    """AttachSecurityGroupToVpcEndpoint: an SG of the endpoint's VPC, not yet attached; Pending meanwhile."""
    scope = _mutation(ctx, req, "AttachSecurityGroupToVpcEndpoint")
    if scope is None:
        return rules.ok()
    region, region_id, t, ep = scope
    sg_id = req.require("SecurityGroupId")
    rules.check_security_group(ctx.world, ctx.account_id, region_id, ep.vpc_id, sg_id)
    if any(g.security_group_id == sg_id for g in ep.security_groups):
        raise pl_error("SecurityGroupExist", f"({sg_id})")
    rules.dry_run(req)
    ep.security_groups.append(SecurityGroupLink(security_group_id=sg_id, attached_at=t.now))
    return _commit(region, "AttachSecurityGroupToVpcEndpoint", req, ep, t)


def detach_security_group(ctx: Ctx, req: Request) -> Body:
    """DetachSecurityGroupFromVpcEndpoint: never the last one (EndpointMustContainSecurityGroup)."""
    scope = _mutation(ctx, req, "DetachSecurityGroupFromVpcEndpoint")
    if scope is None:
        return rules.ok()
    region, _, t, ep = scope
    sg_id = req.require("SecurityGroupId")
    live = [g for g in ep.security_groups if g.detaching_since is None]
    link = next((g for g in live if g.security_group_id == sg_id), None)
    if link is None:
        raise pl_error("SecurityGroupNotFound", f"({sg_id} is not attached to {ep.endpoint_id})")
    if len(live) == 1:
        raise pl_error("EndpointMustContainSecurityGroup")
    rules.dry_run(req)
    link.detaching_since = t.now
    return _commit(region, "DetachSecurityGroupFromVpcEndpoint", req, ep, t)


def list_security_groups(ctx: Ctx, req: Request) -> Body:
    """ListVpcEndpointSecurityGroups: each SG with Attaching/Attached/Detaching; NextToken paging."""
    region, _, t = rules.scope(ctx, req)
    ep = rules.find_endpoint(region, req.require("EndpointId"))
    page, token, size = rules.paginate(ep.security_groups, req.get_int("MaxResults"), req.get("NextToken"),
                                       limit=50)
    return rules.ok({"SecurityGroups": [
        {"SecurityGroupId": g.security_group_id, "SecurityGroupStatus": rules.security_group_status(g, t)}
        for g in page], "NextToken": token, "MaxResults": size, "TotalCount": len(ep.security_groups)})


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
    page, token, _ = rules.paginate(rows, None, req.get("NextToken"))
    return rules.ok({"TagResources": page, "NextToken": token})

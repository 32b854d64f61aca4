"""ECS 2014-05-26 (RPC): the security-group reads provision makes before it creates a PrivateLink endpoint.

`bailian-privatelink-endpoint.txt` asks for a security group whose inbound rules open HTTP (80) and HTTPS
(443) to the endpoint's VPC. The groups themselves are the ones the ``vpc`` seed section declares (ids,
VPC, open TCP ports, optional source range); this module serves them as ECS does:
``DescribeSecurityGroupAttribute`` (the group and its rules) and ``DescribeSecurityGroups`` (filters
``VpcId`` and ``SecurityGroupId``/``SecurityGroupIds``, PageNumber paging).
"""

from __future__ import annotations

import json

from provision.emulator.alibaba.vpc import SecurityGroupRecord, VpcRegion, VpcState, vpc_info
from provision.emulator.paging import NumberPaging
from provision.emulator.wire import Body, CloudError, Ctx, Request, Service, rpc_routes

VERSION = "2014-05-26"
_ANYWHERE = "0.0.0.0/0"
PAGING = NumberPaging(10, 100, ("InvalidParameter.PageNumber", "PageNumber must be at least 1."),
                      ("InvalidParameter.PageSize", "PageSize must be between 1 and 100."))


def _region(ctx: Ctx, req: Request) -> tuple[str, VpcRegion]:
    region_id = req.require("RegionId")
    return region_id, ctx.world.state(ctx.account_id, VpcState).regions.get(region_id, VpcRegion())


def source_range(ctx: Ctx, region_id: str, group: SecurityGroupRecord) -> str:
    """Where the group's inbound rules admit traffic from: the seeded range, else its VPC's CIDR block."""
    if group.source_cidr:
        return group.source_cidr
    found = vpc_info(ctx.world, ctx.account_id, region_id, group.vpc_id)
    return found.cidr_block if found else _ANYWHERE


def _permissions(ctx: Ctx, region_id: str, group: SecurityGroupRecord, direction: str) -> list[Body]:
    if direction not in ("all", "ingress"):
        return []
    source = source_range(ctx, region_id, group)
    return [{"SecurityGroupRuleId": f"sgr-{group.security_group_id.removeprefix('sg-')}{port}",
             "Direction": "ingress", "IpProtocol": "TCP", "PortRange": f"{port}/{port}",
             "SourceCidrIp": source, "SourcePortRange": "", "SourceGroupId": "", "DestCidrIp": "",
             "Policy": "Accept", "Priority": "1", "NicType": "intranet", "Description": "",
             "CreateTime": "2026-01-01T00:00:00Z"}
            for port in group.inbound_tcp_ports]


def _find(region: VpcRegion, security_group_id: str) -> SecurityGroupRecord:
    found = next((g for g in region.security_groups if g.security_group_id == security_group_id), None)
    if found is None:
        raise CloudError("InvalidSecurityGroupId.NotFound",
                         "The specified SecurityGroupId does not exist.", 404)
    return found


def _describe_attribute(ctx: Ctx, req: Request) -> Body:
    """DescribeSecurityGroupAttribute: the group, its VPC and its rules (``Direction`` all|ingress|egress)."""
    region_id, region = _region(ctx, req)
    group = _find(region, req.require("SecurityGroupId"))
    direction = (req.get("Direction") or "all").lower()
    if direction not in ("all", "ingress", "egress"):
        raise CloudError("InvalidDirection.Malformed", "The specified Direction is not valid.", 400)
    return {"RegionId": region_id, "SecurityGroupId": group.security_group_id,
            "SecurityGroupName": group.name, "Description": "", "VpcId": group.vpc_id,
            "InnerAccessPolicy": "Accept",
            "Permissions": {"Permission": _permissions(ctx, region_id, group, direction)}}


def _ids(req: Request) -> set[str] | None:
    if req.get("SecurityGroupIds"):  # a JSON array, as ECS takes it
        try:
            parsed = json.loads(req.get("SecurityGroupIds") or "[]")
        except ValueError as err:
            raise CloudError("InvalidSecurityGroupIds.Malformed",
                             "SecurityGroupIds must be a JSON array of ids.", 400) from err
        return {str(i) for i in parsed} if isinstance(parsed, list) else None
    single = req.get("SecurityGroupId")
    return {single} if single else None


def _describe_groups(ctx: Ctx, req: Request) -> Body:
    """DescribeSecurityGroups: filters VpcId, SecurityGroupId, SecurityGroupIds; PageNumber/PageSize."""
    region_id, region = _region(ctx, req)
    vpc_id, ids = req.get("VpcId"), _ids(req)
    found = [g for g in region.security_groups
             if (not vpc_id or g.vpc_id == vpc_id) and (ids is None or g.security_group_id in ids)]
    page = PAGING.page(found, req.get_int("PageNumber", 1), req.get_int("PageSize", 10))
    items: list[Body] = [{"SecurityGroupId": g.security_group_id, "SecurityGroupName": g.name,
                          "VpcId": g.vpc_id, "Description": "", "SecurityGroupType": "normal",
                          "CreationTime": "2026-01-01T00:00:00Z", "ResourceGroupId": ""}
                         for g in page.items]
    return {"RegionId": region_id, "TotalCount": page.total, "PageNumber": page.number,
            "PageSize": page.size, "SecurityGroups": {"SecurityGroup": items}}


SERVICE = Service(
    name="ecs",
    routes=rpc_routes(VERSION, "ecs", {
        "DescribeSecurityGroupAttribute": _describe_attribute,
        "DescribeSecurityGroups": _describe_groups,
    }),
)

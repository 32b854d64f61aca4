"""VPC 2016-04-28 (RPC): VPCs, vSwitches and zones per account and region, plus the ECS security groups.

Security groups are seeded only and live here, with the networks they belong to; ``ecs.py`` serves them
through the ECS API, and PrivateLink uses the lookups below (``vpc_info``, ``vswitch_info``,
``security_group_info``) for its own validation.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from provision.emulator.paging import NumberPaging, Page
from provision.emulator.wire import Body, Ctx, Request, Service, rpc_routes
from provision.emulator.world import StateModel, World, register_state

VERSION = "2016-04-28"
_SEED_TIME = "2026-01-01T00:00:00Z"


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


R = TypeVar("R", bound=_Record)
T = TypeVar("T")


class VpcRecord(_Record):
    vpc_id: str
    cidr_block: str = "172.16.0.0/12"
    vpc_name: str = ""
    description: str = ""
    is_default: bool = False
    creation_time: str = _SEED_TIME


class VSwitchRecord(_Record):
    vswitch_id: str
    vpc_id: str
    zone_id: str
    cidr_block: str
    vswitch_name: str = ""
    description: str = ""
    creation_time: str = _SEED_TIME


class SecurityGroupRecord(_Record):
    security_group_id: str
    vpc_id: str
    name: str = ""
    inbound_tcp_ports: list[int] = Field(default_factory=lambda: [80, 443])
    source_cidr: str = ""  # where the inbound rules admit traffic from; empty = the VPC's CIDR block


class VpcRegion(_Record):
    vpcs: list[VpcRecord] = Field(default_factory=list)
    vswitches: list[VSwitchRecord] = Field(default_factory=list)
    security_groups: list[SecurityGroupRecord] = Field(default_factory=list)
    zones: list[str] = Field(default_factory=list)  # extra zones with no vSwitch (DescribeZones)


@register_state
class VpcState(StateModel):
    """One account's networks, keyed by region id."""

    service: ClassVar[str] = "vpc"
    regions: dict[str, VpcRegion] = Field(default_factory=dict)

    def region(self, region_id: str) -> VpcRegion:
        return self.regions.setdefault(region_id, VpcRegion())


class VpcSeed(_Record):
    """The ``vpc`` section of a seed account; ``include_defaults`` keeps the demo networks."""

    include_defaults: bool = True
    regions: dict[str, VpcRegion] = Field(default_factory=dict)


DEFAULT_SEED: dict[str, Any] = {"regions": {
    "cn-beijing": {
        "vpcs": [{"vpc_id": "vpc-2zedemo0000000001", "cidr_block": "172.16.0.0/12",
                  "vpc_name": "delivery-vpc"}],
        "vswitches": [
            {"vswitch_id": "vsw-2zedemo00000000a1", "vpc_id": "vpc-2zedemo0000000001",
             "zone_id": "cn-beijing-a", "cidr_block": "172.16.1.0/24", "vswitch_name": "delivery-a"},
            {"vswitch_id": "vsw-2zedemo00000000h1", "vpc_id": "vpc-2zedemo0000000001",
             "zone_id": "cn-beijing-h", "cidr_block": "172.16.2.0/24", "vswitch_name": "delivery-h"},
            {"vswitch_id": "vsw-2zedemo00000000i1", "vpc_id": "vpc-2zedemo0000000001",
             "zone_id": "cn-beijing-i", "cidr_block": "172.16.3.0/24", "vswitch_name": "delivery-i"},
        ],
        "security_groups": [{"security_group_id": "sg-2zedemo0000000001", "vpc_id": "vpc-2zedemo0000000001",
                             "name": "delivery-endpoints", "inbound_tcp_ports": [80, 443]}],
    },
    "cn-shanghai-finance-1": {
        "vpcs": [{"vpc_id": "vpc-fin0demo000000001", "cidr_block": "192.168.0.0/16",
                  "vpc_name": "finance-vpc"}],
        "vswitches": [
            {"vswitch_id": "vsw-fin0demo00000000f1", "vpc_id": "vpc-fin0demo000000001",
             "zone_id": "cn-shanghai-finance-1f", "cidr_block": "192.168.1.0/24",
             "vswitch_name": "finance-f"},
            {"vswitch_id": "vsw-fin0demo00000000g1", "vpc_id": "vpc-fin0demo000000001",
             "zone_id": "cn-shanghai-finance-1g", "cidr_block": "192.168.2.0/24",
             "vswitch_name": "finance-g"},
        ],
        "security_groups": [{"security_group_id": "sg-fin0demo000000001", "vpc_id": "vpc-fin0demo000000001",
                             "name": "finance-endpoints", "inbound_tcp_ports": [80, 443]}],
    },
}}


def seed(world: World, account_id: str, section: dict[str, Any]) -> None:
    """Load one account's ``vpc`` seed section (validated); records with an existing id are replaced."""
    parsed = VpcSeed.model_validate(section)
    state = world.state(account_id, VpcState)
    sources = [VpcSeed.model_validate(DEFAULT_SEED)] if parsed.include_defaults else []
    for source in [*sources, parsed]:
        for region_id, incoming in source.regions.items():
            region = state.region(region_id)
            region.vpcs = _merge(region.vpcs, incoming.vpcs, "vpc_id")
            region.vswitches = _merge(region.vswitches, incoming.vswitches, "vswitch_id")
            region.security_groups = _merge(region.security_groups, incoming.security_groups,
                                            "security_group_id")
            region.zones = sorted(set(region.zones) | set(incoming.zones))


def _merge(existing: list[R], incoming: list[R], key: str) -> list[R]:
    by_id = {getattr(r, key): r for r in existing}
    by_id.update({getattr(r, key): r.model_copy() for r in incoming})
    return list(by_id.values())


# -- lookups used by PrivateLink -----------------------------------------------------------------------
def vpc_info(world: World, account_id: str, region: str, vpc_id: str) -> VpcRecord | None:
    """The account's VPC in that region, or None."""
    vpcs = world.state(account_id, VpcState).regions.get(region, VpcRegion()).vpcs
    return next((v for v in vpcs if v.vpc_id == vpc_id), None)


def vswitch_info(world: World, account_id: str, region: str, vswitch_id: str) -> VSwitchRecord | None:
    """The account's vSwitch in that region (any VPC), or None."""
    vswitches = world.state(account_id, VpcState).regions.get(region, VpcRegion()).vswitches
    return next((v for v in vswitches if v.vswitch_id == vswitch_id), None)


def security_group_info(world: World, account_id: str, region: str,
                        security_group_id: str) -> SecurityGroupRecord | None:
    """The account's (seeded) security group in that region, or None."""
    groups = world.state(account_id, VpcState).regions.get(region, VpcRegion()).security_groups
    return next((g for g in groups if g.security_group_id == security_group_id), None)


# -- handlers -------------------------------------------------------------------------------------------
PAGING = NumberPaging(10, 50, ("InvalidParameter.PageNumber", "PageNumber must be at least 1."),
                      ("InvalidParameter.PageSize", "PageSize must be between 1 and 50."))


def _page(req: Request, items: Sequence[T]) -> Page[T]:
    """PageNumber (≥1, default 1) and PageSize (1-50, default 10) of the request."""
    return PAGING.page(items, req.get_int("PageNumber", 1), req.get_int("PageSize", 10))


def _ids(value: str | None) -> set[str] | None:
    """A comma-separated id filter (``vpc-1,vpc-2``) → set, or None when absent."""
    return {v.strip() for v in value.split(",") if v.strip()} if value else None


def _owner(account_id: str) -> int | None:
    return int(account_id) if account_id.isdigit() else None


def _describe_vpcs(ctx: Ctx, req: Request) -> Body:
    """DescribeVpcs: filters VpcId (comma list), VpcName, IsDefault; PageNumber/PageSize paging."""
    region_id = req.require("RegionId")
    region = ctx.world.state(ctx.account_id, VpcState).region(region_id)
    ids, name, is_default = _ids(req.get("VpcId")), req.get("VpcName"), req.get_bool("IsDefault")
    found = [v for v in region.vpcs if (ids is None or v.vpc_id in ids) and (not name or v.vpc_name == name)
             and (is_default is None or v.is_default == is_default)]
    page = _page(req, found)
    items: list[Body] = [{
        "VpcId": v.vpc_id, "VpcName": v.vpc_name, "CidrBlock": v.cidr_block, "RegionId": region_id,
        "Status": "Available", "CreationTime": v.creation_time, "IsDefault": v.is_default,
        "Description": v.description, "OwnerId": _owner(ctx.account_id), "ResourceGroupId": "",
        "VRouterId": "vrt-" + v.vpc_id.removeprefix("vpc-"),
        "VSwitchIds": {"VSwitchId": [s.vswitch_id for s in region.vswitches if s.vpc_id == v.vpc_id]},
        "UserCidrs": {"UserCidr": []}, "Tags": {"Tag": []},
    } for v in page.items]
    return {"TotalCount": page.total, "PageNumber": page.number, "PageSize": page.size,
            "Vpcs": {"Vpc": items}}


def _describe_vswitches(ctx: Ctx, req: Request) -> Body:
    """DescribeVSwitches: filters VpcId, ZoneId, VSwitchId (comma list), VSwitchName; PageNumber/PageSize."""
    region_id = req.require("RegionId")
    region = ctx.world.state(ctx.account_id, VpcState).region(region_id)
    vpc_id, zone_id, name = req.get("VpcId"), req.get("ZoneId"), req.get("VSwitchName")
    ids = _ids(req.get("VSwitchId"))
    found = [s for s in region.vswitches
             if (not vpc_id or s.vpc_id == vpc_id) and (not zone_id or s.zone_id == zone_id)
             and (ids is None or s.vswitch_id in ids) and (not name or s.vswitch_name == name)]
    page = _page(req, found)
    items: list[Body] = [{
        "VSwitchId": s.vswitch_id, "VpcId": s.vpc_id, "ZoneId": s.zone_id, "CidrBlock": s.cidr_block,
        "VSwitchName": s.vswitch_name, "Description": s.description, "Status": "Available",
        "AvailableIpAddressCount": ipaddress.ip_network(s.cidr_block).num_addresses - 4,
        "CreationTime": s.creation_time, "IsDefault": False, "OwnerId": _owner(ctx.account_id),
        "ResourceGroupId": "", "ShareType": "Sharing", "Tags": {"Tag": []},
    } for s in page.items]
    return {"TotalCount": page.total, "PageNumber": page.number, "PageSize": page.size,
            "VSwitches": {"VSwitch": items}}


def _describe_zones(ctx: Ctx, req: Request) -> Body:
    """DescribeZones: the zones of the region's vSwitches plus any seeded extra zones."""
    region = ctx.world.state(ctx.account_id, VpcState).region(req.require("RegionId"))
    zones = sorted({s.zone_id for s in region.vswitches} | set(region.zones))
    return {"Zones": {"Zone": [
        {"ZoneId": z, "LocalName": z, "ZoneType": "AvailabilityZone"} for z in zones]}}


SERVICE = Service(
    name="vpc",
    routes=rpc_routes(VERSION, "vpc", {
        "DescribeVpcs": _describe_vpcs,
        "DescribeVSwitches": _describe_vswitches,
        "DescribeZones": _describe_zones,
    }),
    seed=seed,
    default_seed=DEFAULT_SEED,
)

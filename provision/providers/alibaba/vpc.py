"""VPC (2016-04-28) lookups for the endpoints: does the VPC exist, is each vSwitch in it and in its zone.

Read-only. The security groups (ECS) are checked by ``providers/ecs.py`` against the VPC's range read here.
"""

from __future__ import annotations

from typing import Any

from alibabacloud_vpc20160428 import models as vpc

from provision.desired.model import SpecProblem
from provision.desired.resources import EndpointSpec
from provision.errors import ProvisionError
from provision.providers.alibaba.base import Clients
from provision.providers.alibaba.ecs import security_group_problems
from provision.providers.common.pagers import page_number_pager

_PAGE = 50  # the largest PageSize DescribeVSwitches and DescribeVpcs accept


def describe_vswitches(clients: Clients, key: str, region: str, *, vpc_id: str | None = None,
                       vswitch_id: str | None = None) -> list[Any]:
    """DescribeVSwitches (paged) of one region, narrowed to a VPC or to one vSwitch id."""
    def page(number: str | None) -> Any:
        return clients.vpc(region).describe_vswitches(vpc.DescribeVSwitchesRequest(
            region_id=region, vpc_id=vpc_id, v_switch_id=vswitch_id, page_number=int(number or "1"),
            page_size=_PAGE))

    return clients.paginate(key, "DescribeVSwitches", page_number_pager(
        page, lambda body: body.v_switches.v_switch if body.v_switches else None, _PAGE))


def describe_vpc(clients: Clients, key: str, region: str, vpc_id: str) -> Any | None:
    """DescribeVpcs(VpcId): the account's VPC in that region (id, CidrBlock), or None."""
    request = vpc.DescribeVpcsRequest(region_id=region, vpc_id=vpc_id, page_size=_PAGE)
    body = clients.call(key, "DescribeVpcs", lambda: clients.vpc(region).describe_vpcs(request)).body
    found = body.vpcs.vpc if body.vpcs else None
    return next((v for v in found or () if v.vpc_id == vpc_id), None)


def network_problems(clients: Clients, spec: EndpointSpec) -> list[SpecProblem]:
    """DescribeVpcs, DescribeVSwitches, DescribeSecurityGroupAttribute: the endpoint's VPC exists in its
    region, each declared vSwitch is in that VPC and in its declared zone (a missing one is looked up
    region-wide to say where it is), and each security group is in the VPC and opens TCP 80 and 443 to it."""
    key = spec.key
    found_vpc = describe_vpc(clients, key, spec.region, spec.vpc_id)
    if found_vpc is None:
        return [SpecProblem(key, "vpc_id", spec.vpc_id,
                            f"VPC {spec.vpc_id} does not exist in region {spec.region}")]
    in_vpc = {v.v_switch_id: v for v in describe_vswitches(clients, key, spec.region, vpc_id=spec.vpc_id)}
    problems: list[SpecProblem] = []
    for zone in spec.zones or ():
        found = in_vpc.get(zone.vswitch_id)
        if found is None:
            elsewhere = describe_vswitches(clients, key, spec.region, vswitch_id=zone.vswitch_id)
            where = (f"it is in VPC {elsewhere[0].vpc_id}" if elsewhere
                     else f"it does not exist in region {spec.region}")
            problems.append(SpecProblem(key, "zones", zone.vswitch_id,
                                        f"vSwitch {zone.vswitch_id} is not in VPC {spec.vpc_id} ({where})"))
        elif found.zone_id != zone.zone_id:
            problems.append(SpecProblem(key, "zones", zone.vswitch_id,
                                        f"vSwitch {zone.vswitch_id} is in zone {found.zone_id}, not "
                                        f"{zone.zone_id} as declared"))
    return problems + security_group_problems(clients, spec, str(found_vpc.cidr_block or ""))


def check_network(clients: Clients, spec: EndpointSpec) -> None:
    """Raise before any change when :func:`network_problems` finds something wrong with ``spec``."""
    problems = network_problems(clients, spec)
    if problems:
        raise ProvisionError(f"{spec.key}: " + "; ".join(p.message for p in problems)
                             + ": fix the endpoint in the manifest; nothing was changed")

"""ECS security groups in the emulator, read with the official ECS SDK (alibabacloud-ecs20140526)."""

from __future__ import annotations

from typing import Any

import pytest
from alibabacloud_ecs20140526 import models as ecs
from alibabacloud_ecs20140526.client import Client
from Tea.exceptions import TeaException

SG, VPC = "sg-2zedemo0000000001", "vpc-2zedemo0000000001"


@pytest.fixture
def client(emulator: Any) -> Client:
    return Client(emulator.sdk_config(region="cn-beijing"))


def test_the_seeded_endpoint_group_opens_80_and_443_to_its_vpc(client: Client) -> None:
    body = client.describe_security_group_attribute(ecs.DescribeSecurityGroupAttributeRequest(
        region_id="cn-beijing", security_group_id=SG, direction="ingress")).body
    assert (body.security_group_id, body.vpc_id) == (SG, VPC)
    rules = [(p.direction, p.ip_protocol, p.port_range, p.source_cidr_ip, p.policy)
             for p in body.permissions.permission]
    assert rules == [("ingress", "TCP", "80/80", "172.16.0.0/12", "Accept"),
                     ("ingress", "TCP", "443/443", "172.16.0.0/12", "Accept")]
    egress = client.describe_security_group_attribute(ecs.DescribeSecurityGroupAttributeRequest(
        region_id="cn-beijing", security_group_id=SG, direction="egress")).body
    assert egress.permissions.permission == []


def test_an_unknown_group_or_a_group_of_another_region_is_not_found(client: Client) -> None:
    for region, group in (("cn-beijing", "sg-nothere"), ("cn-shanghai-finance-1", SG)):
        with pytest.raises(TeaException) as info:
            client.describe_security_group_attribute(ecs.DescribeSecurityGroupAttributeRequest(
                region_id=region, security_group_id=group))
        assert (info.value.code, info.value.statusCode) == ("InvalidSecurityGroupId.NotFound", 404)


def test_describe_security_groups_filters_by_vpc(client: Client) -> None:
    mine = client.describe_security_groups(ecs.DescribeSecurityGroupsRequest(region_id="cn-beijing",
                                                                            vpc_id=VPC)).body
    assert [g.security_group_id for g in mine.security_groups.security_group] == [SG]
    none = client.describe_security_groups(ecs.DescribeSecurityGroupsRequest(region_id="cn-beijing",
                                                                            vpc_id="vpc-other")).body
    assert (none.total_count, none.security_groups.security_group) == (0, [])

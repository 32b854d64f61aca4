"""VPC 2016-04-28 in the emulator, driven by the official SDK over HTTP, and its seed section."""

from __future__ import annotations

from typing import Any

import pytest
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_vpc20160428 import models as vpc_models
from alibabacloud_vpc20160428.client import Client
from pydantic import ValidationError

from provision.emulator.alibaba import vpc
from provision.emulator.world import World

BEIJING = "cn-beijing"
VPC_ID = "vpc-2zedemo0000000001"


@pytest.fixture
def shared(emulator_session: Any) -> Any:
    """One server for the session, back to the seed before each test."""
    emulator_session.reset()
    return emulator_session


@pytest.fixture
def client(shared: Any) -> Client:
    return Client(shared.sdk_config(region=BEIJING))


def describe_vswitches(client: Client, **params: Any) -> Any:
    return client.describe_vswitches(vpc_models.DescribeVSwitchesRequest(region_id=BEIJING, **params)).body


def test_seeded_vpc_is_described_with_its_vswitches(client: Client) -> None:
    body = client.describe_vpcs(vpc_models.DescribeVpcsRequest(region_id=BEIJING)).body
    [found] = body.vpcs.vpc
    assert (found.vpc_id, found.vpc_name, found.cidr_block, found.status) == \
        (VPC_ID, "delivery-vpc", "172.16.0.0/12", "Available")
    assert found.v_switch_ids.v_switch_id == ["vsw-2zedemo00000000a1", "vsw-2zedemo00000000h1",
                                              "vsw-2zedemo00000000i1"]


def test_describe_vpcs_pages_and_filters(client: Client, shared: Any) -> None:
    vpc.seed(shared.world, shared.world.default_account, {"regions": {BEIJING: {
        "vpcs": [{"vpc_id": "vpc-2zeother000000001", "vpc_name": "other", "cidr_block": "10.0.0.0/8"}]}}})

    def page(**params: Any) -> Any:
        return client.describe_vpcs(vpc_models.DescribeVpcsRequest(region_id=BEIJING, **params)).body

    first, second = page(page_size=1, page_number=1), page(page_size=1, page_number=2)
    assert (first.total_count, first.page_size, second.page_number) == (2, 1, 2)
    assert [v.vpc_id for v in first.vpcs.vpc + second.vpcs.vpc] == [VPC_ID, "vpc-2zeother000000001"]
    assert page(page_size=1, page_number=3).vpcs.vpc == []
    assert [v.vpc_id for v in page(vpc_name="other").vpcs.vpc] == ["vpc-2zeother000000001"]
    assert [v.vpc_id for v in page(vpc_id=f"{VPC_ID},vpc-missing").vpcs.vpc] == [VPC_ID]


def test_describe_vswitches_pages_with_page_number_and_page_size(client: Client) -> None:
    first = describe_vswitches(client, vpc_id=VPC_ID, page_size=2, page_number=1)
    second = describe_vswitches(client, vpc_id=VPC_ID, page_size=2, page_number=2)
    assert (first.total_count, len(first.v_switches.v_switch), len(second.v_switches.v_switch)) == (3, 2, 1)
    zones = {s.v_switch_id: s.zone_id for s in first.v_switches.v_switch + second.v_switches.v_switch}
    assert zones == {"vsw-2zedemo00000000a1": "cn-beijing-a", "vsw-2zedemo00000000h1": "cn-beijing-h",
                     "vsw-2zedemo00000000i1": "cn-beijing-i"}


def test_describe_vswitches_filters_by_zone_and_id(client: Client) -> None:
    [in_h] = describe_vswitches(client, zone_id="cn-beijing-h").v_switches.v_switch
    assert (in_h.v_switch_id, in_h.vpc_id, in_h.cidr_block, in_h.available_ip_address_count) == \
        ("vsw-2zedemo00000000h1", VPC_ID, "172.16.2.0/24", 252)
    by_id = describe_vswitches(client, v_switch_id="vsw-2zedemo00000000i1").v_switches.v_switch
    assert [s.zone_id for s in by_id] == ["cn-beijing-i"]
    assert describe_vswitches(client, vpc_id="vpc-unknown").total_count == 0


def test_page_size_above_fifty_is_refused(client: Client) -> None:
    with pytest.raises(ClientException) as caught:
        describe_vswitches(client, page_size=51)
    assert (caught.value.code, caught.value.status_code) == ("InvalidParameter.PageSize", 400)


def test_regions_are_separate(shared: Any) -> None:
    finance = Client(shared.sdk_config(region="cn-shanghai-finance-1"))
    request = vpc_models.DescribeVSwitchesRequest(region_id="cn-shanghai-finance-1")
    body = finance.describe_vswitches(request).body
    assert sorted(s.v_switch_id for s in body.v_switches.v_switch) == \
        ["vsw-fin0demo00000000f1", "vsw-fin0demo00000000g1"]
    zones = finance.describe_zones(vpc_models.DescribeZonesRequest(region_id="cn-shanghai-finance-1")).body
    assert [z.zone_id for z in zones.zones.zone] == ["cn-shanghai-finance-1f", "cn-shanghai-finance-1g"]


# -- the seed section -----------------------------------------------------------------------------------
def _world() -> World:
    world = World(seed="vpc-test")
    world.add_account("1000000000000009", "AK9", "not-a-secret")
    return world


def test_seed_section_adds_networks_to_the_defaults() -> None:
    world = _world()
    vpc.seed(world, "1000000000000009", {"regions": {BEIJING: {"security_groups": [
        {"security_group_id": "sg-extra", "vpc_id": VPC_ID}]}}})
    added = vpc.security_group_info(world, "1000000000000009", BEIJING, "sg-extra")
    assert added is not None and added.vpc_id == VPC_ID
    default_vpc = vpc.vpc_info(world, "1000000000000009", BEIJING, VPC_ID)
    assert default_vpc is not None and default_vpc.vpc_name == "delivery-vpc"
    finance = vpc.vswitch_info(world, "1000000000000009", "cn-shanghai-finance-1", "vsw-fin0demo00000000f1")
    assert finance is not None and finance.zone_id == "cn-shanghai-finance-1f"


def test_seed_section_can_drop_the_defaults_and_rejects_unknown_keys() -> None:
    world = _world()
    vpc.seed(world, "1000000000000009", {"include_defaults": False, "regions": {"ap-southeast-1": {
        "vpcs": [{"vpc_id": "vpc-sg1"}]}}})
    assert vpc.vpc_info(world, "1000000000000009", BEIJING, VPC_ID) is None
    assert vpc.vpc_info(world, "1000000000000009", "ap-southeast-1", "vpc-sg1") is not None
    with pytest.raises(ValidationError):
        vpc.seed(world, "1000000000000009", {"regions": {BEIJING: {"vpcs": [{"vpc_id": "v", "rgb": "red"}]}}})

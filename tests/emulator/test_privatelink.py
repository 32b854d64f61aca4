"""PrivateLink 2020-04-15 in the emulator, driven by the official SDK over HTTP (and its rules directly)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from alibabacloud_privatelink20200415 import models as pl
from alibabacloud_privatelink20200415.client import Client
from sdk_errors import error_of

from provision.emulator.alibaba import privatelink, privatelink_rules, vpc
from provision.emulator.alibaba.privatelink_rules import EndpointRecord, Timing, ZoneRecord
from provision.emulator.paging import Page
from provision.emulator.world import World

DELAY = 2.0  # long enough that no transition happens on its own during a test; tests advance the clock
BEIJING = "cn-beijing"
VPC_ID = "vpc-2zedemo0000000001"
SG_ID = "sg-2zedemo0000000001"
DASHSCOPE = "com.aliyuncs.dashscope"
ZONES = {"cn-beijing-a": "vsw-2zedemo00000000a1", "cn-beijing-h": "vsw-2zedemo00000000h1",
         "cn-beijing-i": "vsw-2zedemo00000000i1"}


@pytest.fixture
def client(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Client:
    monkeypatch.setitem(emulator.world.settings, "async_delay_s", DELAY)
    return Client(emulator.sdk_config(region=BEIJING))


@pytest.fixture
def shared_client(emulator_session: Any) -> Client:
    """For tests that create nothing: one server for the session, back to the seed first."""
    emulator_session.reset()
    return Client(emulator_session.sdk_config(region=BEIJING))


def create_request(zones: tuple[str, ...] = ("cn-beijing-a", "cn-beijing-h"), **fields: Any) -> Any:
    params: dict[str, Any] = {
        "region_id": BEIJING, "vpc_id": VPC_ID, "service_name": DASHSCOPE, "endpoint_type": "Interface",
        "security_group_id": [SG_ID], "endpoint_name": "dashscope-ep",
        "zone": [pl.CreateVpcEndpointRequestZone(zone_id=z, v_switch_id=ZONES[z]) for z in zones],
        "tag": [pl.CreateVpcEndpointRequestTag(key="managed-by", value="provision")],
    }
    params.update(fields)
    return pl.CreateVpcEndpointRequest(**params)


def get(client: Client, endpoint_id: str, region: str = BEIJING) -> Any:
    return client.get_vpc_endpoint_attribute(
        pl.GetVpcEndpointAttributeRequest(region_id=region, endpoint_id=endpoint_id)).body


def zones_of(client: Client, endpoint_id: str) -> dict[str, str]:
    body = client.list_vpc_endpoint_zones(
        pl.ListVpcEndpointZonesRequest(region_id=BEIJING, endpoint_id=endpoint_id)).body
    return {z.zone_id: z.zone_status for z in body.zones}


def created_active(client: Client, emulator: Any, **fields: Any) -> str:
    endpoint_id: str = client.create_vpc_endpoint(create_request(**fields)).body.endpoint_id
    emulator.advance_clock(DELAY)
    return endpoint_id


def add_network(emulator: Any, region: dict[str, Any]) -> None:
    """Extra seeded networks in the default account's cn-beijing (the seed hook is the public way in)."""
    vpc.seed(emulator.world, emulator.world.default_account, {"regions": {BEIJING: region}})


# -- create ---------------------------------------------------------------------------------------------
def test_dry_run_create_reports_dry_run_operation_and_creates_nothing(client: Client) -> None:
    assert error_of(lambda: client.create_vpc_endpoint(create_request(dry_run=True))) == \
        ("DryRunOperation", 400)
    listed = client.list_vpc_endpoints(pl.ListVpcEndpointsRequest(region_id=BEIJING)).body
    assert listed.total_count == 0


def test_create_is_creating_then_active_and_connected_with_connected_zones(client: Client,
                                                                           emulator: Any) -> None:
    created = client.create_vpc_endpoint(create_request()).body
    assert (created.endpoint_status, created.service_id) == ("Creating", "epsrv-2zedashscope00001")
    assert created.endpoint_domain == \
        f"{created.endpoint_id}.epsrv-2zedashscope00001.cn-beijing.privatelink.aliyuncs.com"
    assert zones_of(client, created.endpoint_id) == {"cn-beijing-a": "Creating", "cn-beijing-h": "Creating"}

    emulator.advance_clock(DELAY / 2)
    half = get(client, created.endpoint_id)
    assert (half.endpoint_status, half.connection_status) == ("Creating", "Connecting")
    assert set(zones_of(client, created.endpoint_id).values()) == {"Wait"}

    emulator.advance_clock(DELAY / 2)
    done = get(client, created.endpoint_id)
    assert (done.endpoint_status, done.connection_status) == ("Active", "Connected")
    assert (done.endpoint_name, done.vpc_id, done.zone_private_ip_address_count) == \
        ("dashscope-ep", VPC_ID, 1)
    assert set(zones_of(client, created.endpoint_id).values()) == {"Connected"}


def test_same_client_token_returns_the_same_endpoint(client: Client) -> None:
    first = client.create_vpc_endpoint(create_request(client_token="tok-1")).body
    again = client.create_vpc_endpoint(create_request(client_token="tok-1")).body
    other = client.create_vpc_endpoint(create_request(client_token="tok-2")).body
    assert first.endpoint_id == again.endpoint_id != other.endpoint_id
    listed = client.list_vpc_endpoints(pl.ListVpcEndpointsRequest(region_id=BEIJING)).body
    assert listed.total_count == 2


@pytest.mark.parametrize(("fields", "code"), [
    ({"zones": ("cn-beijing-a",)}, "IllegalParam.ZoneCount"),
    ({"zone": [pl.CreateVpcEndpointRequestZone(zone_id="cn-beijing-a", v_switch_id=ZONES["cn-beijing-h"]),
               pl.CreateVpcEndpointRequestZone(zone_id="cn-beijing-h", v_switch_id=ZONES["cn-beijing-h"])]},
     "IllegalParam.VSwitchId"),
    ({"zone": [pl.CreateVpcEndpointRequestZone(zone_id="cn-beijing-a", v_switch_id="vsw-nope"),
               pl.CreateVpcEndpointRequestZone(zone_id="cn-beijing-h", v_switch_id=ZONES["cn-beijing-h"])]},
     "VSwitchNotFound"),
    ({"zone": [pl.CreateVpcEndpointRequestZone(zone_id="cn-beijing-a", v_switch_id=ZONES["cn-beijing-a"]),
               pl.CreateVpcEndpointRequestZone(zone_id="cn-beijing-a", v_switch_id=ZONES["cn-beijing-a"])]},
     "EndpointZoneDuplicated"),
    ({"security_group_id": ["sg-unknown"]}, "SecurityGroupNotFound"),
    ({"security_group_id": None}, "EndpointMustContainSecurityGroup"),
    ({"service_name": "com.aliyuncs.nothing"}, "EndpointServiceNotFound"),
    ({"service_id": "epsrv-2zedashscope00001"}, "IllegalParam.ServiceId"),
    ({"vpc_id": "vpc-unknown"}, "VpcNotFound"),
    ({"endpoint_name": "9-starts-with-a-digit"}, "IllegalParamFormat.EndpointName"),
])
def test_create_refuses_an_invalid_placement_with_its_code(shared_client: Client, fields: dict[str, Any],
                                                           code: str) -> None:
    assert error_of(lambda: shared_client.create_vpc_endpoint(create_request(**fields))) == (code, 400)


def test_create_refuses_a_vswitch_of_another_vpc(client: Client, emulator: Any) -> None:
    add_network(emulator, {
        "vpcs": [{"vpc_id": "vpc-2zeother000000001"}],
        "vswitches": [{"vswitch_id": "vsw-2zeother0000000a1", "vpc_id": "vpc-2zeother000000001",
                       "zone_id": "cn-beijing-a", "cidr_block": "172.16.9.0/24"}],
        "security_groups": [{"security_group_id": "sg-2zeother000000001", "vpc_id": "vpc-2zeother000000001"}],
    })
    foreign = [pl.CreateVpcEndpointRequestZone(zone_id="cn-beijing-a", v_switch_id="vsw-2zeother0000000a1"),
               pl.CreateVpcEndpointRequestZone(zone_id="cn-beijing-h", v_switch_id=ZONES["cn-beijing-h"])]
    with_foreign_vswitch = create_request(zone=foreign)
    assert error_of(lambda: client.create_vpc_endpoint(with_foreign_vswitch))[0] == "VSwitchNotFound"
    other_sg = create_request(security_group_id=["sg-2zeother000000001"])
    assert error_of(lambda: client.create_vpc_endpoint(other_sg))[0] == "SecurityGroupNotFound"


def test_finance_region_creates_by_service_id(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(emulator.world.settings, "async_delay_s", DELAY)
    finance = Client(emulator.sdk_config(region="cn-shanghai-finance-1"))
    zones = [pl.CreateVpcEndpointRequestZone(zone_id=f"cn-shanghai-finance-1{z}",
                                             v_switch_id=f"vsw-fin0demo00000000{z}1") for z in "fg"]
    request = pl.CreateVpcEndpointRequest(
        region_id="cn-shanghai-finance-1", vpc_id="vpc-fin0demo000000001",
        service_id="epsrv-fin0dashscope00001", security_group_id=["sg-fin0demo000000001"],
        endpoint_name="dashscope-fin", zone=zones)
    created = finance.create_vpc_endpoint(request).body
    assert (created.service_id, created.service_name) == ("epsrv-fin0dashscope00001", DASHSCOPE)
    assert created.endpoint_domain == \
        f"{created.endpoint_id}.epsrv-fin0dashscope00001.cn-shanghai-finance-1.privatelink.aliyuncs.com"
    in_beijing = finance.list_vpc_endpoints(pl.ListVpcEndpointsRequest(region_id=BEIJING)).body
    assert in_beijing.total_count == 0  # state is per region


# -- read -----------------------------------------------------------------------------------------------
def test_list_endpoints_pages_with_next_token_and_filters(client: Client, emulator: Any) -> None:
    ids = [client.create_vpc_endpoint(create_request(endpoint_name=f"ep-{n}")).body.endpoint_id
           for n in range(3)]
    emulator.advance_clock(DELAY)
    first = client.list_vpc_endpoints(pl.ListVpcEndpointsRequest(region_id=BEIJING, max_results=2)).body
    assert (len(first.endpoints), first.total_count, first.max_results) == (2, 3, 2)
    second = client.list_vpc_endpoints(pl.ListVpcEndpointsRequest(
        region_id=BEIJING, max_results=2, next_token=first.next_token)).body
    assert second.next_token is None
    assert [e.endpoint_id for e in first.endpoints + second.endpoints] == ids
    assert first.endpoints[0].tags[0].to_map() == {"Key": "managed-by", "Value": "provision"}

    def matching(**filters: Any) -> list[str]:
        body = client.list_vpc_endpoints(pl.ListVpcEndpointsRequest(region_id=BEIJING, **filters)).body
        return [e.endpoint_id for e in body.endpoints]

    assert matching(endpoint_name="ep-1") == [ids[1]]
    assert matching(vpc_id=VPC_ID, service_name=DASHSCOPE, endpoint_status="Active") == ids
    assert matching(endpoint_status="Creating") == []
    assert matching(tag=[pl.ListVpcEndpointsRequestTag(key="managed-by", value="provision")]) == ids
    assert matching(tag=[pl.ListVpcEndpointsRequestTag(key="managed-by", value="someone")]) == []
    assert error_of(lambda: matching(max_results=1001))[0] == "IllegalParam.MaxResults"


def test_unknown_endpoint_is_endpoint_not_found(shared_client: Client) -> None:
    assert error_of(lambda: get(shared_client, "ep-doesnotexist")) == ("EndpointNotFound", 400)


def test_services_by_end_user_filters_by_name_and_id(shared_client: Client) -> None:
    def services(**filters: Any) -> list[Any]:
        body = shared_client.list_vpc_endpoint_services_by_end_user(
            pl.ListVpcEndpointServicesByEndUserRequest(region_id=BEIJING, **filters)).body
        return list(body.services)

    [dashscope] = services(service_name=DASHSCOPE)
    assert (dashscope.service_id, dashscope.auto_accept_enabled, dashscope.service_type) == \
        ("epsrv-2zedashscope00001", True, "Interface")
    assert dashscope.zones == ["cn-beijing-a", "cn-beijing-h", "cn-beijing-i"]
    assert [s.service_name for s in services(service_id="epsrv-2zedashscope00001")] == [DASHSCOPE]
    assert services(service_name="com.aliyuncs.nothing") == []


def test_product_is_open_and_a_second_activation_is_refused(client: Client) -> None:
    assert client.check_product_open().body.success is True
    assert error_of(lambda: client.open_private_link_service(pl.OpenPrivateLinkServiceRequest()))[0] == \
        "OrderOpend"


# -- change ---------------------------------------------------------------------------------------------
def test_add_then_remove_zone_passes_through_pending(client: Client, emulator: Any) -> None:
    endpoint_id = created_active(client, emulator)
    client.add_zone_to_vpc_endpoint(pl.AddZoneToVpcEndpointRequest(
        region_id=BEIJING, endpoint_id=endpoint_id, zone_id="cn-beijing-i",
        v_switch_id=ZONES["cn-beijing-i"]))
    assert get(client, endpoint_id).endpoint_status == "Pending"
    assert zones_of(client, endpoint_id)["cn-beijing-i"] == "Creating"
    remove_i = pl.RemoveZoneFromVpcEndpointRequest(region_id=BEIJING, endpoint_id=endpoint_id,
                                                   zone_id="cn-beijing-i")
    assert error_of(lambda: client.remove_zone_from_vpc_endpoint(remove_i))[0] == "EndpointOperationDenied"

    emulator.advance_clock(DELAY)
    assert get(client, endpoint_id).endpoint_status == "Active"
    assert zones_of(client, endpoint_id)["cn-beijing-i"] == "Connected"
    client.remove_zone_from_vpc_endpoint(remove_i)
    assert zones_of(client, endpoint_id)["cn-beijing-i"] == "Deleting"
    emulator.advance_clock(DELAY)
    assert set(zones_of(client, endpoint_id)) == {"cn-beijing-a", "cn-beijing-h"}


def test_add_zone_refuses_a_zone_the_service_does_not_offer(client: Client, emulator: Any) -> None:
    add_network(emulator, {"vswitches": [{"vswitch_id": "vsw-2zedemo00000000k1", "vpc_id": VPC_ID,
                                          "zone_id": "cn-beijing-k", "cidr_block": "172.16.4.0/24"}]})
    endpoint_id = created_active(client, emulator)
    request = pl.AddZoneToVpcEndpointRequest(region_id=BEIJING, endpoint_id=endpoint_id,
                                             zone_id="cn-beijing-k", v_switch_id="vsw-2zedemo00000000k1")
    assert error_of(lambda: client.add_zone_to_vpc_endpoint(request))[0] == \
        "EndpointServiceNotSupportedZone"


def test_attach_and_detach_security_group(client: Client, emulator: Any) -> None:
    add_network(emulator, {"security_groups": [{"security_group_id": "sg-2zedemo0000000002",
                                                "vpc_id": VPC_ID}]})
    endpoint_id = created_active(client, emulator)

    def groups() -> dict[str, str]:
        body = client.list_vpc_endpoint_security_groups(
            pl.ListVpcEndpointSecurityGroupsRequest(region_id=BEIJING, endpoint_id=endpoint_id)).body
        return {g.security_group_id: g.security_group_status for g in body.security_groups}

    def attach(sg_id: str) -> None:
        client.attach_security_group_to_vpc_endpoint(pl.AttachSecurityGroupToVpcEndpointRequest(
            region_id=BEIJING, endpoint_id=endpoint_id, security_group_id=sg_id))

    def detach(sg_id: str) -> None:
        client.detach_security_group_from_vpc_endpoint(pl.DetachSecurityGroupFromVpcEndpointRequest(
            region_id=BEIJING, endpoint_id=endpoint_id, security_group_id=sg_id))

    attach("sg-2zedemo0000000002")
    assert groups() == {SG_ID: "Attached", "sg-2zedemo0000000002": "Attaching"}
    assert get(client, endpoint_id).endpoint_status == "Pending"
    emulator.advance_clock(DELAY)
    assert error_of(lambda: attach(SG_ID))[0] == "SecurityGroupExist"
    detach(SG_ID)
    assert groups()[SG_ID] == "Detaching"
    emulator.advance_clock(DELAY)
    assert groups() == {"sg-2zedemo0000000002": "Attached"}
    assert error_of(lambda: detach("sg-2zedemo0000000002"))[0] == "EndpointMustContainSecurityGroup"


def test_update_attribute_renames_an_active_endpoint(client: Client, emulator: Any) -> None:
    endpoint_id = client.create_vpc_endpoint(create_request()).body.endpoint_id
    rename = pl.UpdateVpcEndpointAttributeRequest(
        region_id=BEIJING, endpoint_id=endpoint_id, endpoint_name="renamed", endpoint_description="for DS")
    assert error_of(lambda: client.update_vpc_endpoint_attribute(rename))[0] == "EndpointOperationDenied"
    emulator.advance_clock(DELAY)
    client.update_vpc_endpoint_attribute(rename)
    body = get(client, endpoint_id)
    assert (body.endpoint_name, body.endpoint_description) == ("renamed", "for DS")


def test_tags_are_added_listed_and_removed(client: Client, emulator: Any) -> None:
    endpoint_id = created_active(client, emulator)
    client.tag_resources(pl.TagResourcesRequest(
        region_id=BEIJING, resource_type="VpcEndpoint", resource_id=[endpoint_id],
        tag=[pl.TagResourcesRequestTag(key="owner", value="team-a")]))
    listed = client.list_tag_resources(pl.ListTagResourcesRequest(
        region_id=BEIJING, resource_type="vpcendpoint", resource_id=[endpoint_id])).body
    assert {(t.tag_key, t.tag_value) for t in listed.tag_resources} == \
        {("managed-by", "provision"), ("owner", "team-a")}
    client.untag_resources(pl.UntagResourcesRequest(
        region_id=BEIJING, resource_type="vpcendpoint", resource_id=[endpoint_id], tag_key=["owner"]))
    by_tag = client.list_tag_resources(pl.ListTagResourcesRequest(
        region_id=BEIJING, resource_type="vpcendpoint",
        tag=[pl.ListTagResourcesRequestTag(key="managed-by", value="provision")])).body
    assert [(t.resource_id, t.tag_key) for t in by_tag.tag_resources] == [(endpoint_id, "managed-by")]
    unknown = pl.TagResourcesRequest(region_id=BEIJING, resource_type="vpcendpoint", resource_id=["ep-nope"],
                                     tag=[pl.TagResourcesRequestTag(key="k", value="v")])
    assert error_of(lambda: client.tag_resources(unknown))[0] == "InvalidResourceId.NotFound"


# -- delete and the data-plane view ---------------------------------------------------------------------
def test_delete_needs_zones_removed_then_goes_deleting_then_gone(client: Client, emulator: Any) -> None:
    endpoint_id = created_active(client, emulator)
    delete = pl.DeleteVpcEndpointRequest(region_id=BEIJING, endpoint_id=endpoint_id)
    assert error_of(lambda: client.delete_vpc_endpoint(delete))[0] == "EndpointDependenceViolation"
    for zone_id in ("cn-beijing-a", "cn-beijing-h"):
        client.remove_zone_from_vpc_endpoint(pl.RemoveZoneFromVpcEndpointRequest(
            region_id=BEIJING, endpoint_id=endpoint_id, zone_id=zone_id))
        emulator.advance_clock(DELAY)
    client.delete_vpc_endpoint(delete)
    assert (get(client, endpoint_id).endpoint_status, get(client, endpoint_id).connection_status) == \
        ("Deleting", "Deleting")
    assert error_of(lambda: client.delete_vpc_endpoint(delete))[0] == "EndpointOperationDenied"
    emulator.advance_clock(DELAY)
    assert error_of(lambda: get(client, endpoint_id)) == ("EndpointNotFound", 400)


def test_endpoint_by_domain_reflects_the_live_states(client: Client, emulator: Any) -> None:
    created = client.create_vpc_endpoint(create_request(zones=("cn-beijing-a", "cn-beijing-h"))).body
    account = emulator.world.default_account
    host = created.endpoint_domain.upper() + ":443"
    assert privatelink.endpoint_by_domain(emulator.world, host) == (account, "Creating", "Pending")
    emulator.advance_clock(DELAY)
    assert privatelink.endpoint_by_domain(emulator.world, created.endpoint_domain) == \
        (account, "Active", "Connected")
    zone_domain = client.list_vpc_endpoint_zones(pl.ListVpcEndpointZonesRequest(
        region_id=BEIJING, endpoint_id=created.endpoint_id)).body.zones[0].zone_domain
    assert privatelink.endpoint_by_domain(emulator.world, zone_domain) == (account, "Active", "Connected")
    assert privatelink.endpoint_by_domain(emulator.world, "dashscope.aliyuncs.com") is None


def test_endpoints_survive_a_save_and_load_of_the_world(client: Client, emulator: Any) -> None:
    created = client.create_vpc_endpoint(create_request()).body
    emulator.advance_clock(DELAY)
    reloaded = World.load(json.loads(json.dumps(emulator.world.dump())))
    assert privatelink.endpoint_by_domain(reloaded, created.endpoint_domain) == \
        (emulator.world.default_account, "Active", "Connected")


# -- rules, against plain records -----------------------------------------------------------------------
def _endpoint(**fields: Any) -> EndpointRecord:
    zone = ZoneRecord(zone_id="z", vswitch_id="v", eni_id="eni", eni_ip="10.0.0.1", added_at=100.0)
    base: dict[str, Any] = {"endpoint_id": "ep-1", "region_id": BEIJING, "vpc_id": VPC_ID,
                            "service_id": "epsrv-1", "service_name": DASHSCOPE, "create_time": "t",
                            "created_at": 100.0, "zones": [zone]}
    return EndpointRecord(**{**base, **fields})


@pytest.mark.parametrize(("now", "expected"), [
    (100.0, ("Creating", "Pending", "Creating")),
    (101.0, ("Creating", "Connecting", "Wait")),
    (102.0, ("Active", "Connected", "Connected")),
])
def test_states_follow_the_clock_and_the_delay(now: float, expected: tuple[str, str, str]) -> None:
    ep, t = _endpoint(), Timing(now=now, delay=2.0)
    assert (privatelink_rules.endpoint_status(ep, t), privatelink_rules.connection_status(ep, t),
            privatelink_rules.zone_status(ep, ep.zones[0], t)) == expected


def test_a_service_that_does_not_auto_accept_leaves_the_connection_pending() -> None:
    ep, t = _endpoint(auto_accept=False), Timing(now=500.0, delay=2.0)
    assert privatelink_rules.connection_status(ep, t) == "Pending"
    assert privatelink_rules.zone_status(ep, ep.zones[0], t) == "Wait"


def test_protected_endpoint_refuses_another_identity() -> None:
    ep = _endpoint(protected=True, creator="deployer")
    t = Timing(now=500.0, delay=2.0)
    privatelink_rules.check_changeable(ep, t, "deployer")
    with pytest.raises(privatelink_rules.CloudError) as caught:
        privatelink_rules.check_changeable(ep, t, "")
    assert caught.value.code == "OperationDenied.EndpointProtected"


def test_paginate_rejects_a_forged_next_token() -> None:
    paging = privatelink_rules.PAGING
    assert paging.page([1, 2, 3], 2, None) == Page([1, 2], 2, 3, "nt-2")
    assert paging.page([1, 2, 3], 2, "nt-2") == Page([3], 2, 3, None)
    with pytest.raises(privatelink_rules.CloudError) as caught:
        paging.page([1, 2, 3], 2, "garbage")
    assert caught.value.code == "IllegalParam.NextToken"

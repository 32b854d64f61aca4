"""The PrivateLink provider against the emulator: validated creates, polling, zone/SG changes, deletes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from alibabacloud_privatelink20200415 import models as pl

from provision.desired.kinds import Kind
from provision.desired.live import Live
from provision.desired.resources import EndpointSpec, Zone
from provision.emulator.seed import default_seed
from provision.emulator.testing import EmulatorHandle, running_emulator
from provision.errors import ProvisionError
from provision.providers.alibaba import Clients, PollPolicy
from provision.providers.alibaba.privatelink import PrivateLinkProvider, client_token

from .conftest import FAST_RETRY, Run

VPC = "vpc-2zedemo0000000001"
ZONE_A = Zone("cn-beijing-a", "vsw-2zedemo00000000a1")
ZONE_H = Zone("cn-beijing-h", "vsw-2zedemo00000000h1")
ZONE_I = Zone("cn-beijing-i", "vsw-2zedemo00000000i1")
SG, SG2 = "sg-2zedemo0000000001", "sg-2zedemo0000000002"
SPEC = EndpointSpec(endpoint="dashscope-bj", region="cn-beijing", vpc_id=VPC, zones=(ZONE_A, ZONE_H),
                    security_group_ids=(SG,), service_name="com.aliyuncs.dashscope")


OTHER_VPC = "vpc-2zeother000000001"
ZONE_H2 = Zone("cn-beijing-h", "vsw-2zedemo00000000h2")  # a second vSwitch in zone h of the same VPC
OTHER_A = Zone("cn-beijing-a", "vsw-2zeother0000000a1")
OTHER_H = Zone("cn-beijing-h", "vsw-2zeother0000000h1")
OTHER_SG = "sg-2zeother000000001"


def _vswitch(zone: Zone, vpc_id: str, cidr: str) -> dict[str, str]:
    return {"vswitch_id": zone.vswitch_id, "vpc_id": vpc_id, "zone_id": zone.zone_id, "cidr_block": cidr}


@pytest.fixture
def emulator() -> Iterator[EmulatorHandle]:
    """The default seed plus a second security group and vSwitch (zone h) in the Beijing VPC, and a
    second Beijing VPC with its own vSwitches (zones a and h) and security group."""
    seed = default_seed(use_env=False)
    extra = {"security_group_id": SG2, "vpc_id": VPC, "name": "extra", "inbound_tcp_ports": [80, 443]}
    other_sg = {"security_group_id": OTHER_SG, "vpc_id": OTHER_VPC, "name": "other"}
    vpc = {"regions": {"cn-beijing": {
        "vpcs": [{"vpc_id": OTHER_VPC, "cidr_block": "10.0.0.0/8", "vpc_name": "other"}],
        "vswitches": [_vswitch(ZONE_H2, VPC, "172.16.4.0/24"), _vswitch(OTHER_A, OTHER_VPC, "10.0.1.0/24"),
                      _vswitch(OTHER_H, OTHER_VPC, "10.0.2.0/24")],
        "security_groups": [extra, other_sg]}}}
    account = seed.accounts[0].model_copy(update={"vpc": vpc})
    with running_emulator(seed=seed.model_copy(update={"accounts": [account, *seed.accounts[1:]]}),
                          async_delay_s=0.05) as handle:
        yield handle


def _spec(live: Live) -> EndpointSpec:
    assert isinstance(live.spec, EndpointSpec)
    return live.spec


def _endpoints(clients: Clients, region: str = "cn-beijing") -> list[Any]:
    request = pl.ListVpcEndpointsRequest(region_id=region)
    return list(clients.privatelink(region).list_vpc_endpoints(request).body.endpoints or [])


def test_create_waits_until_connected_and_reads_back_normalised(run: Run, clients: Clients) -> None:
    message = run.create(SPEC)
    [endpoint] = _endpoints(clients)
    assert message == f"created {SPEC.key} ({endpoint.endpoint_id}, {endpoint.endpoint_domain})"
    live = run.read(Kind.ENDPOINT, SPEC)[SPEC.key]
    assert live.managed and live.cloud_id == endpoint.endpoint_id
    spec = live.spec
    assert isinstance(spec, EndpointSpec)
    assert (spec.zones, spec.security_group_ids) == ((ZONE_A, ZONE_H), (SG,))
    assert (spec.status, spec.connection_status, spec.service_id) == ("Active", "Connected",
                                                                       "epsrv-2zedashscope00001")


def test_zones_in_another_order_are_not_a_difference(run: Run) -> None:
    run.create(SPEC)
    reordered = replace(SPEC, zones=(ZONE_H, ZONE_A))
    assert _spec(run.read(Kind.ENDPOINT, reordered)[SPEC.key]).zones == (ZONE_H, ZONE_A)


def test_a_repeated_create_reuses_the_client_token(run: Run, clients: Clients) -> None:
    run.create(SPEC)
    run.create(SPEC)
    assert len(_endpoints(clients)) == 1
    assert client_token(SPEC) == client_token(replace(SPEC, zones=None))  # identity only
    assert client_token(SPEC) != client_token(replace(SPEC, endpoint="other"))
    assert client_token(SPEC) != client_token(replace(SPEC, service_name=None, service_id="epsrv-x"))


def test_a_vswitch_in_the_wrong_zone_fails_before_any_create(run: Run, emulator: EmulatorHandle) -> None:
    wrong = replace(SPEC, zones=(Zone("cn-beijing-a", ZONE_H.vswitch_id), ZONE_I))
    with pytest.raises(ProvisionError, match="00h1 is in zone cn-beijing-h, not cn-beijing-a as declared"):
        run.create(wrong)
    unknown = replace(SPEC, zones=(Zone("cn-beijing-a", "vsw-nowhere"), ZONE_H))
    with pytest.raises(ProvisionError, match="vsw-nowhere is not in VPC vpc-2zedemo0000000001"):
        run.create(unknown)
    assert "CreateVpcEndpoint" not in emulator.stats()["actions"]


def test_zones_and_security_groups_are_reconciled(run: Run) -> None:
    run.create(SPEC)
    live = run.read(Kind.ENDPOINT, SPEC)[SPEC.key]
    wanted = replace(SPEC, zones=(ZONE_H, ZONE_I), security_group_ids=(SG2,))
    message = run.update(wanted, live)
    assert message == (f"updated {SPEC.key}: added zone cn-beijing-i, removed zone cn-beijing-a, "
                       f"attached {SG2}, detached {SG}")
    after = _spec(run.read(Kind.ENDPOINT, wanted)[SPEC.key])
    assert (after.zones, after.security_group_ids, after.status) == ((ZONE_H, ZONE_I), (SG2,), "Active")
    assert run.update(wanted, run.read(Kind.ENDPOINT, wanted)[SPEC.key]) == f"{SPEC.key} already in sync"


def test_a_bad_vswitch_changes_no_zone_and_keeps_both_working_ones(run: Run,
                                                                    emulator: EmulatorHandle) -> None:
    run.create(SPEC)
    live = run.read(Kind.ENDPOINT, SPEC)[SPEC.key]
    emulator.clear_stats()
    bad = replace(SPEC, zones=(ZONE_A, Zone("cn-beijing-h", "vsw-2zedemo00000000zz")))
    with pytest.raises(ProvisionError, match=r"vSwitch vsw-2zedemo00000000zz is not in VPC "
                                             rf"{VPC} \(it does not exist in region cn-beijing\)"):
        run.update(bad, live)
    assert not {"AddZoneToVpcEndpoint", "RemoveZoneFromVpcEndpoint"} & set(emulator.stats()["actions"])
    assert _spec(run.read(Kind.ENDPOINT, SPEC)[SPEC.key]).zones == (ZONE_A, ZONE_H)


def test_moving_a_zone_to_another_vswitch_never_leaves_fewer_than_two_zones(run: Run,
                                                                           emulator: EmulatorHandle) -> None:
    run.create(SPEC)
    live = run.read(Kind.ENDPOINT, SPEC)[SPEC.key]
    emulator.clear_stats()
    with pytest.raises(ProvisionError, match=f"moving zone cn-beijing-h to vSwitch {ZONE_H2.vswitch_id} "
                                             "would leave 1 zone"):
        run.update(replace(SPEC, zones=(ZONE_A, ZONE_H2)), live)
    assert not {"AddZoneToVpcEndpoint", "RemoveZoneFromVpcEndpoint"} & set(emulator.stats()["actions"])
    wider = replace(SPEC, zones=(ZONE_A, ZONE_H2, ZONE_I))
    assert run.update(wider, live) == (f"updated {SPEC.key}: added zone cn-beijing-i, moved zone "
                                       f"cn-beijing-h to {ZONE_H2.vswitch_id}")
    assert _spec(run.read(Kind.ENDPOINT, wider)[SPEC.key]).zones == (ZONE_A, ZONE_H2, ZONE_I)


def test_validate_names_an_unknown_vpc_and_each_misplaced_vswitch(run: Run) -> None:
    unknown_vpc = replace(SPEC, endpoint="ep-1", vpc_id="vpc-nowhere")
    elsewhere = replace(SPEC, endpoint="ep-2", zones=(ZONE_A, OTHER_H))
    wrong_zone = replace(SPEC, endpoint="ep-3", zones=(ZONE_A, Zone("cn-beijing-i", ZONE_H.vswitch_id)))
    problems = run.validate(Kind.ENDPOINT, unknown_vpc, elsewhere, wrong_zone, SPEC)
    assert [(p.key, p.field, p.value, p.message) for p in problems] == [
        ("privatelink.endpoint/ep-1", "vpc_id", "vpc-nowhere",
         "VPC vpc-nowhere does not exist in region cn-beijing"),
        ("privatelink.endpoint/ep-2", "zones", OTHER_H.vswitch_id,
         f"vSwitch {OTHER_H.vswitch_id} is not in VPC {VPC} (it is in VPC {OTHER_VPC})"),
        ("privatelink.endpoint/ep-3", "zones", ZONE_H.vswitch_id,
         f"vSwitch {ZONE_H.vswitch_id} is in zone cn-beijing-h, not cn-beijing-i as declared"),
    ]


def test_an_endpoint_moved_to_another_vpc_is_refused_not_duplicated(run: Run, clients: Clients) -> None:
    run.create(SPEC)
    [endpoint] = _endpoints(clients)
    moved = replace(SPEC, vpc_id=OTHER_VPC, zones=(OTHER_A, OTHER_H), security_group_ids=(OTHER_SG,))
    message = (f"managed endpoint {endpoint.endpoint_id} is in VPC {VPC}, the manifest now declares "
               f"{OTHER_VPC}; a VPC cannot change: declare the old one state: absent (with --allow-destroy) "
               "and the new one under a new name")
    assert [(p.key, p.field, p.message) for p in run.validate(Kind.ENDPOINT, moved)] == [
        (SPEC.key, "vpc_id", message)]
    live = run.read(Kind.ENDPOINT, moved)[SPEC.key]
    assert live.managed and _spec(live).vpc_id == VPC
    with pytest.raises(ProvisionError, match=re.escape(message)):
        run.update(moved, live)
    assert [e.endpoint_id for e in _endpoints(clients)] == [endpoint.endpoint_id]
    assert run.read(Kind.ENDPOINT, absent=(SPEC,))[SPEC.key].cloud_id == endpoint.endpoint_id


def test_delete_removes_zones_then_the_endpoint(run: Run, clients: Clients) -> None:
    run.create(SPEC)
    live = run.read(Kind.ENDPOINT, absent=(SPEC,))[SPEC.key]
    assert run.delete(live) == (f"deleted {SPEC.key} (removed remove zone cn-beijing-a; remove zone "
                                f"cn-beijing-h) ({live.cloud_id})")
    assert _endpoints(clients) == []
    assert run.delete(live) == f"{SPEC.key} already absent"
    run.create(SPEC)  # the same ClientToken after a delete makes a new endpoint
    assert len(_endpoints(clients)) == 1


def test_finance_endpoints_are_matched_by_service_id(run: Run, clients: Clients) -> None:
    finance = EndpointSpec(endpoint="dashscope-fin", region="cn-shanghai-finance-1",
                           vpc_id="vpc-fin0demo000000001",
                           zones=(Zone("cn-shanghai-finance-1f", "vsw-fin0demo00000000f1"),
                                  Zone("cn-shanghai-finance-1g", "vsw-fin0demo00000000g1")),
                           security_group_ids=("sg-fin0demo000000001",),
                           service_id="epsrv-fin0dashscope00001")
    run.create(finance)
    assert finance.key in run.read(Kind.ENDPOINT, finance)
    other_service = replace(finance, service_id="epsrv-someone-else")
    assert finance.key not in run.read(Kind.ENDPOINT, other_service)


def test_an_untagged_endpoint_is_unmanaged_until_adopted(run: Run, clients: Clients) -> None:
    request = pl.CreateVpcEndpointRequest(
        region_id="cn-beijing", vpc_id=VPC, endpoint_name=SPEC.endpoint, service_name=SPEC.service_name,
        endpoint_type="Interface", security_group_id=[SG], zone_private_ip_address_count=1,
        zone=[pl.CreateVpcEndpointRequestZone(zone_id=z.zone_id, v_switch_id=z.vswitch_id)
              for z in SPEC.zones or ()])
    clients.privatelink("cn-beijing").create_vpc_endpoint(request)
    live = run.read(Kind.ENDPOINT, SPEC)[SPEC.key]
    assert not live.managed and _spec(live).zones is None
    adopted = run.read(Kind.ENDPOINT, SPEC, adopt=frozenset({SPEC.key}))[SPEC.key]
    assert _spec(adopted).zones == (ZONE_A, ZONE_H)
    with pytest.raises(ProvisionError, match="vsw-nowhere"):  # checked before the adoption tag is written
        run.update(replace(SPEC, zones=(ZONE_A, Zone("cn-beijing-i", "vsw-nowhere"))), adopted)
    assert not run.read(Kind.ENDPOINT, SPEC)[SPEC.key].managed
    assert run.update(SPEC, adopted) == f"updated {SPEC.key}: adopted"
    assert run.read(Kind.ENDPOINT, SPEC)[SPEC.key].managed


def test_polling_gives_up_with_a_clear_message(clients: Clients) -> None:
    impatient = Clients(clients.target, retry=FAST_RETRY, poll=PollPolicy(interval_s=0.01, timeout_s=0.0))
    with pytest.raises(ProvisionError, match=r"not Active and Connected after 0s \(last seen: Creating/"):
        Run({Kind.ENDPOINT: PrivateLinkProvider(impatient)}).create(SPEC)
    run_again = Run({Kind.ENDPOINT: PrivateLinkProvider(clients)})
    run_again.create(SPEC)  # a re-run resumes: the ClientToken finds the endpoint being created
    assert len(_endpoints(clients)) == 1


def test_an_endpoint_delete_runs_the_steps_its_plan_listed(run: Run, emulator: EmulatorHandle) -> None:
    spec = replace(SPEC, security_group_ids=(SG, SG2))
    run.create(spec)
    live = run.read(Kind.ENDPOINT, absent=(spec,))[SPEC.key]
    assert live.cascade == ("remove zone cn-beijing-a", "remove zone cn-beijing-h",
                            f"delete endpoint {live.cloud_id} (releases security groups {SG}, {SG2})")
    emulator.clear_stats()
    run.delete(live)
    mutations = [e["action"] for e in emulator.stats()["recent"]
                 if e["action"].startswith(("Delete", "Detach", "Remove"))]
    assert mutations == ["RemoveZoneFromVpcEndpoint", "RemoveZoneFromVpcEndpoint", "DeleteVpcEndpoint"]


def test_an_endpoint_delete_refuses_when_its_security_groups_changed(run: Run, clients: Clients) -> None:
    run.create(SPEC)
    live = run.read(Kind.ENDPOINT, absent=(SPEC,))[SPEC.key]
    clients.privatelink("cn-beijing").attach_security_group_to_vpc_endpoint(
        pl.AttachSecurityGroupToVpcEndpointRequest(region_id="cn-beijing", endpoint_id=live.cloud_id,
                                                   security_group_id=SG2))
    with pytest.raises(ProvisionError, match="the account changed since the plan.*re-run plan"):
        run.delete(live)
    assert len(_endpoints(clients)) == 1

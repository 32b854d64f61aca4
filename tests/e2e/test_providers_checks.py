"""Plan checks declared ids against the account, and endpoint changes never break a working endpoint.

Unknown models, VPCs and vSwitches stop the plan with file:line before any change; a failed zone change
leaves both working zones; a VPC change is refused with what to do, never orphaning or duplicating the
endpoint. The official SDKs against the emulator, driven through the CLI.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from alibabacloud_privatelink20200415.client import Client as PrivateLinkClient
from alibabacloud_privatelink20200415.models import ListVpcEndpointsRequest, ListVpcEndpointZonesRequest

from provision.clock import now
from provision.emulator.seed import Seed, default_seed

if TYPE_CHECKING:
    from tests.e2e.conftest import Cli, Result

pytestmark = pytest.mark.e2e

VPC, OTHER_VPC = "vpc-2zedemo0000000001", "vpc-2zeother000000001"
GOOD_ZONES = [("cn-beijing-a", "vsw-2zedemo00000000a1"), ("cn-beijing-h", "vsw-2zedemo00000000h1")]
HTTPS_ONLY_SG, NARROW_SG = "sg-2zedemohttps0001", "sg-2zedemonarrow001"
OTHER_ZONES = [("cn-beijing-a", "vsw-2zeother0000000a1"), ("cn-beijing-h", "vsw-2zeother0000000h1")]

MODELS = """version: 1
name: checks
cloud: {site: public, region: cn-beijing}
workspaces:
  - name: ws-checks
    models:
      - qwen-plus
      - qwen-ultra-9000
    api_keys:
      - name: main
        allowed_models: [qwen-plus, qwen-ultra-9000]
"""


def endpoint_manifest(cli: Cli, vpc: str = VPC, zones: list[tuple[str, str]] = GOOD_ZONES,
                      sg: str = "sg-2zedemo0000000001", name: str = "dashscope-bj", extra: str = "") -> Path:
    listed = "\n".join(f"      - {{zone_id: {z}, vswitch_id: {v}}}" for z, v in zones)
    return cli.manifest("endpoint.yaml", f"""version: 1
name: checks
cloud: {{site: public, region: cn-beijing}}
endpoints:
  - name: {name}
    vpc_id: {vpc}
    zones:
{listed}
    security_group_ids: [{sg}]
    service_name: com.aliyuncs.dashscope
{extra}""")


@pytest.fixture
def emulator_seed() -> Seed:
    """The default seed plus a second Beijing VPC with vSwitches in zones a and h and a security group."""
    seed = default_seed(use_env=False)
    vswitches = [{"vswitch_id": v, "vpc_id": OTHER_VPC, "zone_id": z, "cidr_block": f"10.0.{i}.0/24"}
                 for i, (z, v) in enumerate(OTHER_ZONES, start=1)]
    vpc = {"regions": {"cn-beijing": {
        "vpcs": [{"vpc_id": OTHER_VPC, "cidr_block": "10.0.0.0/8", "vpc_name": "other"}],
        "vswitches": vswitches,
        "security_groups": [{"security_group_id": "sg-2zeother000000001", "vpc_id": OTHER_VPC},
                            {"security_group_id": HTTPS_ONLY_SG, "vpc_id": VPC,
                             "inbound_tcp_ports": [443]},
                            {"security_group_id": NARROW_SG, "vpc_id": VPC,
                             "source_cidr": "172.16.1.0/24"}]}}}
    account = seed.accounts[0].model_copy(update={"vpc": vpc})
    return seed.model_copy(update={"clock_start": now(), "accounts": [account, *seed.accounts[1:]]})


def endpoints(cli: Cli) -> list[Any]:
    client = PrivateLinkClient(cli.cloud.sdk_config(region="cn-beijing"))
    listed = client.list_vpc_endpoints(ListVpcEndpointsRequest(region_id="cn-beijing")).body.endpoints
    return list(listed or [])


def zones(cli: Cli, endpoint_id: str) -> list[tuple[str, str]]:
    client = PrivateLinkClient(cli.cloud.sdk_config(region="cn-beijing"))
    listed = client.list_vpc_endpoint_zones(ListVpcEndpointZonesRequest(region_id="cn-beijing",
                                                                        endpoint_id=endpoint_id)).body.zones
    return sorted((z.zone_id, z.v_switch_id) for z in listed or [])


def changes_made(cli: Cli) -> list[str]:
    """Actions the emulator saw that change something (every change call starts with one of these)."""
    verbs = ("Create", "Update", "Delete", "Add", "Remove", "Attach", "Detach", "Tag", "Reset")
    return [a for a in cli.cloud.stats()["actions"] if a.startswith(verbs)]


def output(result: Result) -> str:
    return result.stdout + result.stderr


def test_plan_stops_on_unknown_models_naming_each_manifest_line(cli: Cli) -> None:
    manifest = cli.manifest("models.yaml", MODELS)

    planned = cli("plan", "-m", manifest)
    applied = cli("apply", "-m", manifest, "--auto-approve")

    assert planned.exit_code == 1 and applied.exit_code == 1
    text = output(planned)
    assert "2 problem(s) found against the account, nothing was changed" in text
    assert (f"{manifest}:8: modelstudio.grant/ws-checks/qwen-ultra-9000: model qwen-ultra-9000 is not in the "
            "Model Studio catalog (ListModels): check its id (workspaces[0].models[1])") in text
    assert (f"{manifest}:11: modelstudio.api_key/ws-checks/main: model qwen-ultra-9000 is not in the Model "
            "Studio catalog (ListModels): check its id (workspaces[0].api_keys[0].allowed_models[1])") in text
    assert "Traceback" not in text and changes_made(cli) == []


def test_plan_stops_on_a_vswitch_or_vpc_the_account_does_not_have(cli: Cli) -> None:
    bad_vswitch = endpoint_manifest(cli, zones=[GOOD_ZONES[0], ("cn-beijing-h", "vsw-2zedemo00000000zz")])
    text = output(cli("plan", "-m", bad_vswitch))
    assert (f"{bad_vswitch}:9: privatelink.endpoint/dashscope-bj: vSwitch vsw-2zedemo00000000zz is not in "
            f"VPC {VPC} (it does not exist in region cn-beijing) (endpoints[0].zones[1].vswitch_id)") in text

    elsewhere = endpoint_manifest(cli, zones=[GOOD_ZONES[0], OTHER_ZONES[1]])
    assert f"is not in VPC {VPC} (it is in VPC {OTHER_VPC})" in output(cli("plan", "-m", elsewhere))

    bad_vpc = endpoint_manifest(cli, vpc="vpc-doesnotexist01")
    planned = cli("plan", "-m", bad_vpc)
    assert planned.exit_code == 1
    assert (f"{bad_vpc}:6: privatelink.endpoint/dashscope-bj: VPC vpc-doesnotexist01 does not exist in "
            "region cn-beijing (endpoints[0].vpc_id)") in output(planned)
    assert changes_made(cli) == []


def test_plan_stops_on_a_security_group_that_does_not_open_80_and_443_to_the_vpc(cli: Cli) -> None:
    """bailian-privatelink-endpoint: the endpoint's security group must allow inbound TCP 80 and 443."""
    cases = {HTTPS_ONLY_SG: f"security group {HTTPS_ONLY_SG} does not allow inbound TCP 80 from the VPC's "
                            "range 172.16.0.0/12",
             NARROW_SG: f"security group {NARROW_SG} does not allow inbound TCP 80 and 443 from the VPC's "
                        "range 172.16.0.0/12",
             "sg-2zeother000000001": f"security group sg-2zeother000000001 is in VPC {OTHER_VPC}, not in the "
                                     f"endpoint's VPC {VPC}",
             "sg-2zenowhere000001": "security group sg-2zenowhere000001 does not exist in region cn-beijing"}
    for group, message in cases.items():
        manifest = endpoint_manifest(cli, sg=group)
        planned = cli("plan", "-m", manifest)
        assert planned.exit_code == 1
        assert (f"{manifest}:10: privatelink.endpoint/dashscope-bj: {message}") in output(planned)
        assert "(endpoints[0].security_group_ids[0])" in output(planned)
    assert cli("plan", "-m", endpoint_manifest(cli)).exit_code == 0  # the seeded group opens both ports
    assert "DescribeSecurityGroupAttribute" in cli.cloud.stats()["actions"] and changes_made(cli) == []


def test_a_revocation_only_plan_is_not_held_up_by_a_bad_id(cli: Cli) -> None:
    manifest = cli.manifest("models.yaml", MODELS)
    planned = cli("plan", "-m", manifest, "--only-expired")
    assert planned.exit_code == 0, output(planned)


def test_a_bad_vswitch_fails_before_any_zone_change_and_both_zones_keep_working(cli: Cli) -> None:
    good = endpoint_manifest(cli)
    assert cli("apply", "-m", good, "--auto-approve").exit_code == 0
    [endpoint] = endpoints(cli)
    cli.cloud.clear_stats()

    bad = endpoint_manifest(cli, zones=[GOOD_ZONES[0], ("cn-beijing-h", "vsw-2zedemo00000000zz")])
    applied = cli("apply", "-m", bad, "--auto-approve")

    assert applied.exit_code == 1
    assert "vSwitch vsw-2zedemo00000000zz is not in VPC" in output(applied) and changes_made(cli) == []
    assert zones(cli, endpoint.endpoint_id) == GOOD_ZONES
    again = cli("plan", "-m", endpoint_manifest(cli), "--detailed-exitcode")
    assert again.exit_code == 0 and "Drift" not in again.stdout, output(again)


def test_a_new_zone_is_added_before_the_old_one_is_removed(cli: Cli) -> None:
    assert cli("apply", "-m", endpoint_manifest(cli), "--auto-approve").exit_code == 0
    moved = endpoint_manifest(cli, zones=[GOOD_ZONES[1], ("cn-beijing-i", "vsw-2zedemo00000000i1")])

    applied = cli("apply", "-m", moved, "--auto-approve")

    assert applied.exit_code == 0, output(applied)
    assert "added zone cn-beijing-i, removed zone cn-beijing-a" in output(applied)
    [endpoint] = endpoints(cli)
    assert zones(cli, endpoint.endpoint_id) == [GOOD_ZONES[1], ("cn-beijing-i", "vsw-2zedemo00000000i1")]


def test_changing_the_vpc_is_refused_with_what_to_do_and_nothing_is_orphaned(cli: Cli) -> None:
    assert cli("apply", "-m", endpoint_manifest(cli), "--auto-approve").exit_code == 0
    [old] = endpoints(cli)
    moved_vpc = endpoint_manifest(cli, vpc=OTHER_VPC, zones=OTHER_ZONES, sg="sg-2zeother000000001")

    planned = cli("plan", "-m", moved_vpc)
    applied = cli("apply", "-m", moved_vpc, "--auto-approve")

    assert planned.exit_code == 1 and applied.exit_code == 1
    assert (f"privatelink.endpoint/dashscope-bj: managed endpoint {old.endpoint_id} is in VPC {VPC}, the "
            f"manifest now declares {OTHER_VPC}; a VPC cannot change: declare the old one state: absent "
            "(with --allow-destroy) and the new one under a new name") in output(planned)
    assert [e.endpoint_id for e in endpoints(cli)] == [old.endpoint_id]

    retire_old = f"""  - name: dashscope-bj
    vpc_id: {VPC}
    zones: [{{zone_id: cn-beijing-a, vswitch_id: vsw-2zedemo00000000a1}},
            {{zone_id: cn-beijing-h, vswitch_id: vsw-2zedemo00000000h1}}]
    security_group_ids: [sg-2zedemo0000000001]
    service_name: com.aliyuncs.dashscope
    state: absent
"""
    advised = endpoint_manifest(cli, vpc=OTHER_VPC, zones=OTHER_ZONES, sg="sg-2zeother000000001",
                                name="dashscope-bj2", extra=retire_old)
    moved = cli("apply", "-m", advised, "--auto-approve", "--allow-destroy")
    assert moved.exit_code == 0, output(moved)
    assert [(e.endpoint_name, e.vpc_id) for e in endpoints(cli)] == [("dashscope-bj2", OTHER_VPC)]

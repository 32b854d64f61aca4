"""VPCEP endpoints to the MaaS endpoint services (status machine, limits, paging) and Organizations SCPs
(attach to the account, a g:SourceVpce deny enforced on Pangu calls), through the official SDKs."""

from __future__ import annotations

import json

import pytest
from huaweicloudsdkiam.v5 import ListUsersV5Request
from huaweicloudsdkorganizations.v1 import (
    AttachPolicyRequest,
    CreatePolicyReqBody,
    CreatePolicyRequest,
    DeletePolicyRequest,
    DetachPolicyRequest,
    EnablePolicyTypeRequest,
    ListEntitiesForPolicyRequest,
    ListPoliciesRequest,
    ListRootsRequest,
    PolicyTachReqBody,
    PolicyTypeReqBody,
    ShowOrganizationRequest,
)
from huaweicloudsdkvpcep.v1 import (
    CreateEndpointRequest,
    CreateEndpointRequestBody,
    DeleteEndpointRequest,
    ListEndpointInfoDetailsRequest,
    ListEndpointsRequest,
    ListServiceDescribeDetailsRequest,
    TagList,
)

from provision.emulator.huawei.seed import MAAS_SERVICES, VPCS
from provision.emulator.huawei.testing import HuaweiClients
from provision.emulator.testing import EmulatorHandle
from tests.emulator.huawei.conftest import sdk_error

SERVICE, OTHER_SERVICE = MAAS_SERVICES[0].id, MAAS_SERVICES[1].id
VPC = VPCS[0]
SUBNET = VPC.subnets[0].id
DEPLOYMENT = "5d1e7a3c-0000-4000-8000-0000000d0001"


def _endpoint(hw: HuaweiClients, service: str = SERVICE, subnet: str = SUBNET, **extra: object) -> str:
    body = CreateEndpointRequestBody(
        endpoint_service_id=service,
        vpc_id=VPC.id,
        subnet_id=subnet,
        enable_dns=True,
        tags=[TagList(key="managed-by", value="provision")],
        **extra,
    )
    return str(hw.vpcep().create_endpoint(CreateEndpointRequest(body=body)).id)


def _status(hw: HuaweiClients, endpoint_id: str) -> str:
    return str(
        hw.vpcep()
        .list_endpoint_info_details(ListEndpointInfoDetailsRequest(vpc_endpoint_id=endpoint_id))
        .status
    )


def test_endpoints_go_creating_then_accepted_and_deleting_then_gone(
    emulator: EmulatorHandle, hw: HuaweiClients
) -> None:
    emulator.world.settings["async_delay_s"] = 30
    endpoint_id = _endpoint(hw)
    shown = hw.vpcep().list_endpoint_info_details(ListEndpointInfoDetailsRequest(vpc_endpoint_id=endpoint_id))
    assert (shown.status, shown.endpoint_service_id, shown.vpc_id) == ("creating", SERVICE, VPC.id)
    assert shown.ip == "192.168.1.10" and shown.dns_names == [
        f"{endpoint_id}.vpcep.cn-southwest-2.huaweicloud.com"
    ]
    early = sdk_error(lambda: hw.vpcep().delete_endpoint(DeleteEndpointRequest(vpc_endpoint_id=endpoint_id)))
    assert early.status_code == 400
    emulator.advance_clock(31)
    assert _status(hw, endpoint_id) == "accepted"
    hw.vpcep().delete_endpoint(DeleteEndpointRequest(vpc_endpoint_id=endpoint_id))
    assert _status(hw, endpoint_id) == "deleting"
    emulator.advance_clock(31)
    gone = sdk_error(lambda: _status(hw, endpoint_id))
    assert (gone.status_code, gone.error_code) == (404, "EndPoint.0005")


def test_endpoint_validation_duplicates_and_quota(emulator: EmulatorHandle, hw: HuaweiClients) -> None:
    _endpoint(hw)
    duplicate = sdk_error(lambda: _endpoint(hw))
    assert (duplicate.status_code, duplicate.error_code) == (409, "EndPoint.0012")
    assert sdk_error(lambda: _endpoint(hw, service="nope")).error_code == "EndPoint.1003"
    assert sdk_error(lambda: _endpoint(hw, OTHER_SERVICE, subnet="nope")).error_code == "EndPoint.0023"
    too_many_tags = [TagList(key=f"k{i}", value="v") for i in range(11)]
    assert (
        sdk_error(
            lambda: hw.vpcep().create_endpoint(
                CreateEndpointRequest(
                    body=CreateEndpointRequestBody(
                        endpoint_service_id=OTHER_SERVICE, vpc_id=VPC.id, subnet_id=SUBNET, tags=too_many_tags
                    )
                )
            )
        ).status_code
        == 400
    )
    emulator.world.settings["async_delay_s"] = 0
    described = hw.vpcep().list_service_describe_details(ListServiceDescribeDetailsRequest(id=OTHER_SERVICE))
    assert described.service_name == MAAS_SERVICES[1].service_name


def test_endpoints_page_with_limit_and_offset(emulator: EmulatorHandle, hw: HuaweiClients) -> None:
    from provision.emulator.huawei.state import Subnet, Vpc, hw_state

    state = hw_state(emulator.world, emulator.account_id)
    state.endpoint_services += [
        MAAS_SERVICES[0].model_copy(update={"id": f"svc-{i}", "service_name": f"s{i}"}) for i in range(3)
    ]
    state.vpcs.append(
        Vpc(id="vpc-2", name="v2", cidr="10.0.0.0/16", subnets=[Subnet(id="sn", cidr="10.0.1.0/24")])
    )
    made = [_endpoint(hw, f"svc-{i}") for i in range(3)]
    first = hw.vpcep().list_endpoints(ListEndpointsRequest(limit=2, offset=0, sort_dir="asc"))
    second = hw.vpcep().list_endpoints(ListEndpointsRequest(limit=2, offset=2, sort_dir="asc"))
    assert first.total_count == 3 and [e.id for e in first.endpoints + second.endpoints] == made
    bad = sdk_error(lambda: hw.vpcep().list_endpoints(ListEndpointsRequest(limit=1001)))
    assert (bad.status_code, bad.error_code) == (400, "EndPoint.0006")
    by_name = hw.vpcep().list_endpoints(ListEndpointsRequest(endpoint_service_name="S1"))
    assert [e.id for e in by_name.endpoints] == [made[1]]


# -- Organizations --------------------------------------------------------------------------------------
DENY_OUTSIDE_VPCE = {
    "Version": "5.0",
    "Statement": [
        {
            "Effect": "Deny",
            "Action": ["pangu:*", "modelarts:*"],
            "Condition": {"StringNotEquals": {"g:SourceVpce": ["{vpce}"]}},
        }
    ],
}


def _enable(hw: HuaweiClients) -> str:
    orgs = hw.organizations()
    root = orgs.list_roots(ListRootsRequest()).roots[0]
    orgs.enable_policy_type(
        EnablePolicyTypeRequest(body=PolicyTypeReqBody(policy_type="service_control_policy", root_id=root.id))
    )
    return str(root.id)


def _scp(hw: HuaweiClients, name: str, document: dict[str, object]) -> str:
    body = CreatePolicyReqBody(
        name=name, description="guardrail", type="service_control_policy", content=json.dumps(document)
    )
    return str(hw.organizations().create_policy(CreatePolicyRequest(body=body)).policy.policy_summary.id)


def test_scps_attach_to_the_account_with_duplicate_and_not_found_paths(hw: HuaweiClients) -> None:
    orgs = hw.organizations()
    assert (
        orgs.show_organization(ShowOrganizationRequest()).organization.management_account_id == hw.domain_id
    )
    policy_id = _scp(
        hw, "deny-all-iam", {"Version": "5.0", "Statement": [{"Effect": "Deny", "Action": ["iam:*"]}]}
    )
    not_enabled = sdk_error(
        lambda: orgs.attach_policy(
            AttachPolicyRequest(policy_id=policy_id, body=PolicyTachReqBody(entity_id=hw.domain_id))
        )
    )
    assert not_enabled.status_code == 400 and "enable_policy_type" in not_enabled.error_msg
    _enable(hw)
    orgs.attach_policy(
        AttachPolicyRequest(policy_id=policy_id, body=PolicyTachReqBody(entity_id=hw.domain_id))
    )
    again = sdk_error(
        lambda: orgs.attach_policy(
            AttachPolicyRequest(policy_id=policy_id, body=PolicyTachReqBody(entity_id=hw.domain_id))
        )
    )
    assert (again.status_code, again.error_code) == (409, "Organizations.1009")
    entities = orgs.list_entities_for_policy(
        ListEntitiesForPolicyRequest(policy_id=policy_id)
    ).attached_entities
    assert [(e.id, e.type) for e in entities] == [(hw.domain_id, "account")]
    attached = orgs.list_policies(ListPoliciesRequest(attached_entity_id=hw.domain_id)).policies
    assert [p.name for p in attached] == ["deny-all-iam"]
    denied = sdk_error(lambda: hw.iam().list_users_v5(ListUsersV5Request()))
    assert (denied.status_code, denied.error_code) == (403, "Organizations.SCPDenied")
    busy = sdk_error(lambda: orgs.delete_policy(DeletePolicyRequest(policy_id=policy_id)))
    assert busy.status_code == 409
    orgs.detach_policy(
        DetachPolicyRequest(policy_id=policy_id, body=PolicyTachReqBody(entity_id=hw.domain_id))
    )
    assert (
        sdk_error(
            lambda: orgs.detach_policy(
                DetachPolicyRequest(policy_id=policy_id, body=PolicyTachReqBody(entity_id=hw.domain_id))
            )
        ).status_code
        == 404
    )
    orgs.delete_policy(DeletePolicyRequest(policy_id=policy_id))
    duplicate_name = _scp(hw, "same", {"Version": "5.0", "Statement": [{"Effect": "Allow", "Action": ["*"]}]})
    assert duplicate_name
    assert (
        sdk_error(
            lambda: _scp(hw, "same", {"Version": "5.0", "Statement": [{"Effect": "Allow", "Action": ["*"]}]})
        ).status_code
        == 409
    )
    assert sdk_error(lambda: _scp(hw, "malformed", {"Statement": []})).status_code == 400


@pytest.mark.parametrize("through_endpoint", [True, False])
def test_a_source_vpce_scp_denies_pangu_calls_not_made_through_the_endpoint(
    emulator: EmulatorHandle, hw: HuaweiClients, through_endpoint: bool
) -> None:
    emulator.world.settings["async_delay_s"] = 0
    endpoint_id = _endpoint(hw)
    policy_id = _scp(
        hw, "pangu-via-vpce", json.loads(json.dumps(DENY_OUTSIDE_VPCE).replace("{vpce}", endpoint_id))
    )
    hw.organizations().attach_policy(
        AttachPolicyRequest(policy_id=policy_id, body=PolicyTachReqBody(entity_id=_enable(hw)))
    )
    host = f"{endpoint_id}.vpcep.cn-southwest-2.huaweicloud.com" if through_endpoint else None
    answer = hw.signed(
        "POST",
        f"/v1/{hw.project_id}/deployments/{DEPLOYMENT}/chat/completions",
        {"messages": [{"role": "user", "content": "ping"}]},
        host=host,
    )
    if through_endpoint:
        assert answer.status_code == 200 and answer.json()["choices"][0]["message"]["content"] == "pong"
    else:
        assert answer.status_code == 403 and answer.json()["error_code"] == "Organizations.SCPDenied"
        assert hw.signed("GET", "/v5/users").status_code == 200  # IAM is not covered by the SCP


def test_an_unknown_or_unready_endpoint_domain_is_refused(
    emulator: EmulatorHandle, hw: HuaweiClients
) -> None:
    emulator.world.settings["async_delay_s"] = 60
    endpoint_id = _endpoint(hw)
    path = f"/v1/{hw.project_id}/deployments/{DEPLOYMENT}/chat/completions"
    body = {"messages": [{"role": "user", "content": "ping"}]}
    unready = hw.signed("POST", path, body, host=f"{endpoint_id}.vpcep.cn-southwest-2.huaweicloud.com")
    assert (unready.status_code, unready.json()["error_code"]) == (503, "EndpointNotReady")
    unknown = hw.signed("POST", path, body, host="nope.vpcep.cn-southwest-2.huaweicloud.com")
    assert (unknown.status_code, unknown.json()["error_code"]) == (404, "EndpointNotFound")

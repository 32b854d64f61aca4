"""Every 2xx body of every emulated action uses only fields the official SDK's response model knows.

One scenario calls every action through the SDKs against an emulator whose handlers record what they
answer; each recorded body then goes through ``<Action>ResponseBody().from_map(body).to_map()``, and a
field that does not survive (misspelt, mis-cased, invented) is a defect. A new action without a call
here fails ``test_every_action_is_exercised``: add one to ``_scenario``.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import json
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from alibabacloud_bailian20231229 import models as bl
from alibabacloud_bailian20231229.client import Client as BailianClient
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_ecs20140526.client import Client as EcsClient
from alibabacloud_modelstudio20260210 import models as ms
from alibabacloud_modelstudio20260210.client import Client as ModelStudioClient
from alibabacloud_privatelink20200415 import models as pl
from alibabacloud_privatelink20200415.client import Client as PrivateLinkClient
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_vpc20160428 import models as vpc_models
from alibabacloud_vpc20160428.client import Client as VpcClient

from provision.emulator.alibaba import SERVICES
from provision.emulator.seed import default_seed
from provision.emulator.testing import EmulatorHandle, running_emulator
from provision.emulator.wire import Body, Ctx, Handler, Request, Service

SDK_MODELS = {  # API version → the official SDK's models module
    "2015-05-01": "alibabacloud_ram20150501.models",
    "2015-04-01": "alibabacloud_sts20150401.models",
    "2026-02-10": "alibabacloud_modelstudio20260210.models",
    "2023-12-29": "alibabacloud_bailian20231229.models",
    "2020-04-15": "alibabacloud_privatelink20200415.models",
    "2016-04-28": "alibabacloud_vpc20160428.models",
    "2014-05-26": "alibabacloud_ecs20140526.models",
}
Recorded = dict[tuple[str, str], list[Body]]


def dropped(sent: Any, kept: Any, path: str = "") -> list[str]:
    """The paths of ``sent`` that ``kept`` (the model's ``to_map``) lost or changed."""
    if isinstance(sent, dict):
        if not isinstance(kept, dict):
            return [path or "."]
        lost: list[str] = []
        for name, value in sent.items():
            if value is None:
                continue  # the models leave None out of to_map; a null says nothing either way
            where = f"{path}.{name}" if path else name
            lost += [where] if name not in kept else dropped(value, kept[name], where)
        return lost
    if isinstance(sent, list):
        if not isinstance(kept, list) or len(kept) != len(sent):
            return [path]
        return [p for i, item in enumerate(sent) for p in dropped(item, kept[i], f"{path}[{i}]")]
    return [] if sent == kept else [f"{path} ({sent!r} → {kept!r})"]


def model_losses(version: str, action: str, body: Body) -> list[str]:
    """What ``body`` loses through the SDK's ``<Action>ResponseBody`` model."""
    model = getattr(importlib.import_module(SDK_MODELS[version]), f"{action}ResponseBody")
    return dropped(body, model().from_map(copy.deepcopy(body)).to_map())


def test_dropped_sees_an_invented_a_miscased_and_a_nested_field() -> None:
    assert model_losses("2015-05-01", "GetUser", {"User": {"UserName": "a", "userId": "1"}, "Extra": 1}) \
        == ["User.userId", "Extra"]
    assert model_losses("2015-05-01", "GetUser", {"User": {"UserName": "a", "UserId": "1"}}) == []


def _recording(services: Sequence[Service], recorded: Recorded) -> tuple[Service, ...]:
    def wrap(version: str, action: str, handler: Handler) -> Handler:
        def record(ctx: Ctx, request: Request) -> Body:
            body = handler(ctx, request)
            recorded.setdefault((version, action), []).append(json.loads(json.dumps(body)))
            return body
        return record

    return tuple(dataclasses.replace(service, routes=tuple(
        dataclasses.replace(route, handler=wrap(route.version, route.action, route.handler))
        for route in service.routes)) for service in services)


def _ram(c: RamClient) -> None:
    m = ram_models
    c.create_user(m.CreateUserRequest(user_name="alice", display_name="Alice", email="a@example.com",
                                      mobile_phone="86-18600000000", comments="c"))
    c.get_user(m.GetUserRequest(user_name="alice"))
    c.create_user(m.CreateUserRequest(user_name="bob"))
    c.list_users(m.ListUsersRequest(max_items=1))
    c.update_user(m.UpdateUserRequest(user_name="bob", new_display_name="Bob", new_comments="x"))
    c.create_login_profile(m.CreateLoginProfileRequest(user_name="alice", password="Passw0rd-x",
                                                       password_reset_required=True, mfabind_required=False))
    c.get_login_profile(m.GetLoginProfileRequest(user_name="alice"))
    c.update_login_profile(m.UpdateLoginProfileRequest(user_name="alice", password_reset_required=False))
    c.delete_login_profile(m.DeleteLoginProfileRequest(user_name="alice"))
    c.get_password_policy()
    key = c.create_access_key(m.CreateAccessKeyRequest(user_name="alice")).body.access_key
    StsClient(_config_for(key.access_key_id, key.access_key_secret)).get_caller_identity()
    c.list_access_keys(m.ListAccessKeysRequest(user_name="alice"))
    c.get_access_key_last_used(m.GetAccessKeyLastUsedRequest(user_name="alice",
                                                             user_access_key_id=key.access_key_id))
    c.update_access_key(m.UpdateAccessKeyRequest(user_name="alice", user_access_key_id=key.access_key_id,
                                                 status="Inactive"))
    c.delete_access_key(m.DeleteAccessKeyRequest(user_name="alice", user_access_key_id=key.access_key_id))
    c.create_group(m.CreateGroupRequest(group_name="devs", comments="developers"))
    c.get_group(m.GetGroupRequest(group_name="devs"))
    c.list_groups(m.ListGroupsRequest(max_items=10))
    c.add_user_to_group(m.AddUserToGroupRequest(group_name="devs", user_name="alice"))
    c.list_groups_for_user(m.ListGroupsForUserRequest(user_name="alice"))
    c.list_users_for_group(m.ListUsersForGroupRequest(group_name="devs"))
    doc = json.dumps({"Version": "1",
                      "Statement": [{"Effect": "Allow", "Action": "ram:Get*", "Resource": "*"}]})
    c.create_policy(m.CreatePolicyRequest(policy_name="team-read", policy_document=doc, description="d",
                                          tag=[m.CreatePolicyRequestTag(key="team", value="a")]))
    c.get_policy(m.GetPolicyRequest(policy_type="Custom", policy_name="team-read"))
    c.get_policy(m.GetPolicyRequest(policy_type="System", policy_name="AliyunBailianFullAccess"))
    c.create_policy_version(m.CreatePolicyVersionRequest(policy_name="team-read", policy_document=doc,
                                                         set_as_default=False))
    c.get_policy_version(m.GetPolicyVersionRequest(policy_type="Custom", policy_name="team-read",
                                                   version_id="v1"))
    c.list_policy_versions(m.ListPolicyVersionsRequest(policy_type="Custom", policy_name="team-read"))
    c.set_default_policy_version(m.SetDefaultPolicyVersionRequest(policy_name="team-read", version_id="v2"))
    c.delete_policy_version(m.DeletePolicyVersionRequest(policy_name="team-read", version_id="v1"))
    c.update_policy_description(m.UpdatePolicyDescriptionRequest(policy_name="team-read",
                                                                 new_description="new"))
    c.list_policies(m.ListPoliciesRequest(policy_type="Custom", max_items=5))
    c.list_policies(m.ListPoliciesRequest(policy_type="System", max_items=2))
    c.tag_resources(m.TagResourcesRequest(resource_type="policy", resource_names=["team-read"],
                                          tag=[m.TagResourcesRequestTag(key="env", value="dev")]))
    c.list_tag_resources(m.ListTagResourcesRequest(resource_type="policy", resource_names=["team-read"]))
    c.untag_resources(m.UntagResourcesRequest(resource_type="policy", resource_names=["team-read"],
                                              tag_keys=["env"]))
    for kind, name in (("User", "alice"), ("Group", "devs")):
        for policy_type, policy in (("Custom", "team-read"), ("System", "AliyunRAMReadOnlyAccess")):
            getattr(c, f"attach_policy_to_{kind.lower()}")(getattr(m, f"AttachPolicyTo{kind}Request")(
                policy_type=policy_type, policy_name=policy, **{f"{kind.lower()}_name": name}))
    c.list_policies_for_user(m.ListPoliciesForUserRequest(user_name="alice"))
    c.list_policies_for_group(m.ListPoliciesForGroupRequest(group_name="devs"))
    c.list_entities_for_policy(m.ListEntitiesForPolicyRequest(policy_type="Custom", policy_name="team-read"))
    c.detach_policy_from_user(m.DetachPolicyFromUserRequest(policy_type="Custom", policy_name="team-read",
                                                            user_name="alice"))
    c.detach_policy_from_group(m.DetachPolicyFromGroupRequest(policy_type="Custom", policy_name="team-read",
                                                              group_name="devs"))
    c.delete_policy(m.DeletePolicyRequest(policy_name="team-read", cascading_delete=True))
    device = c.create_virtual_mfadevice(m.CreateVirtualMFADeviceRequest(
        virtual_mfadevice_name="alice-phone")).body.virtual_mfadevice
    c.bind_mfadevice(m.BindMFADeviceRequest(user_name="alice", serial_number=device.serial_number,
                                            authentication_code_1="123456", authentication_code_2="654321"))
    c.get_user_mfainfo(m.GetUserMFAInfoRequest(user_name="alice"))
    c.list_virtual_mfadevices()
    c.unbind_mfadevice(m.UnbindMFADeviceRequest(user_name="alice"))
    c.delete_virtual_mfadevice(m.DeleteVirtualMFADeviceRequest(serial_number=device.serial_number))
    c.remove_user_from_group(m.RemoveUserFromGroupRequest(group_name="devs", user_name="alice"))
    c.detach_policy_from_group(m.DetachPolicyFromGroupRequest(policy_type="System",
                                                              policy_name="AliyunRAMReadOnlyAccess",
                                                              group_name="devs"))
    c.delete_group(m.DeleteGroupRequest(group_name="devs"))
    c.delete_user(m.DeleteUserRequest(user_name="bob"))


def _model_studio(c: ModelStudioClient, emu: EmulatorHandle) -> None:
    created = c.create_workspace(ms.CreateWorkspaceRequest(workspace_name="delivery")).body
    workspace = created.workspace.workspace_id
    c.list_workspaces(ms.ListWorkspacesRequest(max_results=5))
    c.list_models(ms.ListModelsRequest(max_results=3))
    c.update_model_permissions(ms.UpdateModelPermissionsRequest(
        workspace_id=workspace,
        models=[ms.UpdateModelPermissionsRequestModels(model="qwen-plus", inference=True)]))
    c.list_model_permissions(ms.ListModelPermissionsRequest(workspace_id=workspace))
    key = c.create_api_key(ms.CreateApiKeyRequest(workspace_id=workspace, description="k")).body.api_key
    key_id = str(key.api_key_id)
    c.list_api_keys(ms.ListApiKeysRequest(workspace_id=workspace))
    c.get_api_key(key_id)
    c.update_api_key(key_id, ms.UpdateApiKeyRequest(description="new"))
    c.disable_api_key(key_id, ms.DisableApiKeyRequest())
    c.enable_api_key(key_id, ms.EnableApiKeyRequest())
    c.reset_api_key(key_id, ms.ResetApiKeyRequest())
    bailian = BailianClient(emu.sdk_config())
    bailian.list_published_agent(workspace, bl.ListPublishedAgentRequest())
    bailian.list_indices(workspace, bl.ListIndicesRequest())
    c.delete_workspace(workspace, ms.DeleteWorkspaceRequest())  # refused: a key remains (still a 200)
    c.delete_api_key(key_id)
    c.delete_workspace(workspace, ms.DeleteWorkspaceRequest())


def _privatelink(c: PrivateLinkClient, v: VpcClient) -> None:
    region, vpc, sg = "cn-beijing", "vpc-2zedemo0000000001", "sg-2zedemo0000000001"
    c.open_private_link_service(pl.OpenPrivateLinkServiceRequest())
    c.check_product_open()
    v.describe_vpcs(vpc_models.DescribeVpcsRequest(region_id=region))
    v.describe_vswitches(vpc_models.DescribeVSwitchesRequest(region_id=region, vpc_id=vpc))
    v.describe_zones(vpc_models.DescribeZonesRequest(region_id=region))
    c.list_vpc_endpoint_services_by_end_user(pl.ListVpcEndpointServicesByEndUserRequest(region_id=region))
    zones = [pl.CreateVpcEndpointRequestZone(zone_id=f"cn-beijing-{z}",
                                             v_switch_id=f"vsw-2zedemo00000000{z}1") for z in ("a", "h")]
    endpoint = c.create_vpc_endpoint(pl.CreateVpcEndpointRequest(
        region_id=region, vpc_id=vpc, service_name="com.aliyuncs.dashscope", endpoint_type="Interface",
        security_group_id=[sg], endpoint_name="dashscope-ep", zone=zones,
        tag=[pl.CreateVpcEndpointRequestTag(key="managed-by", value="provision")])).body.endpoint_id
    ref = {"region_id": region, "endpoint_id": endpoint}
    c.get_vpc_endpoint_attribute(pl.GetVpcEndpointAttributeRequest(**ref))
    c.list_vpc_endpoints(pl.ListVpcEndpointsRequest(region_id=region))
    c.update_vpc_endpoint_attribute(pl.UpdateVpcEndpointAttributeRequest(**ref, endpoint_name="renamed"))
    c.add_zone_to_vpc_endpoint(pl.AddZoneToVpcEndpointRequest(**ref, zone_id="cn-beijing-i",
                                                              v_switch_id="vsw-2zedemo00000000i1"))
    c.list_vpc_endpoint_zones(pl.ListVpcEndpointZonesRequest(**ref))
    c.attach_security_group_to_vpc_endpoint(pl.AttachSecurityGroupToVpcEndpointRequest(
        **ref, security_group_id="sg-2zedemo0000000002"))
    c.list_vpc_endpoint_security_groups(pl.ListVpcEndpointSecurityGroupsRequest(**ref))
    c.detach_security_group_from_vpc_endpoint(pl.DetachSecurityGroupFromVpcEndpointRequest(
        **ref, security_group_id="sg-2zedemo0000000002"))
    c.tag_resources(pl.TagResourcesRequest(region_id=region, resource_type="vpcendpoint",
                                           resource_id=[endpoint],
                                           tag=[pl.TagResourcesRequestTag(key="env", value="dev")]))
    c.list_tag_resources(pl.ListTagResourcesRequest(region_id=region, resource_type="vpcendpoint",
                                                    resource_id=[endpoint]))
    c.untag_resources(pl.UntagResourcesRequest(region_id=region, resource_type="vpcendpoint",
                                               resource_id=[endpoint], tag_key=["env"]))
    for zone in ("cn-beijing-a", "cn-beijing-h", "cn-beijing-i"):
        c.remove_zone_from_vpc_endpoint(pl.RemoveZoneFromVpcEndpointRequest(**ref, zone_id=zone))
    c.delete_vpc_endpoint(pl.DeleteVpcEndpointRequest(**ref))


_EMU: list[EmulatorHandle] = []


def _config_for(key_id: str, secret: str) -> Any:
    return _EMU[0].sdk_config(key_id, secret)


@pytest.fixture(scope="module")
def recorded() -> Iterator[Recorded]:
    """Every body every action answered in the scenario, by (version, action)."""
    answers: Recorded = {}
    seed = default_seed(use_env=False)
    second_sg = {"security_group_id": "sg-2zedemo0000000002", "vpc_id": "vpc-2zedemo0000000001",
                 "name": "second", "inbound_tcp_ports": [443]}
    first = seed.accounts[0].model_copy(update={"vpc": {"regions": {"cn-beijing": {
        "security_groups": [second_sg]}}}, "privatelink": {"product_open": False}})
    seed = seed.model_copy(update={"accounts": [first, *seed.accounts[1:]]})
    with running_emulator(seed, services=_recording(SERVICES, answers), async_delay_s=0.0) as emu:
        _EMU[:] = [emu]
        _ram(RamClient(emu.sdk_config()))
        _model_studio(ModelStudioClient(emu.sdk_config()), emu)
        _privatelink(PrivateLinkClient(emu.sdk_config()), VpcClient(emu.sdk_config()))
        _ecs(EcsClient(emu.sdk_config()))
        yield answers


def _ecs(e: EcsClient) -> None:
    e.describe_security_groups(ecs_models.DescribeSecurityGroupsRequest(region_id="cn-beijing",
                                                                       vpc_id="vpc-2zedemo0000000001"))
    e.describe_security_group_attribute(ecs_models.DescribeSecurityGroupAttributeRequest(
        region_id="cn-beijing", security_group_id="sg-2zedemo0000000002"))


def test_every_action_is_exercised(recorded: Recorded) -> None:
    routes = {(route.version, route.action) for service in SERVICES for route in service.routes}
    assert sorted(routes - set(recorded)) == []


def test_every_answer_survives_the_sdk_model(recorded: Recorded) -> None:
    losses = {f"{version} {action}": lost for (version, action), bodies in sorted(recorded.items())
              for body in bodies if (lost := model_losses(version, action, body))}
    assert losses == {}

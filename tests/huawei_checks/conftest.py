"""Fixtures of the Huawei reader, checks and audit tests: the tool's clients (``provision.providers.huawei``)
on a fresh emulator, and the emulator's own SDK clients to arrange the account."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
from huaweicloudsdkiam.v5 import (
    AddUserToGroupReqBody,
    AddUserToGroupV5Request,
    CreateAccessKeyV5Request,
    CreateGroupReqBody,
    CreateGroupV5Request,
    CreateLoginProfileReqBody,
    CreateLoginProfileV5Request,
    CreatePolicyReqBody,
    CreatePolicyV5Request,
    CreateUserReqBody,
    CreateUserV5Request,
    Tag,
    TagResourceV5Request,
    Tags,
)
from huaweicloudsdkmodelarts.v1 import CreateWorkspaceReq, CreateWorkspaceReqGrants, CreateWorkspaceRequest
from huaweicloudsdkorganizations.v1 import (
    AttachPolicyRequest,
    EnablePolicyTypeRequest,
    ListRootsRequest,
    PolicyTachReqBody,
    PolicyTypeReqBody,
)
from huaweicloudsdkorganizations.v1 import CreatePolicyReqBody as ScpBody
from huaweicloudsdkorganizations.v1 import CreatePolicyRequest as CreateScpRequest
from huaweicloudsdkvpcep.v1 import CreateEndpointRequest, CreateEndpointRequestBody, TagList

from provision.emulator.huawei.policy import SYSTEM_BY_NAME
from provision.emulator.huawei.seed import MAAS_SERVICES, VPCS
from provision.emulator.huawei.testing import HuaweiClients as EmuClients
from provision.emulator.testing import EmulatorHandle
from provision.providers.common.policies import RetryPolicy
from provision.providers.huawei.clients import HuaweiClients, HuaweiCredentials, HuaweiTarget

FAST_RETRY = RetryPolicy(attempts=4, base_delay_s=0.001, max_delay_s=0.01, max_retry_after_s=0.05)
PASSWORD = "Delivery-pass-2026"
DEPLOYMENT = "5d1e7a3c-0000-4000-8000-0000000d0001"
AGENT = "6a2f8b4d-0000-4000-8000-0000000a0001"
AGENT_WORKSPACE = "agent-delivery"  # the seeded deployment and agent are gated by this workspace


@pytest.fixture
def hw(emulator: EmulatorHandle) -> EmuClients:
    """The emulator's root clients, to arrange the account."""
    return EmuClients.root(emulator)


@pytest.fixture
def clients(emulator: EmulatorHandle, hw: EmuClients, monkeypatch: pytest.MonkeyPatch) -> HuaweiClients:
    """The tool's clients as the CLI builds them: PROVISION_ENDPOINT and the SDK's AK/SK variables."""
    monkeypatch.setenv("PROVISION_ENDPOINT", emulator.url)
    monkeypatch.setenv("HUAWEICLOUD_SDK_AK", hw.ak)
    monkeypatch.setenv("HUAWEICLOUD_SDK_SK", hw.sk)
    return HuaweiClients(HuaweiTarget.from_env(), HuaweiCredentials.from_env(), retry=FAST_RETRY)


@dataclass
class Delivered:
    """What :func:`deliver` arranged: alice's ids and secrets, her workspace, key and endpoint."""

    user_id: str
    access_key_id: str
    secret: str = field(repr=False)
    workspace_id: str
    api_key_id: str
    api_key: str = field(repr=False)
    endpoint_id: str
    endpoint_domain: str


def deliver(hw: EmuClients, name: str = "alice", *, grant: bool = True, allow_all: bool = False) -> Delivered:
    """A delivery as the tool would make it: a tagged user with an AK/SK, a console login, Pangu and a custom
    policy, a group; the agent workspace INTERNAL with her grant; a MaaS key; a VPC endpoint with DNS."""
    iam = hw.iam()
    user = iam.create_user_v5(CreateUserV5Request(body=CreateUserReqBody(name=name, enabled=True))).user
    iam.tag_resource_v5(
        TagResourceV5Request(
            resource_type="user", resource_id=user.user_id, body=Tags(tags=[Tag("managed-by", "provision")])
        )
    )
    key = iam.create_access_key_v5(CreateAccessKeyV5Request(user_id=user.user_id)).access_key
    iam.create_login_profile_v5(
        CreateLoginProfileV5Request(
            user_id=user.user_id,
            body=CreateLoginProfileReqBody(password=PASSWORD, password_reset_required=False),
        )
    )
    for policy in ("PanguInvokePolicy", "ModelArtsWorkspaceReadOnlyPolicy"):
        hw.signed(
            "POST", f"/v5/policies/{SYSTEM_BY_NAME[policy].policy_id}/attach-user", {"user_id": user.user_id}
        )
    document = json.dumps(
        {"Version": "5.0", "Statement": [{"Effect": "Allow", "Action": ["modelarts:apiKey:list"]}]}
    )
    custom = iam.create_policy_v5(
        CreatePolicyV5Request(body=CreatePolicyReqBody(policy_name=f"{name}-keys", policy_document=document))
    ).policy
    group = iam.create_group_v5(
        CreateGroupV5Request(body=CreateGroupReqBody(group_name=f"{name}-team"))
    ).group
    iam.add_user_to_group_v5(
        AddUserToGroupV5Request(group_id=group.group_id, body=AddUserToGroupReqBody(user_id=user.user_id))
    )
    hw.signed("POST", f"/v5/policies/{custom.policy_id}/attach-group", {"group_id": group.group_id})
    grants = [CreateWorkspaceReqGrants(user_name=name)] if grant else []
    workspace = hw.modelarts().create_workspace(
        CreateWorkspaceRequest(
            body=CreateWorkspaceReq(name=AGENT_WORKSPACE, auth_type="INTERNAL", grants=grants)
        )
    )
    whitelist = {"allow_all": True} if allow_all else {"allow_all": False, "ip_whitelist": ["127.0.0.1"]}
    created = hw.signed(
        "POST",
        f"/v2/{hw.project_id}/maas/api-auth/api-keys",
        {"label": f"{name}-main", "description": "provision:ws/main", **whitelist},
    ).json()
    endpoint = hw.vpcep().create_endpoint(
        CreateEndpointRequest(
            body=CreateEndpointRequestBody(
                endpoint_service_id=MAAS_SERVICES[1].id,
                vpc_id=VPCS[0].id,
                subnet_id=VPCS[0].subnets[0].id,
                enable_dns=True,
                tags=[TagList(key="managed-by", value="provision")],
            )
        )
    )
    return Delivered(
        user.user_id,
        key.access_key_id,
        key.secret_access_key,
        workspace.id,
        created["id"],
        created["api_key"],
        endpoint.id,
        f"{endpoint.id}.vpcep.cn-southwest-2.huaweicloud.com",
    )


def guardrail(hw: EmuClients, name: str, statement: dict[str, object]) -> str:
    """Enable SCPs on the organization's root, create one SCP and attach it to the account: its id."""
    orgs = hw.organizations()
    root = orgs.list_roots(ListRootsRequest()).roots[0]
    orgs.enable_policy_type(
        EnablePolicyTypeRequest(body=PolicyTypeReqBody(policy_type="service_control_policy", root_id=root.id))
    )
    content = json.dumps({"Version": "5.0", "Statement": [statement]})
    body = ScpBody(name=name, description="guardrail", type="service_control_policy", content=content)
    policy_id = str(orgs.create_policy(CreateScpRequest(body=body)).policy.policy_summary.id)
    orgs.attach_policy(
        AttachPolicyRequest(policy_id=policy_id, body=PolicyTachReqBody(entity_id=hw.domain_id))
    )
    return policy_id

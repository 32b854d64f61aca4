"""The ``huawei`` seed section of an account: its domain, projects, root key and the objects the tool
only reads (MaaS endpoint services, VPCs, Pangu deployments, agents, V2 models).

Every value has a documented default derived from the account (docs/emulator.md, Huawei section), so
manifests can name the seeded ids.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from provision.emulator.huawei.iam_users import password_hash
from provision.emulator.huawei.organizations import ensure_organization
from provision.emulator.huawei.state import (
    REGION,
    Agent,
    Deployment,
    EndpointService,
    HwAccessKey,
    Subnet,
    Vpc,
    hw_state,
)
from provision.emulator.world import World

DEFAULT_WORKSPACE = "agent-delivery"
MAAS_SERVICES = (
    EndpointService(
        id="8c5b8f4a-0b1e-4c7a-9d2e-000000000001", service_name=f"com.myhuaweicloud.{REGION}.maas.inference"
    ),
    EndpointService(
        id="8c5b8f4a-0b1e-4c7a-9d2e-000000000002", service_name=f"com.myhuaweicloud.{REGION}.maas.api"
    ),
)
VPCS = (
    Vpc(
        id="3f1e0c2a-0000-4000-8000-00000000a001",
        name="delivery-vpc",
        cidr="192.168.0.0/16",
        subnets=[
            Subnet(id="3f1e0c2a-0000-4000-8000-00000000b001", cidr="192.168.1.0/24"),
            Subnet(id="3f1e0c2a-0000-4000-8000-00000000b002", cidr="192.168.2.0/24"),
        ],
    ),
)
DEPLOYMENTS = (
    Deployment(
        deployment_id="5d1e7a3c-0000-4000-8000-0000000d0001",
        model="Pangu-NLP-N1-32K-3.1.34",
        workspace=DEFAULT_WORKSPACE,
    ),
)
AGENTS = (
    Agent(
        agent_id="6a2f8b4d-0000-4000-8000-0000000a0001",
        name="delivery-assistant",
        workspace=DEFAULT_WORKSPACE,
    ),
)
MODELS = ("pangu-nlp-n1-32k", "pangu-nlp-n2-32k", "pangu-nlp-n4-4k")


def defaults(account_id: str) -> dict[str, str]:
    """The documented defaults of an account (``…01`` for the first built-in account, ``…02`` the second)."""
    suffix = account_id[-2:]
    return {
        "domain_id": "d" + "0" * 29 + suffix,
        "project_id": "c" + "0" * 29 + suffix,
        "root_access_key_id": "HWEMUROOTKEY000000" + suffix,
        "root_secret_access_key": f"huawei-emulator-root-sk-{suffix}-not-a-real-key",
        "root_password": f"Emulator-root-{suffix}-pass1",
    }


class HuaweiSeed(BaseModel):
    """The section; every field is optional."""

    model_config = ConfigDict(extra="forbid")

    domain_id: str | None = Field(default=None, pattern=r"^[0-9a-z]{32}$")
    domain_name: str | None = None  # default: the account alias
    project_id: str | None = Field(default=None, pattern=r"^[0-9a-z]{32}$")  # of cn-southwest-2
    root_access_key_id: str | None = Field(default=None, min_length=1)
    root_secret_access_key: str | None = Field(default=None, min_length=1, repr=False)
    root_password: str | None = Field(default=None, repr=False)
    organization: bool = True
    endpoint_services: list[EndpointService] | None = None  # replace the MaaS services
    vpcs: list[Vpc] | None = None
    deployments: list[Deployment] | None = None
    agents: list[Agent] | None = None
    models: list[str] | None = None


def seed_account(world: World, account_id: str, section: dict[str, Any]) -> None:
    """Load one account's ``huawei`` section (validated here)."""
    seed = HuaweiSeed.model_validate(section)
    fallback = defaults(account_id)
    state = hw_state(world, account_id)
    state.domain_id = seed.domain_id or fallback["domain_id"]
    state.domain_name = seed.domain_name or world.accounts[account_id].alias or f"domain-{account_id}"
    state.projects = {REGION: seed.project_id or fallback["project_id"]}
    state.root_password_hash = password_hash(state.domain_id, seed.root_password or fallback["root_password"])
    key_id = seed.root_access_key_id or fallback["root_access_key_id"]
    state.access_keys[key_id] = HwAccessKey(
        access_key_id=key_id,
        secret=seed.root_secret_access_key or fallback["root_secret_access_key"],
        created_at=world.clock.iso(),
    )
    if seed.organization:
        ensure_organization(state, f"o-{account_id}", f"r-{account_id}", world.clock.iso())
    state.endpoint_services = list(
        seed.endpoint_services if seed.endpoint_services is not None else MAAS_SERVICES
    )
    state.vpcs = list(seed.vpcs if seed.vpcs is not None else VPCS)
    state.deployments = list(seed.deployments if seed.deployments is not None else DEPLOYMENTS)
    state.agents = list(seed.agents if seed.agents is not None else AGENTS)
    state.models = list(seed.models if seed.models is not None else MODELS)

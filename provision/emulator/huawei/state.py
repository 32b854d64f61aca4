"""The Huawei Cloud state of one emulated account (domain), as pydantic models so the world persists it.

One ``HuaweiState`` per world account: the domain and its projects, the root key, IAM v5 identities,
ModelArts workspaces, MaaS API keys, VPC endpoints, the organization and its SCPs, plus the seeded
objects the tool cannot create (deployments, agents, endpoint services, VPCs). Rules live in the
service modules; this module only holds data and the look-ups every service needs.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from provision.emulator.world import StateModel, World, register_state

REGION = "cn-southwest-2"  # Pangu's only region (reference §0)


class LoginProfile(BaseModel):
    password_hash: str
    password_reset_required: bool = False
    created_at: str


class HwUser(BaseModel):
    user_id: str
    user_name: str
    description: str = ""
    enabled: bool = True
    created_at: str
    tags: dict[str, str] = Field(default_factory=dict)
    login_profile: LoginProfile | None = None
    policies: list[str] = Field(default_factory=list)  # attached policy ids, in attach order
    attached_at: dict[str, str] = Field(default_factory=dict)  # policy id → time
    last_login_at: str | None = None


class HwAccessKey(BaseModel):
    access_key_id: str
    secret: str
    user_id: str | None = None  # None: the account's root key
    status: str = "active"  # active | inactive
    created_at: str
    last_used_at: str | None = None


class PolicyVersion(BaseModel):
    version_id: str
    document: str  # the JSON string as sent
    created_at: str


class HwPolicy(BaseModel):
    policy_id: str
    policy_name: str
    path: str = ""
    description: str = ""
    created_at: str
    updated_at: str
    versions: list[PolicyVersion] = Field(default_factory=list)
    default_version_id: str = "v1"
    next_version: int = 2


class HwGroup(BaseModel):
    group_id: str
    group_name: str
    description: str = ""
    created_at: str
    users: list[str] = Field(default_factory=list)  # user ids
    policies: list[str] = Field(default_factory=list)


class Token(BaseModel):
    user_id: str | None  # None: the root user
    issued_at: str
    expires_ts: float


class Grant(BaseModel):
    user_id: str
    user_name: str
    user_type: str = "IAM"


class Workspace(BaseModel):
    id: str
    name: str
    description: str = ""
    owner: str  # the creator's user name (the domain name for root)
    creator_user_id: str | None = None
    create_time: int
    update_time: int
    auth_type: str = "PUBLIC"
    enterprise_project_id: str = "0"
    grants: list[Grant] = Field(default_factory=list)
    deleted_ts: float | None = None  # DELETING until the async delay has passed


class MaasKey(BaseModel):
    id: str
    label: str
    description: str = ""
    secret_hash: str  # SHA-256 of the key: the plaintext is only in the create response
    masked: str
    allow_all: bool = True
    ip_whitelist: list[str] = Field(default_factory=list)
    created_at: str
    created_ts: float
    creator_user_id: str | None = None


class Endpoint(BaseModel):
    id: str
    service_id: str
    vpc_id: str
    subnet_id: str
    ip: str
    enable_dns: bool = False
    description: str = ""
    tags: list[dict[str, str]] = Field(default_factory=list)
    whitelist: list[str] = Field(default_factory=list)
    enable_whitelist: bool = False
    created_at: str
    created_ts: float
    updated_at: str
    deleted_ts: float | None = None


class Scp(BaseModel):
    policy_id: str
    name: str
    description: str = ""
    content: str
    type: str = "service_control_policy"
    created_at: str
    attached: list[str] = Field(default_factory=list)  # entity ids
    is_builtin: bool = False


class Organization(BaseModel):
    id: str
    root_id: str
    created_at: str
    policy_types: dict[str, str] = Field(default_factory=dict)  # type → enabled | disabled


# -- seeded objects the tool only reads ---------------------------------------------------------------
class Deployment(BaseModel):
    deployment_id: str
    model: str  # the deployed model, e.g. Pangu-NLP-N1-32K-3.1.34
    workspace: str = ""  # the workspace (by name) whose grants gate it; "" = any caller of the account


class Agent(BaseModel):
    agent_id: str
    name: str
    workspace: str = ""
    model: str = "Pangu-NLP-N1-32K-3.1.34"


class EndpointService(BaseModel):
    id: str
    service_name: str
    service_type: str = "interface"
    auto_accept: bool = True
    owner: str = "maas"


class Subnet(BaseModel):
    id: str
    cidr: str


class Vpc(BaseModel):
    id: str
    name: str
    cidr: str
    subnets: list[Subnet] = Field(default_factory=list)


@register_state
class HuaweiState(StateModel):
    service = "huawei"

    domain_id: str = ""
    domain_name: str = ""
    projects: dict[str, str] = Field(default_factory=dict)  # region → project id
    root_password_hash: str = ""
    users: dict[str, HwUser] = Field(default_factory=dict)  # by user id
    access_keys: dict[str, HwAccessKey] = Field(default_factory=dict)  # by AK, the root key too
    policies: dict[str, HwPolicy] = Field(default_factory=dict)  # custom policies by id
    groups: dict[str, HwGroup] = Field(default_factory=dict)
    tokens: dict[str, Token] = Field(default_factory=dict)  # by SHA-256 of the token
    workspaces: dict[str, Workspace] = Field(default_factory=dict)
    maas_keys: dict[str, MaasKey] = Field(default_factory=dict)
    endpoints: dict[str, Endpoint] = Field(default_factory=dict)
    organization: Organization | None = None
    scps: dict[str, Scp] = Field(default_factory=dict)
    deployments: list[Deployment] = Field(default_factory=list)
    agents: list[Agent] = Field(default_factory=list)
    models: list[str] = Field(default_factory=list)  # V2 model names
    endpoint_services: list[EndpointService] = Field(default_factory=list)
    vpcs: list[Vpc] = Field(default_factory=list)

    def user_by_name(self, name: str) -> HwUser | None:
        return next((u for u in self.users.values() if u.user_name == name), None)

    def region_of_project(self, project_id: str) -> str | None:
        return next((r for r, p in self.projects.items() if p == project_id), None)


def hw_state(world: World, account_id: str) -> HuaweiState:
    """The account's Huawei state (created empty on first use)."""
    return world.state(account_id, HuaweiState)


def hex_id(world: World, kind: str, length: int = 32) -> str:
    """A deterministic lower-case hex id (ModelArts workspaces, policies, users...)."""
    return world.ids.next(kind, length).rsplit("-", 1)[1]


def uuid_id(world: World, kind: str) -> str:
    """A deterministic id shaped like a UUID (VPCEP endpoints, SCPs)."""
    h = hex_id(world, kind)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def find_key(world: World, access_key_id: str) -> tuple[str, HwAccessKey] | None:
    """The account and record of a Huawei AK, across every account."""
    for account_id in world.accounts:
        key = hw_state(world, account_id).access_keys.get(access_key_id)
        if key is not None:
            return account_id, key
    return None

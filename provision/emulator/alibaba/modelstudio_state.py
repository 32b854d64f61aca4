"""Model Studio state (no HTTP): workspaces, API keys and apps per account, the catalog in effect, and the
service's error shapes. The rules that change it are in ``modelstudio_rules.py``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from provision.emulator.alibaba.modelstudio_catalog import DEFAULT_CATALOG, CatalogModel
from provision.emulator.wire import CloudError
from provision.emulator.world import StateModel, World, register_state

Role = Literal["guest", "admin"]
AuthType = Literal["All", "Custom"]
OneClick = Literal["OPEN", "CLOSE", "KEEP"]
ROLES: tuple[Role, ...] = ("guest", "admin")
ANY_IP: tuple[str, ...] = ("0.0.0.0/0", "::/0")  # what the server stores for an empty Custom whitelist
MAX_GRANTS_PER_CALL = 20
DEFAULT_WORKSPACE_NAME = "Default Workspace"


def ms_error(code: str, message: str, status: int = 400) -> CloudError:
    """A Model Studio service error (ROA: camelCase body with ``success: false``)."""
    return CloudError(code, message, status, "ROA")


def workspace_not_found(workspace_id: str) -> CloudError:
    """404 ``WorkspaceNotExist``."""
    return ms_error("WorkspaceNotExist", f"The workspace {workspace_id} does not exist.", 404)


def model_not_found(model: str) -> CloudError:
    """404 ``ModelNotFound``."""
    return ms_error("ModelNotFound", f"Model not found ({model})!", 404)


# -- state --------------------------------------------------------------------------------------------
class Permission(BaseModel):
    """A workspace's explicit grant on one model."""

    inference: bool = False
    fine_tune: bool = False
    deploy: bool = False


class Workspace(BaseModel):
    workspace_id: str
    workspace_name: str
    region: str
    service_site: str = ""
    gmt_create: int
    is_default: bool = False
    one_click: bool = False  # accessAllEntities=OPEN: every model, including later ones
    grants: dict[str, Permission] = Field(default_factory=dict)
    members: dict[str, Role] = Field(default_factory=dict)  # RAM user name -> role

    @property
    def api_host(self) -> str:
        return f"{self.workspace_id}.{self.region}.maas.aliyuncs.com"

    def permission(self, model: str) -> Permission:
        """The effective permission: one-click authorization grants inference on every model."""
        explicit = self.grants.get(model, Permission())
        return explicit.model_copy(update={"inference": True}) if self.one_click else explicit


class ApiKeyAuth(BaseModel):
    """An API key's restrictions: ``All`` = none; ``Custom`` = IP whitelist and model scope."""

    type: AuthType = "All"
    access_ips: list[str] = Field(default_factory=list)
    allow_all_models: bool = True
    accessible_models: list[str] = Field(default_factory=list)

    def allows_model(self, model: str) -> bool:
        return self.type == "All" or self.allow_all_models or model in self.accessible_models

    def allows_ip(self, ip: str) -> bool:
        if self.type == "All" or not self.access_ips:
            return True
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(address in ipaddress.ip_network(cidr, strict=False) for cidr in self.access_ips)


class ApiKey(BaseModel):
    api_key_id: int
    value: str = Field(repr=False)
    workspace_id: str
    description: str = ""
    created_by: str  # the account id (root) or the RAM user's id
    creator_user: str | None = None  # RAM user name; None = root (root keys never lose their owner)
    gmt_create: int
    disabled: bool = False
    owner_removed: bool = False  # its RAM-user owner left the workspace: the key no longer works
    auth: ApiKeyAuth = Field(default_factory=ApiKeyAuth)

    @property
    def usable(self) -> bool:
        return not (self.disabled or self.owner_removed)

    @property
    def masked(self) -> str:
        return f"{self.value[:5]}{'*' * 11}{self.value[-4:]}"


class App(BaseModel):
    """An agent application (dashscope-application-call.txt); it belongs to the workspace whose name
    matches, at call time. What the console configures is data here: whether it is published, the
    variables its prompt references (``biz_params.user_prompt_params``), its plugin tools
    (``user_defined_params``), the knowledge bases of its workspace with their documents (``rag_options``:
    pipeline id → file ids) and its long-term memories (``memory_id``)."""

    model_config = ConfigDict(extra="forbid")

    app_id: str = Field(min_length=1)
    name: str
    workspace_name: str
    model: str = "qwen-plus"
    description: str = ""
    published: bool = True
    prompt_variables: list[str] = Field(default_factory=list)
    tools: list[str] = Field(default_factory=list)
    knowledge: dict[str, list[str]] = Field(default_factory=dict)
    memory_ids: list[str] = Field(default_factory=list)


@register_state
class ModelStudioState(StateModel):
    """One account's Model Studio; dicts keep creation order, which is the order lists return."""

    service: ClassVar[str] = "modelstudio"
    workspaces: dict[str, Workspace] = Field(default_factory=dict)
    api_keys: dict[str, ApiKey] = Field(default_factory=dict)  # by str(api_key_id)
    apps: list[App] = Field(default_factory=list)
    catalog: list[CatalogModel] | None = None  # a seed override; None = the built-in catalog


def ms_state(world: World, account_id: str) -> ModelStudioState:
    """The account's Model Studio state."""
    return world.state(account_id, ModelStudioState)


def all_states(world: World) -> Iterator[tuple[str, ModelStudioState]]:
    """(account id, Model Studio state) of every account."""
    for account_id in world.accounts:
        yield account_id, ms_state(world, account_id)


# -- catalog ------------------------------------------------------------------------------------------
def catalog(world: World) -> tuple[CatalogModel, ...]:
    """The model catalog: global, the built-in one unless a seed account overrides it."""
    for _, st in all_states(world):
        if st.catalog is not None:
            return tuple(st.catalog)
    return DEFAULT_CATALOG


def catalog_model(world: World, model: str) -> CatalogModel | None:
    """The catalog entry of ``model``, if there is one."""
    return next((m for m in catalog(world) if m.model == model), None)


def model_known(world: World, model: str) -> bool:
    """Whether ``model`` is an id of the catalog."""
    return catalog_model(world, model) is not None



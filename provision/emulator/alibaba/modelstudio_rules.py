"""Model Studio rules (no HTTP): workspaces, model grants, API keys, membership and apps.

Rules raise :class:`CloudError` in the ROA style (camelCase body); ``modelstudio.py`` parses the
wire and serialises; the state they change is in ``modelstudio_state.py``. The cross-service functions
listed in docs/architecture.md live here and are re-exported by ``modelstudio.py``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from provision.emulator.alibaba import ram
from provision.emulator.alibaba.modelstudio_catalog import CatalogModel
from provision.emulator.alibaba.modelstudio_state import (
    ANY_IP,
    DEFAULT_WORKSPACE_NAME,
    MAX_GRANTS_PER_CALL,
    ROLES,
    ApiKey,
    ApiKeyAuth,
    App,
    Permission,
    Role,
    Workspace,
    all_states,
    catalog,
    model_known,
    model_not_found,
    ms_error,
    ms_state,
    workspace_not_found,
)
from provision.emulator.wire import Caller, CloudError
from provision.emulator.world import World


# -- workspaces ---------------------------------------------------------------------------------------
def get_workspace(world: World, account_id: str, workspace_id: str) -> Workspace:
    """The workspace, or 404 ``WorkspaceNotExist``."""
    ws = ms_state(world, account_id).workspaces.get(workspace_id)
    if ws is None:
        raise workspace_not_found(workspace_id)
    return ws


def create_workspace(world: World, account_id: str, name: str, region: str,
                     service_site: str = "", is_default: bool = False) -> Workspace:
    """A new workspace; names need not be unique (the API has no uniqueness rule we know of)."""
    if not 1 <= len(name) <= 64:
        raise ms_error("InvalidParameter.workspaceName", "The workspaceName must be 1 to 64 characters.")
    ws = Workspace(workspace_id=world.ids.next("ws"), workspace_name=name, region=region,
                   service_site=service_site, gmt_create=world.clock.millis(), is_default=is_default,
                   one_click=is_default)
    ms_state(world, account_id).workspaces[ws.workspace_id] = ws
    return ws


def default_workspace(world: World, account_id: str) -> Workspace:
    """The account's default workspace (every model authorized), created on first use."""
    st = ms_state(world, account_id)
    found = next((ws for ws in st.workspaces.values() if ws.is_default), None)
    return found or create_workspace(world, account_id, DEFAULT_WORKSPACE_NAME, world.default_region,
                                     is_default=True)


def find_workspaces(world: World, account_id: str, workspace_id: str | None,
                    name: str | None) -> list[Workspace]:
    """Workspaces by exact id and fuzzy (case-insensitive substring) name."""
    return [ws for ws in ms_state(world, account_id).workspaces.values()
            if (not workspace_id or ws.workspace_id == workspace_id)
            and (not name or name.lower() in ws.workspace_name.lower())]


@dataclass(frozen=True)
class FailReason:
    resource_type: str
    reason: str


def delete_workspace(world: World, account_id: str, workspace_id: str) -> list[FailReason]:
    """Delete the workspace unless resources remain; the reasons it was refused (empty = deleted)."""
    st = ms_state(world, account_id)
    ws = get_workspace(world, account_id, workspace_id)
    if ws.is_default:
        return [FailReason("Workspace", "The default workspace cannot be deleted.")]
    keys = sum(1 for k in st.api_keys.values() if k.workspace_id == workspace_id)
    if keys:
        return [FailReason("ApiKey", f"The workspace still has {keys} API key(s); delete them first.")]
    del st.workspaces[workspace_id]
    return []


# -- model grants -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GrantChange:
    """One item of ``UpdateModelPermissions``: None leaves that permission unchanged."""

    model: str
    inference: bool | None = None
    fine_tune: bool | None = None
    deploy: bool | None = None


def update_permissions(world: World, account_id: str, workspace_id: str, mode: str,
                       changes: list[GrantChange]) -> None:
    """Apply the one-click switch (OPEN/CLOSE/KEEP), then the per-model changes; all or nothing."""
    ws = get_workspace(world, account_id, workspace_id)
    if mode not in ("OPEN", "CLOSE", "KEEP"):
        raise ms_error("InvalidParameter.accessAllEntities",
                       "accessAllEntities must be one of OPEN, CLOSE, KEEP.")
    if mode == "KEEP" and not 1 <= len(changes) <= MAX_GRANTS_PER_CALL:
        raise ms_error("InvalidParameter", f"models must contain 1 to {MAX_GRANTS_PER_CALL} items when "
                       f"accessAllEntities is KEEP (got {len(changes)}).")
    for change in changes:
        if not model_known(world, change.model):
            raise model_not_found(change.model)
    if mode == "OPEN":
        ws.one_click = True
    elif mode == "CLOSE":
        ws.one_click = False
        for perm in ws.grants.values():
            perm.inference = False
    for change in changes:
        perm = ws.grants.setdefault(change.model, Permission())
        for field in ("inference", "fine_tune", "deploy"):
            value = getattr(change, field)
            if value is not None:
                setattr(perm, field, value)


def permission_rows(world: World, account_id: str, workspace_id: str, authorized_only: bool,
                    model: str | None, name: str | None) -> list[tuple[CatalogModel, Permission]]:
    """Catalog models with the workspace's effective permission, filtered (model exact, name fuzzy)."""
    ws = get_workspace(world, account_id, workspace_id)
    rows = []
    for entry in catalog(world):
        perm = ws.permission(entry.model)
        if authorized_only and not perm.inference:
            continue
        if model and entry.model != model:
            continue
        if name and name.lower() not in entry.display_name().lower():
            continue
        rows.append((entry, perm))
    return rows


def model_granted(world: World, account_id: str, workspace_id: str, model: str) -> bool:
    """Whether the workspace may call ``model`` (an explicit inference grant or one-click OPEN)."""
    ws = ms_state(world, account_id).workspaces.get(workspace_id)
    return ws is not None and ws.permission(model).inference


# -- API keys -----------------------------------------------------------------------------------------
def validate_auth(world: World, auth: ApiKeyAuth) -> ApiKeyAuth:
    """The auth as the server stores it: ``All`` cleared, an empty Custom whitelist = any address."""
    if auth.type == "All":
        return ApiKeyAuth()
    for cidr in auth.access_ips:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise ms_error("InvalidParameter.accessIps", f"Invalid IP or CIDR: {cidr}.") from None
    if not auth.allow_all_models:
        if not auth.accessible_models:
            raise ms_error("InvalidParameter.accessibleModels",
                           "accessibleModels is required when allowAllModels is false.")
        for model in auth.accessible_models:
            if not model_known(world, model):
                raise model_not_found(model)
    ips = auth.access_ips or list(ANY_IP)
    models = [] if auth.allow_all_models else auth.accessible_models
    return auth.model_copy(update={"access_ips": ips, "accessible_models": models})


def _creator(world: World, caller: Caller) -> tuple[str, str | None]:
    if caller.user_name is None:
        return caller.account_id, None
    return ram.user_id(world, caller.account_id, caller.user_name) or caller.user_name, caller.user_name


def _new_value(world: World) -> str:
    return world.ids.secret("sk-", 32)


def create_api_key(world: World, caller: Caller, workspace_id: str | None, description: str,
                   auth: ApiKeyAuth) -> ApiKey:
    """A new key in the workspace (the default workspace when none is given), owned by the caller."""
    account_id = caller.account_id
    ws = (get_workspace(world, account_id, workspace_id) if workspace_id
          else default_workspace(world, account_id))
    created_by, creator_user = _creator(world, caller)
    key = ApiKey(api_key_id=world.ids.number("apikey"), value=_new_value(world),
                 workspace_id=ws.workspace_id, description=description, created_by=created_by,
                 creator_user=creator_user, gmt_create=world.clock.millis(),
                 auth=validate_auth(world, auth))
    ms_state(world, account_id).api_keys[str(key.api_key_id)] = key
    return key


def get_api_key(world: World, account_id: str, api_key_id: str) -> ApiKey:
    """The key, or 404 ``ApiKeyNotFound``."""
    key = ms_state(world, account_id).api_keys.get(api_key_id.strip())
    if key is None:
        raise ms_error("ApiKeyNotFound", f"The API key {api_key_id} does not exist.", 404)
    return key


def reset_api_key(world: World, account_id: str, api_key_id: str) -> ApiKey:
    """A new value for the key; the old one stops working at once."""
    key = get_api_key(world, account_id, api_key_id)
    key.value = _new_value(world)
    return key


def enable_api_key(world: World, account_id: str, api_key_id: str, enabled: bool) -> None:
    """Enable or disable the key (both idempotent); a key whose owner left its workspace stays off."""
    key = get_api_key(world, account_id, api_key_id)
    if enabled and key.owner_removed:
        raise ms_error("ApiKey.OwnerNotMember", "The owner of this API key is no longer a member of its "
                       "workspace; create a new key.", 403)
    key.disabled = not enabled


def delete_api_key(world: World, account_id: str, api_key_id: str) -> None:
    """Delete the key (404 when already gone)."""
    key = get_api_key(world, account_id, api_key_id)
    del ms_state(world, account_id).api_keys[str(key.api_key_id)]


def find_api_key(world: World, value: str) -> tuple[str, ApiKey] | None:
    """(account id, key) for an API key value in any account, whatever the key's status."""
    for account_id, st in all_states(world):
        for key in st.api_keys.values():
            if key.value == value:
                return account_id, key
    return None


# -- membership (console only in the real cloud; the control API drives it) ---------------------------
def _role(value: str) -> Role:
    for role in ROLES:
        if value == role:
            return role
    raise ms_error("InvalidParameter.role", f"role must be one of {', '.join(ROLES)}.")


def set_member(world: World, account_id: str, workspace_id: str, user: str, role: str) -> None:
    """Add ``user`` to the workspace with ``role`` (guest|admin), or change its role."""
    ws = get_workspace(world, account_id, workspace_id)
    checked = _role(role)
    if not ram.user_exists(world, account_id, user):
        raise CloudError("EntityNotExist.User", f"The user does not exist: {user}.", 404, "ROA")
    ws.members[user] = checked


def remove_member(world: World, account_id: str, workspace_id: str, user: str) -> None:
    """Remove ``user`` from the workspace (idempotent); the API keys it owns there stop working."""
    ws = get_workspace(world, account_id, workspace_id)
    if ws.members.pop(user, None) is None:
        return
    for key in ms_state(world, account_id).api_keys.values():
        if key.workspace_id == workspace_id and key.creator_user == user:
            key.owner_removed = True


def member_role(world: World, account_id: str, workspace_id: str, user: str) -> str | None:
    """The user's role in the workspace, None when not a member (or no such workspace)."""
    ws = ms_state(world, account_id).workspaces.get(workspace_id)
    return None if ws is None else ws.members.get(user)


# -- apps ---------------------------------------------------------------------------------------------
def find_app(world: World, account_id: str, app_id: str) -> App | None:
    return next((a for a in ms_state(world, account_id).apps if a.app_id == app_id), None)


def app_workspace(world: World, account_id: str, app: App) -> Workspace | None:
    """The (first created) workspace named like the app's, if it exists yet."""
    return next((ws for ws in ms_state(world, account_id).workspaces.values()
                 if ws.workspace_name == app.workspace_name), None)


def workspace_apps(world: World, account_id: str, workspace_id: str) -> list[App]:
    """The workspace's published apps (an unpublished draft is not listed)."""
    return [a for a in ms_state(world, account_id).apps
            if a.published and (ws := app_workspace(world, account_id, a)) is not None
            and ws.workspace_id == workspace_id]

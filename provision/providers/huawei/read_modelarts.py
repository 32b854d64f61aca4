"""The reader of ModelArts workspaces (with their grants) and MaaS API keys (typed, frozen; keys masked)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from huaweicloudsdkmodelarts.v1 import ListWorkspaceRequest, ShowWorkspaceRequest

from provision.providers.huawei.clients import HuaweiClients
from provision.providers.huawei.read_common import each, iso


@dataclass(frozen=True)
class Grant:
    user_id: str
    user_name: str
    user_type: str = "IAM"


@dataclass(frozen=True)
class Workspace:
    workspace_id: str
    name: str
    status: str  # NORMAL, DELETING, ...
    visibility: str  # auth_type: PUBLIC | PRIVATE | INTERNAL (upper-cased)
    owner: str
    description: str = ""
    created: str = ""
    grants: tuple[Grant, ...] = ()

    def granted(self, user_name: str) -> bool:
        return any(g.user_name == user_name for g in self.grants)


@dataclass(frozen=True)
class ApiKey:
    """A MaaS API key; the list shows its value masked only, and never its creator."""

    key_id: str
    label: str
    description: str
    allow_all: bool
    ip_whitelist: tuple[str, ...]
    created: str
    masked: str = ""
    owner: str | None = None  # the list does not say who created a key

    @property
    def open_to_any_address(self) -> bool:
        return self.allow_all or not self.ip_whitelist


def _workspace(shown: Any) -> Workspace:
    grants = tuple(
        Grant(str(g.user_id or ""), str(g.user_name or ""), str(getattr(g, "user_type", "") or "IAM"))
        for g in getattr(shown, "grants", None) or ()
    )
    return Workspace(
        str(shown.id),
        str(shown.name),
        str(shown.status or ""),
        str(shown.auth_type or "").upper(),
        str(shown.owner or ""),
        str(shown.description or ""),
        iso(shown.create_time),
        grants,
    )


def read_workspace(clients: HuaweiClients, workspace_id: str) -> Workspace | None:
    """One workspace with its grants, ``None`` when it does not exist."""
    shown = clients.call_or_none(
        f"modelarts.workspace/{workspace_id}",
        "ShowWorkspace",
        lambda: clients.modelarts().show_workspace(ShowWorkspaceRequest(workspace_id=workspace_id)),
    )
    return _workspace(shown) if shown is not None else None


def read_workspaces(clients: HuaweiClients) -> tuple[Workspace, ...]:
    """Every workspace but the synthetic ``default`` (id ``0``), with its grants (one show per workspace:
    the list carries none)."""
    listed = clients.offset_pages(
        "modelarts.workspace",
        "ListWorkspace",
        lambda offset, limit: clients.modelarts().list_workspace(
            ListWorkspaceRequest(offset=offset, limit=limit)
        ),
        lambda r: r.workspaces,
        lambda r: r.total_count,
        1000,
    )
    ids = [str(w.id) for w in listed if str(w.id) != "0"]
    return tuple(w for w in each(lambda i: read_workspace(clients, i), ids) if w is not None)


def read_api_keys(clients: HuaweiClients) -> tuple[ApiKey, ...]:
    """Every MaaS API key of the account (signed REST: no SDK method), values masked."""
    path = f"/v2/{clients.project_id}/maas/api-auth/api-keys"
    keys: list[ApiKey] = []
    offset, limit = 0, 100
    while True:
        page = clients.request(
            "maas.api_key",
            "ListMaasApiKeys",
            "modelarts",
            "GET",
            path,
            query={"offset": str(offset), "limit": str(limit)},
        )
        listing = page.get("api_key_list") or {}
        items = listing.get("items") or []
        keys.extend(
            ApiKey(
                str(k.get("id", "")),
                str(k.get("label") or ""),
                str(k.get("description") or ""),
                bool(k.get("allow_all")),
                tuple(str(i) for i in k.get("ip_whitelist") or ()),
                iso(k.get("create_at")),
                str(k.get("api_key") or ""),
                str(k["owner"]) if k.get("owner") else None,
            )
            for k in items
        )
        offset += len(items)
        if not items or offset >= int(listing.get("total") or 0):
            return tuple(keys)

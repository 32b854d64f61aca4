"""Count what a crash or a lost answer can leave behind, through the official SDKs: keys whose secret the
sink does not hold (orphans) and unmanaged look-alikes of declared resources. Shared by the crash tests and
``bench/crash_recovery.py``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alibabacloud_modelstudio20260210.client import Client as ModelStudioClient
from alibabacloud_modelstudio20260210.models import ListApiKeysRequest, ListWorkspacesRequest
from alibabacloud_privatelink20200415.client import Client as PrivateLinkClient
from alibabacloud_privatelink20200415.models import ListVpcEndpointsRequest
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_ram20150501.models import GetUserRequest, ListAccessKeysRequest

from provision.desired.resources import MARKER
from provision.emulator.testing import EmulatorHandle
from provision.providers.common.markers import KeyMarker
from provision.state.secrets import SecretSink
from provision.state.statefile import StateFile

# A small manifest with one resource of every kind a create's answer must be remembered for.
MANIFEST = """version: 1
name: crash
cloud: {site: public, region: cn-beijing}
users:
  - name: courier
    access_keys: 1
    console_login: {enabled: true}
workspaces:
  - name: ws-crash
    models: [qwen-plus]
    api_keys:
      - {name: main, issued_to: courier}
endpoints:
  - name: ep-crash
    vpc_id: vpc-2zedemo0000000001
    zones:
      - {zone_id: cn-beijing-a, vswitch_id: vsw-2zedemo00000000a1}
      - {zone_id: cn-beijing-h, vswitch_id: vsw-2zedemo00000000h1}
    security_group_ids: [sg-2zedemo0000000001]
    service_name: com.aliyuncs.dashscope
"""


@dataclass
class Census:
    orphans: list[str] = field(default_factory=list)  # "ram.access_keys/u: LTAI…" (secret not in the sink)
    unmanaged: list[str] = field(default_factory=list)  # declared names held by something unmanaged
    counts: dict[str, int] = field(default_factory=dict)  # key → how many of it the cloud has

    def line(self) -> str:
        return f"orphans: {len(self.orphans)}, unmanaged: {len(self.unmanaged)}"


def census(cloud: EmulatorHandle, state_dir: Path, secrets_dir: Path, users: Sequence[str] = (),
           workspaces: Sequence[str] = (), endpoints: Sequence[str] = ()) -> Census:
    """What the account holds of the declared ``users``, ``workspaces`` and ``endpoints``."""
    config = cloud.sdk_config()
    sink, state, found = SecretSink(secrets_dir), StateFile(state_dir / "state.json"), Census()
    ram = RamClient(config)
    for user in users:
        exists = {u.user_name: u for u in [_user(ram, user)] if u is not None}
        if user in exists and MARKER not in (exists[user].comments or ""):
            found.unmanaged.append(f"ram.user/{user}")
        listed = ram.list_access_keys(ListAccessKeysRequest(user_name=user)).body.access_keys.access_key \
            if user in exists else []
        held = sink.access_keys(user)
        found.orphans += [f"ram.access_keys/{user}: {k.access_key_id}" for k in listed or []
                          if k.access_key_id not in held]
        found.counts[f"ram.access_keys/{user}"] = len(listed or [])
    studio = ModelStudioClient(config)
    listed_ws = studio.list_workspaces(ListWorkspacesRequest(max_results=100)).body.workspaces or []
    for name in workspaces:
        same = [w for w in listed_ws if w.workspace_name == name]
        found.counts[f"modelstudio.workspace/{name}"] = len(same)
        recorded = state.workspace_id(name)
        found.unmanaged += [f"modelstudio.workspace/{name}: {w.workspace_id}" for w in same
                            if w.workspace_id != recorded]
        for w in same:
            keys = studio.list_api_keys(ListApiKeysRequest(workspace_id=w.workspace_id)).body.api_keys or []
            for key in keys:
                marker = KeyMarker.parse(key.description)
                if marker is None:
                    continue
                held = sink.api_key(sink.api_key_account(name, marker.issued_to), name, marker.key_name)
                if held is None or held[0] != str(key.api_key_id):
                    found.orphans.append(f"modelstudio.api_key/{name}: {key.api_key_id}")
    if endpoints:
        items = PrivateLinkClient(config).list_vpc_endpoints(ListVpcEndpointsRequest(
            region_id="cn-beijing", max_results=100)).body.endpoints or []
        for name in endpoints:
            same = [e for e in items if e.endpoint_name == name]
            found.counts[f"privatelink.endpoint/{name}"] = len(same)
            found.unmanaged += [f"privatelink.endpoint/{name}: {e.endpoint_id}" for e in same
                                if not any(f"{t.key}={t.value}" == MARKER for t in e.tags or [])]
    return found


def _user(ram: RamClient, name: str) -> Any:
    try:
        return ram.get_user(GetUserRequest(user_name=name)).body.user
    except Exception:  # EntityNotExist.User
        return None



def crash_census(cloud: EmulatorHandle, state_dir: Path, secrets_dir: Path) -> Census:
    """The census of :data:`MANIFEST`'s resources."""
    return census(cloud, state_dir, secrets_dir, users=["courier"], workspaces=["ws-crash"],
                  endpoints=["ep-crash"])

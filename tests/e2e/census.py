"""Count what a crash or a lost answer can leave behind, through the official SDKs: keys whose secret the
sink does not hold (orphans) and unmanaged look-alikes of declared resources, on either cloud. Shared by the
crash tests and ``bench/crash_recovery.py``: :data:`CASES` holds, per provider, the crash manifest, the
create action of each kind that records a write-ahead intent, and the census of that manifest."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alibabacloud_modelstudio20260210.client import Client as ModelStudioClient
from alibabacloud_modelstudio20260210.models import ListApiKeysRequest, ListWorkspacesRequest
from alibabacloud_privatelink20200415.client import Client as PrivateLinkClient
from alibabacloud_privatelink20200415.models import ListVpcEndpointsRequest
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_ram20150501.models import GetUserRequest, ListAccessKeysRequest

from provision.desired.kinds import MARKER, Kind
from provision.emulator.huawei.testing import HuaweiClients
from provision.emulator.testing import EmulatorHandle
from provision.providers.common.markers import KeyMarker
from provision.providers.huawei.base import TAG_NAME, unmarked
from provision.providers.huawei.cloud import CLOUD as HUAWEI
from provision.state.secrets import SecretSink
from provision.state.statefile import StateFile

# A small manifest with one resource of every kind a create's answer must be remembered for, on each cloud.
_USER = """users:
  - name: courier
    access_keys: 1
    console_login: {enabled: true}
"""
_KEY = """    api_keys:
      - {name: main, issued_to: courier}
"""
MANIFEST = """version: 1
name: crash
cloud: {site: public, region: cn-beijing}
""" + _USER + """workspaces:
  - name: ws-crash
    models: [qwen-plus]
""" + _KEY + """endpoints:
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
                pair = sink.api_key(sink.api_key_account(name, marker.issued_to), name, marker.key_name)
                if pair is None or pair[0] != str(key.api_key_id):
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


# The same resources on Huawei Cloud (the emulator's seeded VPC, subnet and MaaS endpoint service).
HUAWEI_MANIFEST = """version: 1
name: crash
cloud: {provider: huaweicloud, region: cn-southwest-2}
""" + _USER + """workspaces:
  - name: ws-crash
""" + _KEY + """endpoints:
  - name: ep-crash
    vpc_id: 3f1e0c2a-0000-4000-8000-00000000a001
    subnet_id: 3f1e0c2a-0000-4000-8000-00000000b001
    service_id: 8c5b8f4a-0b1e-4c7a-9d2e-000000000001
"""


def huawei_census(cloud: EmulatorHandle, state_dir: Path, secrets_dir: Path, users: Sequence[str] = (),
                  workspaces: Sequence[str] = (), endpoints: Sequence[str] = ()) -> Census:
    """:func:`census` on Huawei Cloud: IAM v5 users and AK/SKs, ModelArts workspaces, MaaS keys, VPC
    endpoints, through the official Huawei SDKs (MaaS keys by signed REST: no SDK method)."""
    from huaweicloudsdkiam.v5 import ListAccessKeysV5Request, ListUsersV5Request, ShowUserV5Request
    from huaweicloudsdkmodelarts.v1 import ListWorkspaceRequest
    from huaweicloudsdkvpcep.v1 import ListEndpointsRequest

    hw = HuaweiClients.root(cloud)
    sink = SecretSink(secrets_dir, HUAWEI.sink_names)
    state, found = StateFile(state_dir / "state.json"), Census()
    listed_users = {u.user_name: u for u in hw.iam().list_users_v5(ListUsersV5Request(limit=200)).users or []}
    for user in users:
        summary = listed_users.get(user)
        shown = hw.iam().show_user_v5(ShowUserV5Request(user_id=summary.user_id)).user if summary else None
        if shown is not None and not any(f"{t.tag_key}={t.tag_value}" == MARKER for t in shown.tags or []):
            found.unmanaged.append(f"iam.user/{user}")
        keys = hw.iam().list_access_keys_v5(ListAccessKeysV5Request(user_id=summary.user_id)).access_keys \
            if summary is not None else []
        held = sink.access_keys(user)
        found.orphans += [f"iam.access_keys/{user}: {k.access_key_id}" for k in keys or []
                          if k.access_key_id not in held]
        found.counts[f"iam.access_keys/{user}"] = len(keys or [])
    listed_ws = hw.modelarts().list_workspace(ListWorkspaceRequest(limit=1000)).workspaces or []
    for name in workspaces:
        same = [w for w in listed_ws if w.name == name and w.status != "DELETING"]
        found.counts[f"modelarts.workspace/{name}"] = len(same)
        recorded = state.workspace_id(name)
        found.unmanaged += [f"modelarts.workspace/{name}: {w.id}" for w in same
                            if w.id != recorded or not unmarked(str(w.description or ""))[1].marked]
    answer = hw.signed("GET", f"/v2/{hw.project_id}/maas/api-auth/api-keys", query={"limit": "100"})
    for key in (answer.json().get("api_key_list") or {}).get("items") or []:
        marker = KeyMarker.parse(str(key.get("description") or ""))
        if marker is None or marker.workspace not in workspaces:
            continue
        pair = sink.api_key(sink.api_key_account(marker.workspace, marker.issued_to), marker.workspace,
                            marker.key_name)
        if pair is None or pair[0] != str(key["id"]):
            found.orphans.append(f"maas.api_key/{marker.workspace}: {key['id']}")
    if endpoints:
        items = hw.vpcep().list_endpoints(ListEndpointsRequest(limit=1000)).endpoints or []
        for name in endpoints:
            same = [e for e in items if any(t.key == TAG_NAME and t.value == name for t in e.tags or [])]
            found.counts[f"vpcep.endpoint/{name}"] = len(same)
            found.unmanaged += [f"vpcep.endpoint/{name}: {e.id}" for e in same
                                if not any(f"{t.key}={t.value}" == MARKER for t in e.tags or [])]
    return found


@dataclass(frozen=True)
class CrashCase:
    """One provider's crash manifest, its creates that take a write-ahead intent (kind → the emulator's
    action name), the counts a delivered account shows, and the census of the manifest's resources."""

    cloud: str  # the manifest's cloud.provider
    manifest: str
    creates: dict[Kind, str]  # the first is the AccessKey (AK/SK) kind
    delivered: dict[str, int]
    census: Callable[[EmulatorHandle, Path, Path], Census]


def _huawei_crash_census(cloud: EmulatorHandle, state_dir: Path, secrets_dir: Path) -> Census:
    return huawei_census(cloud, state_dir, secrets_dir, users=["courier"], workspaces=["ws-crash"],
                         endpoints=["ep-crash"])


CASES: dict[str, CrashCase] = {
    "alibaba": CrashCase(
        "alibabacloud", MANIFEST,
        {Kind.ACCESS_KEYS: "CreateAccessKey", Kind.LOGIN_PROFILE: "CreateLoginProfile",
         Kind.WORKSPACE: "CreateWorkspace", Kind.API_KEY: "CreateApiKey", Kind.ENDPOINT: "CreateVpcEndpoint"},
        {"ram.access_keys/courier": 1, "modelstudio.workspace/ws-crash": 1,
         "privatelink.endpoint/ep-crash": 1},
        lambda cloud, state_dir, secrets_dir: crash_census(cloud, state_dir, secrets_dir)),
    "huawei": CrashCase(
        "huaweicloud", HUAWEI_MANIFEST,
        {Kind.IAM_ACCESS_KEYS: "CreateAccessKeyV5", Kind.IAM_LOGIN_PROFILE: "CreateLoginProfileV5",
         Kind.MA_WORKSPACE: "CreateWorkspace", Kind.MAAS_API_KEY: "CreateMaasApiKey",
         Kind.VPCEP_ENDPOINT: "CreateEndpoint"},
        {"iam.access_keys/courier": 1, "modelarts.workspace/ws-crash": 1, "vpcep.endpoint/ep-crash": 1},
        _huawei_crash_census),
}

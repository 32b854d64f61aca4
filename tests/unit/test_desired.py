"""Manifest → desired specs: what is present, what is absent, what is adopted, who has expired."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from provision.desired.build import desired_from_manifest
from provision.desired.kinds import Spec
from provision.desired.model import Desired
from provision.desired.resources import (
    AccessKeysSpec,
    ApiKeySpec,
    AttachmentSpec,
    EndpointSpec,
    GrantSpec,
    LoginProfileSpec,
    MemberSpec,
    PolicySpec,
    UserSpec,
    WorkspaceSpec,
    Zone,
)
from provision.manifest import Manifest, load_manifest

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ZONES = [{"zone_id": "cn-beijing-a", "vswitch_id": "vsw-a1"},
         {"zone_id": "cn-beijing-h", "vswitch_id": "vsw-h1"}]


def manifest(site: str = "public", **sections: Any) -> Manifest:
    region = "cn-shanghai-finance-1" if site == "finance" else "cn-beijing"
    return Manifest.model_validate({"version": 1, "name": "d", "cloud": {"site": site, "region": region},
                                    **sections})


def by_key(specs: tuple[Spec, ...]) -> dict[str, Spec]:
    return {s.key: s for s in specs}


def test_example_maps_to_exactly_the_delivery_resources() -> None:
    desired = desired_from_manifest(load_manifest(MANIFESTS / "example.yaml"), NOW)
    assert sorted(by_key(desired.present)) == sorted([
        "ram.policy/AcmeBailianAppReader",
        "ram.user/acme-delivery", "ram.access_keys/acme-delivery",
        "ram.attachment/acme-delivery/System:AliyunBailianDataReadOnlyAccess",
        "ram.attachment/acme-delivery/Custom:AcmeBailianAppReader",
        "ram.user/acme-lead", "ram.login_profile/acme-lead", "ram.access_keys/acme-lead",
        "ram.attachment/acme-lead/System:AliyunBailianDataReadOnlyAccess",
        "modelstudio.workspace/agent-delivery",
        "modelstudio.grant/agent-delivery/qwen-plus", "modelstudio.grant/agent-delivery/qwen-turbo",
        "modelstudio.grant/agent-delivery/deepseek-v3",
        "modelstudio.api_key/agent-delivery/main",
        "modelstudio.member/agent-delivery/acme-delivery", "modelstudio.member/agent-delivery/acme-lead",
        "privatelink.endpoint/dashscope-bj",
    ])
    assert (desired.absent, desired.adopt, desired.expired) == ((), frozenset(), frozenset())
    assert len(desired.present) == len(by_key(desired.present))  # no key twice


def test_example_specs_carry_the_declared_fields() -> None:
    specs = by_key(desired_from_manifest(load_manifest(MANIFESTS / "example.yaml"), NOW).present)
    assert specs["ram.user/acme-delivery"] == UserSpec(
        user="acme-delivery", display_name="ACME delivery (agent acceptance)", email="delivery@acme.example",
        expires_at="2027-03-31T00:00:00Z")
    assert specs["ram.login_profile/acme-lead"] == LoginProfileSpec(
        user="acme-lead", password_reset_required=True, mfa_bind_required=True)
    assert specs["ram.access_keys/acme-lead"] == AccessKeysSpec(user="acme-lead", count=1)
    assert specs["modelstudio.api_key/agent-delivery/main"] == ApiKeySpec(
        workspace="agent-delivery", key_name="main", allowed_models=("qwen-plus", "qwen-turbo"),
        ip_allow_list=(), disabled=False, issued_to="acme-delivery")
    assert specs["modelstudio.member/agent-delivery/acme-lead"] == MemberSpec(
        workspace="agent-delivery", user="acme-lead", role="admin")
    assert specs["privatelink.endpoint/dashscope-bj"] == EndpointSpec(
        endpoint="dashscope-bj", region="cn-beijing", vpc_id="vpc-2zedemo0000000001",
        zones=(Zone("cn-beijing-a", "vsw-2zedemo00000000a1"), Zone("cn-beijing-h", "vsw-2zedemo00000000h1")),
        security_group_ids=("sg-2zedemo0000000001",), service_name="com.aliyuncs.dashscope")


def test_finance_endpoint_uses_the_service_id_and_finance_region() -> None:
    specs = by_key(desired_from_manifest(load_manifest(MANIFESTS / "finance.yaml"), NOW).present)
    endpoint = specs["privatelink.endpoint/dashscope-fin"]
    assert isinstance(endpoint, EndpointSpec)
    assert (endpoint.service_id, endpoint.service_name, endpoint.region) == (
        "epsrv-fin0dashscope00001", None, "cn-shanghai-finance-1")


def test_endpoint_region_override_wins_over_the_cloud_region() -> None:
    m = manifest(endpoints=[{"name": "ep", "region": "cn-hangzhou", "vpc_id": "vpc-1", "zones": ZONES,
                             "security_group_ids": ["sg-1"], "service_name": "com.aliyuncs.dashscope"}])
    endpoint = desired_from_manifest(m, NOW).present[0]
    assert isinstance(endpoint, EndpointSpec) and endpoint.region == "cn-hangzhou"


def test_policy_document_is_canonical_json() -> None:
    document = {"Version": 1, "Statement": [{"Resource": "*", "Effect": "Allow", "Action": ["sfm:Get*"]}]}
    spec = desired_from_manifest(manifest(policies=[{"name": "P", "document": document}]), NOW).present[0]
    assert isinstance(spec, PolicySpec)
    assert spec.document == (
        '{"Statement":[{"Action":["sfm:Get*"],"Effect":"Allow","Resource":"*"}],"Version":"1"}')
    assert json.loads(spec.document) == {**document, "Version": "1"}


def test_super_admin_attaches_bailian_full_access_once() -> None:
    for system in ([], ["AliyunBailianFullAccess"]):
        m = manifest(users=[{"name": "boss", "super_admin": {"reason": "runs every workspace"},
                             "policies": {"system": system}}])
        attachments = [s for s in desired_from_manifest(m, NOW).present if isinstance(s, AttachmentSpec)]
        assert attachments == [
            AttachmentSpec(user="boss", policy="AliyunBailianFullAccess", policy_type="System")]


def test_user_without_console_login_has_no_login_profile_but_declares_zero_keys() -> None:
    m = manifest(users=[{"name": "a", "console_login": {"enabled": False}}])
    specs = desired_from_manifest(m, NOW).present
    assert specs == (UserSpec(user="a"), AccessKeysSpec(user="a", count=0))


def test_all_models_is_one_grant_of_every_model() -> None:
    m = manifest(workspaces=[{"name": "ws", "models": "all", "api_keys": [{"name": "k"}]}])
    specs = desired_from_manifest(m, NOW).present
    assert specs == (WorkspaceSpec(workspace="ws"), GrantSpec(workspace="ws", model="*"),
                     ApiKeySpec(workspace="ws", key_name="k", allowed_models=(), ip_allow_list=(),
                                disabled=False))


def test_absent_top_level_items_go_to_absent_without_their_children() -> None:
    m = manifest(
        policies=[{"name": "Old", "state": "absent", "protect": True}],
        users=[{"name": "gone", "state": "absent", "access_keys": 1, "protect": True}],
        workspaces=[{"name": "old-ws", "state": "absent", "models": ["qwen-plus"],
                     "api_keys": [{"name": "k"}]}],
        endpoints=[{"name": "ep", "state": "absent", "vpc_id": "vpc-1", "zones": ZONES,
                    "security_group_ids": ["sg-1"], "service_name": "com.aliyuncs.dashscope"}],
    )
    desired = desired_from_manifest(m, NOW)
    assert desired.present == ()
    assert [s.key for s in desired.absent] == [
        "ram.policy/Old", "ram.user/gone", "modelstudio.workspace/old-ws", "privatelink.endpoint/ep"]
    protected = {s.key: s.protect for s in desired.absent
                 if isinstance(s, PolicySpec | UserSpec | WorkspaceSpec | EndpointSpec)}
    assert protected == {"ram.policy/Old": True, "ram.user/gone": True, "modelstudio.workspace/old-ws": False,
                         "privatelink.endpoint/ep": False}


def test_adopt_marks_the_keys_of_adopted_resources() -> None:
    m = manifest(users=[{"name": "a", "adopt": True}, {"name": "b"}],
                 workspaces=[{"name": "ws", "adopt": True}])
    assert desired_from_manifest(m, NOW).adopt == frozenset({"ram.user/a", "modelstudio.workspace/ws"})


def _expiring(expires_at: datetime) -> Manifest:
    return manifest(
        users=[{"name": "temp", "access_keys": 2, "console_login": {}, "expires_at": expires_at.isoformat(),
                "policies": {"system": ["AliyunBailianDataReadOnlyAccess"]}},
               {"name": "lead", "access_keys": 1}],
        workspaces=[{"name": "ws", "models": ["qwen-plus"],
                     "api_keys": [{"name": "temp-key", "issued_to": "temp"},
                                  {"name": "lead-key", "issued_to": "lead"}],
                     "members": [{"user": "temp", "role": "guest"}, {"user": "lead", "role": "admin"}]}])


def test_expired_user_stays_present_but_stripped_of_all_access() -> None:
    desired = desired_from_manifest(_expiring(NOW - timedelta(days=1)), NOW)
    assert desired.expired == frozenset({"temp"})
    temp = [s.key for s in desired.present if "temp" in s.key]
    assert temp == ["ram.user/temp", "ram.access_keys/temp"]
    assert by_key(desired.present)["ram.access_keys/temp"] == AccessKeysSpec(user="temp", count=0)
    assert "modelstudio.api_key/ws/lead-key" in by_key(desired.present)  # others keep theirs
    assert "modelstudio.member/ws/lead" in by_key(desired.present)


def test_expiry_is_inclusive_of_now_and_in_the_future_changes_nothing() -> None:
    assert desired_from_manifest(_expiring(NOW), NOW).expired == frozenset({"temp"})
    later: Desired = desired_from_manifest(_expiring(NOW + timedelta(seconds=1)), NOW)
    assert later.expired == frozenset()
    assert "ram.login_profile/temp" in by_key(later.present) and "modelstudio.api_key/ws/temp-key" in by_key(
        later.present)


def test_naive_now_is_taken_as_utc() -> None:
    naive = NOW.replace(tzinfo=None)
    assert desired_from_manifest(_expiring(NOW), naive).expired == frozenset({"temp"})

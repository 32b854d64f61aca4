"""The Huawei audit checks on hand-built facts (each check fires on its case and stays quiet otherwise), the
report in every format, and one audit of an emulated account read through the official SDKs."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime

from provision.audit.huawei import Declared, DeclaredUser, access_map, huawei_report
from provision.audit.model import DriftEntry, FieldDiff
from provision.audit.render import render
from provision.emulator.huawei.testing import HuaweiClients as EmuClients
from provision.emulator.testing import EmulatorHandle
from provision.providers.huawei.clients import HuaweiClients
from provision.providers.huawei.read import (
    AccessKey,
    ApiKey,
    AttachedPolicy,
    CallerIdentity,
    CustomPolicy,
    Grant,
    HuaweiAccount,
    LoginProfile,
    MfaDevice,
    User,
    Workspace,
    read_account,
)
from tests.huawei_checks.conftest import deliver

NOW = datetime(2026, 12, 1, tzinfo=UTC)
CALLER = CallerIdentity("d01", "d01", "iam::d01:root")
MARKED = (("managed-by", "provision"), ("provision-manifest", "delivery"))


def _user(name: str = "alice", **changes: object) -> User:
    base = User(
        user_id=f"id-{name}",
        name=name,
        description="",
        enabled=True,
        created="2026-11-01T00:00:00Z",
        tags=MARKED,
        access_keys=(AccessKey("AK1", "active", "2026-11-01T00:00:00Z", "2026-11-30T00:00:00Z"),),
        policies=(AttachedPolicy("p1", "PanguInvokePolicy", "system"),),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _account(*users: User, **changes: object) -> HuaweiAccount:
    return replace(HuaweiAccount(CALLER, "cn-southwest-2", "c01", users=users), **changes)  # type: ignore[arg-type]


def _ids(account: HuaweiAccount, declared: Declared | None = None) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for f in huawei_report(account, NOW, declared or Declared()).findings:
        found.setdefault(f.check_id, set()).add(f.resource)
    return found


def test_a_clean_delivery_has_no_findings() -> None:
    grant = Workspace(
        "w1", "agent-delivery", "NORMAL", "INTERNAL", "root", grants=(Grant("id-alice", "alice"),)
    )
    key = ApiKey(
        "k1",
        "main",
        "provision:agent-delivery/main to=alice managed-by=provision",
        False,
        ("10.0.0.0/8",),
        "2026-11-01T00:00:00Z",
    )
    assert _ids(_account(_user(), workspaces=(grant,), api_keys=(key,))) == {}


def test_console_without_mfa_fires_and_an_enabled_device_silences_it() -> None:
    login = LoginProfile(False, None, "2026-11-01T00:00:00Z")
    assert _ids(_account(_user(login_profile=login))) == {"HUAWEI-001": {"ram.user/alice"}}
    with_mfa = _user(login_profile=login, mfa_devices=(MfaDevice("mfa-1", True),))
    assert _ids(_account(with_mfa)) == {}
    unknown = huawei_report(_account(_user(login_profile=login, mfa_known=False)), NOW, Declared()).findings
    assert "bind state unknown" in unknown[0].evidence


def test_unused_and_second_keys() -> None:
    old_unused = AccessKey("AK2", "active", "2026-06-01T00:00:00Z", None)
    stale = AccessKey("AK3", "active", "2026-01-01T00:00:00Z", "2026-03-01T00:00:00Z")
    inactive = AccessKey("AK4", "inactive", "2026-01-01T00:00:00Z", None)
    found = _ids(_account(_user(access_keys=(old_unused, stale)), _user("bob", access_keys=(inactive,))))
    assert found == {
        "HUAWEI-002": {"ram.access_key/alice/AK2", "ram.access_key/alice/AK3"},
        "HUAWEI-003": {"ram.user/alice"},
    }
    fresh = AccessKey("AK5", "active", "2026-11-20T00:00:00Z", None)
    assert _ids(_account(_user(access_keys=(fresh,)))) == {}  # too new to call unused


def test_broad_policies_system_and_custom() -> None:
    admin = AttachedPolicy("p0", "FullAccess", "system")
    modelarts = AttachedPolicy("p2", "ModelArtsFullAccessPolicy", "system", via="group:ops")
    wide = CustomPolicy(
        "c1",
        "all-pangu",
        "",
        "v1",
        json.dumps({"Version": "5.0", "Statement": [{"Effect": "Allow", "Action": ["pangu:*"]}]}),
        1,
        "",
    )
    narrow = CustomPolicy(
        "c2",
        "list-keys",
        "",
        "v1",
        json.dumps(
            {"Version": "5.0", "Statement": [{"Effect": "Allow", "Action": ["modelarts:apiKey:list"]}]}
        ),
        1,
        "",
    )
    users = (
        _user(policies=(admin,)),
        _user("bob", policies=(modelarts,)),
        _user("carol", policies=(AttachedPolicy("c1", "all-pangu", "custom"),)),
        _user("dave", policies=(AttachedPolicy("c2", "list-keys", "custom"),)),
    )
    report = huawei_report(
        _account(*users, custom_policies=(wide, narrow)),
        NOW,
        Declared(
            users=(
                DeclaredUser(
                    "bob",
                    policies=("System:ModelArtsFullAccessPolicy",),
                    justified=(("ModelArtsFullAccessPolicy", "on-call"),),
                ),
            )
        ),
    )
    by = {(f.check_id, f.resource): f for f in report.findings}
    assert set(by) == {
        ("HUAWEI-004", "ram.user/alice"),
        ("HUAWEI-005", "ram.user/bob"),
        ("HUAWEI-005", "ram.user/carol"),
    }
    assert by[("HUAWEI-004", "ram.user/alice")].severity == "critical"
    bob = by[("HUAWEI-005", "ram.user/bob")].evidence
    assert "group:ops" in bob and "declared by the manifest" in bob and "manifest reason: on-call" in bob
    assert report.access_map.user("alice").privilege.super_admin  # type: ignore[union-attr]
    assert report.access_map.user("dave").privilege.label == "control read-only"  # type: ignore[union-attr]


def test_public_workspace_and_open_api_keys() -> None:
    public = Workspace("w2", "shared", "NORMAL", "PUBLIC", "root", grants=(Grant("id-alice", "alice"),))
    private = Workspace("w3", "mine", "NORMAL", "PRIVATE", "root")
    anywhere = ApiKey("k2", "open", "", True, (), "")
    empty = ApiKey("k3", "empty", "provision:shared/main managed-by=provision", False, (), "")
    found = huawei_report(
        _account(_user(), workspaces=(public, private), api_keys=(anywhere, empty)), NOW, Declared()
    ).findings
    assert {(f.check_id, f.resource) for f in found} == {
        ("HUAWEI-006", "modelstudio.workspace/shared"),
        ("HUAWEI-007", "modelstudio.api_key/maas/#k2"),
        ("HUAWEI-007", "modelstudio.api_key/shared/main"),
    }
    assert any("grant(s) have no effect" in f.evidence for f in found)


def test_expired_account_still_active_and_drift() -> None:
    granted = Workspace(
        "w1", "agent-delivery", "NORMAL", "INTERNAL", "root", grants=(Grant("id-alice", "alice"),)
    )
    drift = DriftEntry(
        "modelstudio.workspace/agent-delivery",
        "drift: changed outside provision",
        (FieldDiff("auth_type", "PUBLIC", "INTERNAL"),),
        drift=True,
    )
    declared = Declared(
        manifest_name="delivery",
        users=(DeclaredUser("alice", expires_at="2026-11-30T00:00:00Z"),),
        drift=(drift,),
    )
    report = huawei_report(_account(_user(), workspaces=(granted,)), NOW, declared)
    by = {f.check_id: f for f in report.findings}
    assert set(by) == {"HUAWEI-008", "HUAWEI-009"}
    assert by["HUAWEI-008"].evidence == (
        "expires_at 2026-11-30T00:00:00Z has passed; still has 1 active access "
        "key(s) and workspace grants (agent-delivery)"
    )
    assert by["HUAWEI-008"].manifest == "delivery" and by["HUAWEI-008"].user == "alice"
    assert "auth_type: account has PUBLIC, manifest says INTERNAL" in by["HUAWEI-009"].evidence
    assert [r.check_id for r in report.top_risks] == ["HUAWEI-008", "HUAWEI-009"]


def test_unmanaged_user_with_access() -> None:
    granted = Workspace(
        "w1", "agent-delivery", "NORMAL", "INTERNAL", "root", grants=(Grant("id-eve", "eve"),)
    )
    found = _ids(
        _account(
            _user("eve", tags=(), policies=()), _user("frank", tags=(), policies=()), workspaces=(granted,)
        )
    )
    assert found == {"HUAWEI-010": {"ram.user/eve"}}


def test_the_report_renders_in_every_format_with_the_huawei_checks() -> None:
    login = LoginProfile(False, None, "2026-11-01T00:00:00Z")
    report = huawei_report(_account(_user(login_profile=login)), NOW, Declared(manifest_name="delivery"))
    doc = json.loads(render(report, "json"))
    assert [c["check_id"] for c in doc["checks"]][:2] == ["HUAWEI-001", "HUAWEI-002"]
    assert doc["findings"][0]["check_id"] == "HUAWEI-001" and doc["summary"]["findings"] == 1
    for fmt in ("md", "html", "csv"):
        assert "HUAWEI-001" in render(report, fmt)
    assert access_map(_account(), NOW).cloud == "huaweicloud"


def test_an_emulated_delivery_audits_through_the_sdks(
    emulator: EmulatorHandle, hw: EmuClients, clients: HuaweiClients
) -> None:
    deliver(hw, allow_all=True)
    report = huawei_report(
        read_account(clients),
        NOW,
        Declared(manifest_name="", users=(DeclaredUser("alice", expires_at="2026-01-01T00:00:00Z"),)),
    )
    found = {(f.check_id, f.resource) for f in report.findings}
    assert {c for c, _ in found} == {"HUAWEI-001", "HUAWEI-007", "HUAWEI-008"}
    alice = report.access_map.user("alice")
    assert (
        alice is not None and alice.managed and [m.workspace for m in alice.memberships] == ["agent-delivery"]
    )
    assert alice.privilege.label == "control read-only, data full"
    assert any("MFA" in n for n in report.access_map.notes)


def test_docs_list_every_huawei_check_with_its_severity() -> None:
    from pathlib import Path

    from provision.audit.huawei_checks import HUAWEI_CHECKS

    text = (Path(__file__).resolve().parents[2] / "docs" / "audit.md").read_text()
    documented = re.findall(r"^\| (HUAWEI-\d{3}) \| ([a-z]+) \| ([^|]+) \|", text, re.MULTILINE)
    assert [(i, s) for i, s, _ in documented] == [(c.check_id, c.severity.value) for c in HUAWEI_CHECKS]

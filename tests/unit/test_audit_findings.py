"""The audit's checks on hand-built access maps: each fires on its risk and stays quiet without it."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from provision.audit.common import days_since, drift_entries
from provision.audit.findings import CHECKS, CHECKS_BY_ID, audit_report, run_checks
from provision.audit.model import (
    AccessKeyEntry,
    AccessMap,
    ApiKeyEntry,
    ConsoleAccess,
    DriftEntry,
    FieldDiff,
    Level,
    PolicyRef,
    Privilege,
    Severity,
    UserEntry,
    WorkspaceEntry,
)
from provision.audit.privilege import HeldPolicy, privilege_of
from provision.desired.live import Live
from provision.desired.resources import AccessKeysSpec, ApiKeySpec, AttachmentSpec, LoginProfileSpec, UserSpec
from provision.engine.flow import PlanResult
from provision.plan.diff import Action, Change, FieldChange, Plan

DOCS = Path(__file__).resolve().parents[2] / "docs" / "audit.md"


def key(key_id: str = "LTAI1", *, age: int = 10, used: int | None = 1,
        status: str = "Active") -> AccessKeyEntry:
    return AccessKeyEntry(access_key_id=key_id, status=status, created="2026-01-01T00:00:00Z", age_days=age,
                          last_used=None if used is None else "2026-05-01T00:00:00Z", last_used_days=used)


READER = "AliyunBailianDataReadOnlyAccess"
CLEAN_USER = UserEntry(name="alice", managed=True, declared="present", access_keys=(key(),),
                       privilege=Privilege(data=Level.READ_ONLY, sources=(f"System:{READER}",)),
                       policies=(PolicyRef(READER, "System"),))
CLEAN_KEY = ApiKeyEntry(workspace="ws", api_key_id="100001", key_name="main", issued_to="alice",
                        all_models=False, allowed_models=("qwen-plus",), ip_allow_list=("10.0.0.0/8",))
CLEAN = AccessMap(as_of="2026-05-02T00:00:00Z", users=(CLEAN_USER,),
                  workspaces=(WorkspaceEntry(name="ws", granted_models=("qwen-plus",)),),
                  api_keys=(CLEAN_KEY,))


def fired(access_map: AccessMap, check_id: str) -> list[tuple[str, str]]:
    return [(f.resource, f.evidence) for f in run_checks(access_map) if f.check_id == check_id]


def with_user(**changes: object) -> AccessMap:
    return replace(CLEAN, users=(replace(CLEAN_USER, **changes),))  # type: ignore[arg-type]


def with_key(**changes: object) -> AccessMap:
    return replace(CLEAN, api_keys=(replace(CLEAN_KEY, **changes),))  # type: ignore[arg-type]


def test_a_clean_account_has_no_findings() -> None:
    assert run_checks(CLEAN) == ()


# --- one test per check: fires, and does not fire ---------------------------------------------------


def test_001_console_user_without_mfa_device() -> None:
    risky = with_user(console=ConsoleAccess(mfa_bound=False, mfa_required=True, password_reset_required=True))
    assert fired(risky, "BAILIAN-001") == [
        ("ram.user/alice",
         "console login enabled; no MFA device bound (MFA required at sign-in, not bound yet)")]
    assert fired(with_user(console=ConsoleAccess(True, True, False)), "BAILIAN-001") == []


def test_002_active_key_older_than_90_days() -> None:
    assert fired(with_user(access_keys=(key(age=91),)), "BAILIAN-002") == [
        ("ram.access_key/alice/LTAI1", "active, created 2026-01-01T00:00:00Z (91 days ago)")]
    assert fired(with_user(access_keys=(key(age=90),)), "BAILIAN-002") == []
    assert fired(with_user(access_keys=(key(age=400, status="Inactive"),)), "BAILIAN-002") == []


def test_003_key_never_used_or_not_for_90_days() -> None:
    never = fired(with_user(access_keys=(key(age=91, used=None),)), "BAILIAN-003")
    assert [r for r, _ in never] == ["ram.access_key/alice/LTAI1"] and "never used" in never[0][1]
    # a key created less than the threshold ago is new, not unused
    assert fired(with_user(access_keys=(key(age=90, used=None),)), "BAILIAN-003") == []
    assert fired(with_user(access_keys=(key(age=0, used=None),)), "BAILIAN-003") == []
    stale = fired(with_user(access_keys=(key(used=91),)), "BAILIAN-003")
    assert stale == [("ram.access_key/alice/LTAI1", "active, last used 2026-05-01T00:00:00Z (91 days ago)")]
    assert fired(with_user(access_keys=(key(used=90),)), "BAILIAN-003") == []
    assert fired(with_user(access_keys=(key(used=None, status="Inactive"),)), "BAILIAN-003") == []


def test_004_more_than_one_active_key() -> None:
    two = with_user(access_keys=(key("LTAI1"), key("LTAI2")))
    assert fired(two, "BAILIAN-004") == [("ram.user/alice", "2 active AccessKeys: LTAI1, LTAI2")]
    assert fired(with_user(access_keys=(key("LTAI1"), key("LTAI2", status="Inactive"))), "BAILIAN-004") == []


def test_005_bailian_full_access_held_directly_or_through_a_group() -> None:
    via_group = with_user(policies=(PolicyRef("AliyunBailianFullAccess", "System", "group:admins"),),
                          justified=(("AliyunBailianFullAccess", "on-call platform owner"),))
    (resource, evidence), = fired(via_group, "BAILIAN-005")
    assert resource == "ram.user/alice" and "via group:admins" in evidence
    assert "manifest reason: on-call platform owner" in evidence
    custom_namesake = with_user(policies=(PolicyRef("AliyunBailianFullAccess", "Custom"),))
    assert fired(custom_namesake, "BAILIAN-005") == []
    assert fired(CLEAN, "BAILIAN-005") == []


def test_006_administrator_access_held() -> None:
    admin = with_user(policies=(PolicyRef("AdministratorAccess", "System"),))
    assert [r for r, _ in fired(admin, "BAILIAN-006")] == ["ram.user/alice"]
    assert CHECKS_BY_ID["BAILIAN-006"].severity is Severity.CRITICAL
    assert fired(CLEAN, "BAILIAN-006") == []


def test_007_expired_user_with_keys_or_login_left() -> None:
    expired = with_user(expired=True, expires_at="2026-04-01T00:00:00Z",
                        console=ConsoleAccess(True, True, False))
    assert fired(expired, "BAILIAN-007") == [
        ("ram.user/alice", "expires_at 2026-04-01T00:00:00Z has passed; still has 1 active AccessKey(s) and "
                           "console login")]
    stripped = with_user(expired=True, expires_at="2026-04-01T00:00:00Z",
                         access_keys=(key(status="Inactive"),))
    assert fired(stripped, "BAILIAN-007") == []
    assert fired(with_user(expires_at="2027-01-01T00:00:00Z"), "BAILIAN-007") == []


def test_008_unmanaged_user_with_any_model_studio_privilege() -> None:
    unmanaged = with_user(managed=False, declared="")
    assert fired(unmanaged, "BAILIAN-008") == [
        ("ram.user/alice", "not managed by provision; Model Studio privilege data read-only from "
                           "System:AliyunBailianDataReadOnlyAccess")]
    assert fired(with_user(managed=False, privilege=Privilege()), "BAILIAN-008") == []
    assert fired(CLEAN, "BAILIAN-008") == []


def test_009_every_drift_entry_is_a_finding_with_its_fields() -> None:
    drifted = replace(CLEAN, drift=(
        DriftEntry("ram.user/alice", "drift: display_name", (FieldDiff("display_name", "'X'", "'Alice'"),),
                   True),
        DriftEntry("ram.attachment/alice/System:AdministratorAccess", "in the account, not in the manifest"),
    ))
    assert fired(drifted, "BAILIAN-009") == [
        ("ram.attachment/alice/System:AdministratorAccess", "in the account, not in the manifest"),
        ("ram.user/alice", "drift: display_name (display_name: account has 'X', manifest says 'Alice')"),
    ]
    assert fired(CLEAN, "BAILIAN-009") == []


def test_010_workspace_with_every_model_granted() -> None:
    open_ws = replace(CLEAN, workspaces=(WorkspaceEntry(name="ws", all_models=True,
                                                        granted_models=("a", "b")),))
    assert [r for r, _ in fired(open_ws, "BAILIAN-010")] == ["modelstudio.workspace/ws"]
    assert fired(CLEAN, "BAILIAN-010") == []


def test_011_enabled_api_key_without_ip_allow_list() -> None:
    assert fired(with_key(ip_allow_list=()), "BAILIAN-011") == [
        ("modelstudio.api_key/ws/main",
         "enabled, no IP allow-list (callable from any address); models qwen-plus")]
    unmanaged = fired(with_key(ip_allow_list=(), key_name="", all_models=True), "BAILIAN-011")
    assert unmanaged == [("modelstudio.api_key/ws/#100001",
                          "enabled, no IP allow-list (callable from any address); all models")]
    assert fired(with_key(ip_allow_list=(), disabled=True), "BAILIAN-011") == []
    assert fired(CLEAN, "BAILIAN-011") == []


@pytest.mark.parametrize(("user", "why"), [
    (None, "does not exist in the account"),
    (replace(CLEAN_USER, expired=True, expires_at="2026-04-01T00:00:00Z"), "expired at 2026-04-01T00:00:00Z"),
    (replace(CLEAN_USER, declared="absent"), "is declared state: absent"),
], ids=["absent", "expired", "declared-absent"])
def test_012_enabled_api_key_of_a_revoked_or_absent_user(user: UserEntry | None, why: str) -> None:
    access_map = replace(CLEAN, users=(user,) if user else ())
    assert fired(access_map, "BAILIAN-012") == [("modelstudio.api_key/ws/main",
                                                 f"enabled; issued to alice, who {why}")]


def test_012_stays_quiet_for_disabled_keys_live_users_and_keys_issued_to_nobody() -> None:
    gone = replace(CLEAN, users=())
    assert fired(replace(gone, api_keys=(replace(CLEAN_KEY, disabled=True),)), "BAILIAN-012") == []
    assert fired(replace(gone, api_keys=(replace(CLEAN_KEY, issued_to=None),)), "BAILIAN-012") == []
    assert fired(CLEAN, "BAILIAN-012") == []


# --- the catalogue ---------------------------------------------------------------------------------


def test_findings_come_worst_first_then_by_check_and_resource() -> None:
    risky = with_user(policies=(PolicyRef("AdministratorAccess", "System"),),
                      access_keys=(key("LTAI2", age=100), key("LTAI1", age=100)))
    order = [(f.severity.value, f.check_id, f.resource) for f in run_checks(risky)]
    assert order == sorted(order, key=lambda o: (list(Severity).index(Severity(o[0])), o[1], o[2]))
    assert order[0][1] == "BAILIAN-006" and order[-1][1] == "BAILIAN-004"


def test_check_ids_are_unique_sequential_and_documented() -> None:
    ids = [c.check_id for c in CHECKS]
    assert ids == [f"BAILIAN-{n:03d}" for n in range(1, len(CHECKS) + 1)]
    documented = re.findall(r"^\| (BAILIAN-\d{3}) \| ([a-z]+) \|", DOCS.read_text(), re.MULTILINE)
    assert documented == [(c.check_id, c.severity.value) for c in CHECKS]


# --- privilege derived from policies ---------------------------------------------------------------


def held(name: str, policy_type: str = "System", document: object = None) -> HeldPolicy:
    return HeldPolicy(PolicyRef(name, policy_type), json.dumps(document) if document else "")


@pytest.mark.parametrize(("policies", "label"), [
    ([held("AliyunBailianFullAccess")], "super admin"),
    ([held("AdministratorAccess")], "super admin"),
    ([held("AliyunBailianControlFullAccess"), held("AliyunBailianDataReadOnlyAccess")],
     "control full, data read-only"),
    ([held("AliyunBailianControlReadOnlyAccess")], "control read-only"),
    ([held("AliyunBailianDataFullAccess"), held("AliyunBailianDataReadOnlyAccess")], "data full"),
    ([held("AliyunOSSFullAccess")], "none"),
    ([], "none"),
])
def test_system_policies_map_to_a_privilege_level(policies: list[HeldPolicy], label: str) -> None:
    assert privilege_of(policies).label == label


def statement(actions: object, effect: str = "Allow") -> dict[str, object]:
    return {"Version": "1", "Statement": [{"Effect": effect, "Action": actions, "Resource": "*"}]}


@pytest.mark.parametrize(("document", "label"), [
    (statement(["sfm:List*", "sfm:GetApplication"]), "data read-only"),
    (statement("modelstudio:*"), "control full"),
    (statement(["bailiancontrol:Describe*", "sfm:CreateIndex"]), "control read-only, data full"),
    (statement("*"), "super admin"),
    (statement("sfm:*", effect="Deny"), "none"),
    (statement("oss:GetObject"), "none"),
])
def test_custom_policies_are_classified_by_their_allowed_actions(document: object, label: str) -> None:
    privilege = privilege_of([held("Reader", "Custom", document)])
    assert privilege.label == label
    assert privilege.sources == (() if label == "none" else ("Custom:Reader",))


def test_an_unreadable_custom_document_grants_nothing_known() -> None:
    assert privilege_of([HeldPolicy(PolicyRef("Broken", "Custom"), "{not json")]).label == "none"


# --- the pure parts of collecting ------------------------------------------------------------------


def test_days_since_counts_whole_days_and_never_goes_negative() -> None:
    now = datetime(2026, 5, 1, 12, tzinfo=UTC)
    assert days_since("2026-01-31T12:00:01Z", now) == 89
    assert days_since("2026-01-31T12:00:00Z", now) == 90
    assert days_since("2026-06-01T00:00:00Z", now) == 0
    assert days_since(None, now) is None and days_since("garbage", now) is None


def test_drift_keeps_field_differences_and_hand_made_access_but_not_expired_leftovers() -> None:
    user = UserSpec(user="alice", display_name="Alice")
    attach = AttachmentSpec(user="alice", policy="AdministratorAccess")
    keys = AccessKeysSpec(user="bob", count=1)
    api_key = ApiKeySpec(workspace="ws", key_name="main")
    login = LoginProfileSpec(user="alice")
    plan = Plan(changes=[
        Change(user.key, Action.UPDATE, "drift: display_name", desired=user,
               live=Live(replace(user, display_name="X"), managed=True),
               fields=(FieldChange("display_name", "X", "Alice"),), drift=True),
        Change(attach.key, Action.DELETE, f"not declared under {user.key}", live=Live(attach, managed=True)),
        Change(keys.key, Action.UPDATE, "differs: count", desired=AccessKeysSpec(user="bob", count=0),
               live=Live(keys, managed=True), fields=(FieldChange("count", 1, 0),)),
        Change(api_key.key, Action.DELETE, "not declared under modelstudio.workspace/ws",
               live=Live(api_key, managed=True)),
        Change(login.key, Action.CREATE, "not found", desired=login),
    ])
    entries = list(drift_entries(PlanResult(plan, []), frozenset({"bob"}), {}, {("ws", "main"): "bob"}))
    assert entries == [
        DriftEntry(user.key, "drift: display_name", (FieldDiff("display_name", "'X'", "'Alice'"),), True),
        DriftEntry(attach.key, f"in the account, not in the manifest (not declared under {user.key})"),
    ]
    applied = {login.key: login}
    again = list(drift_entries(PlanResult(plan, []), frozenset({"bob"}), applied, {("ws", "main"): "bob"}))
    assert again[-1] == DriftEntry(login.key,
                                   "applied by provision earlier, now missing from the account", drift=True)


# --- wording fitted to the case ------------------------------------------------------------------


def fix_of(access_map: AccessMap, check_id: str) -> str:
    found, = [f for f in run_checks(access_map) if f.check_id == check_id]
    return found.fix


def test_001_fix_does_not_ask_to_declare_what_is_already_required() -> None:
    required = with_user(console=ConsoleAccess(mfa_bound=False, mfa_required=True,
                                               password_reset_required=False))
    assert "declare" not in fix_of(required, "BAILIAN-001").replace("nothing needs declaring", "")
    assert "bind a virtual MFA device" in fix_of(required, "BAILIAN-001")
    not_required = with_user(console=ConsoleAccess(False, False, False))
    assert "declare console_login.mfa_required: true for alice" in fix_of(not_required, "BAILIAN-001")
    unmanaged = with_user(console=ConsoleAccess(False, False, False), managed=False, declared="")
    assert "declare" not in fix_of(unmanaged, "BAILIAN-001")


def test_005_evidence_says_who_manages_the_attachment() -> None:
    full = PolicyRef("AliyunBailianFullAccess", "System")
    declared = with_user(policies=(full,), owner="acme", declared_policies=(full.ref,))
    assert "attached directly by provision: manifest acme declares it" in fired(declared, "BAILIAN-005")[0][1]
    by_hand = with_user(policies=(full,), owner="acme")
    assert "by hand: the user is managed by manifest acme, which does not declare it" in \
        fired(by_hand, "BAILIAN-005")[0][1]
    unmanaged = with_user(policies=(full,), managed=False)
    assert "by hand (the user is not managed by provision)" in fired(unmanaged, "BAILIAN-005")[0][1]


def test_findings_carry_their_manifest_and_user_and_group_into_top_risks() -> None:
    two_users = replace(CLEAN, manifest_name="acme", users=(
        replace(CLEAN_USER, console=ConsoleAccess(False, False, False), owner="acme"),
        replace(CLEAN_USER, name="bob", managed=False, console=ConsoleAccess(False, False, False))),
        api_keys=(replace(CLEAN_KEY, ip_allow_list=(), owner="acme"),))
    report = audit_report(two_users)
    mfa = [(f.manifest, f.user) for f in report.findings if f.check_id == "BAILIAN-001"]
    assert mfa == [("acme", "alice"), ("", "bob")]
    key_finding = next(f for f in report.findings if f.check_id == "BAILIAN-011")
    assert (key_finding.manifest, key_finding.user) == ("acme", "alice")  # the key's holder
    top = report.top_risks[0]
    assert (top.check_id, top.count, top.text) == ("BAILIAN-001", 2, "2 console users without MFA")

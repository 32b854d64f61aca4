"""Policy lint: privileged policies need an explicit, reasoned allow; risky delivery accounts warn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from provision.manifest import LintFinding, Manifest, finding_line, lint, load_manifest, report_lines

EVERYTHING = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
REASON = "break-glass account for the platform team"


def manifest(*users: dict[str, Any], policies: list[dict[str, Any]] | None = None) -> Manifest:
    return Manifest.model_validate({"version": 1, "name": "lint", "cloud": {"region": "cn-beijing"},
                                    "policies": policies or [], "users": list(users)})


def user(name: str = "alice", **fields: Any) -> dict[str, Any]:
    return {"name": name, "expires_at": "2027-01-01T00:00:00Z", **fields}


def codes(findings: list[LintFinding]) -> list[tuple[str, str, str]]:
    return [(f.level, f.code, f.field) for f in findings]


def test_bailian_full_access_without_a_reason_is_an_error() -> None:
    findings = lint(manifest(user(policies={"system": ["AliyunBailianDataReadOnlyAccess",
                                                       "AliyunBailianFullAccess"]})))
    assert codes(findings) == [("error", "LINT001", "users[0].policies.system[1]")]
    assert findings[0].user == "alice" and "account-wide" in findings[0].message


def test_bailian_full_access_with_an_allow_and_reason_passes() -> None:
    allow = [{"policy": "AliyunBailianFullAccess", "reason": REASON}]
    allowed = user(policies={"system": ["AliyunBailianFullAccess"]}, allow_privileged=allow)
    assert lint(manifest(allowed)) == []


def test_super_admin_is_its_own_explicit_allow_but_still_warns_it_is_account_wide() -> None:
    boss = user(super_admin={"reason": REASON}, policies={"system": ["AliyunBailianFullAccess"]})
    findings = lint(manifest(boss))
    assert codes(findings) == [("warning", "LINT006", "users[0].super_admin")]


@pytest.mark.parametrize("policy", ["AdministratorAccess", "AliyunRAMFullAccess"])
def test_account_admin_policies_need_an_allow(policy: str) -> None:
    assert codes(lint(manifest(user(policies={"system": [policy]})))) == [
        ("error", "LINT002", "users[0].policies.system[0]")]
    allow = [{"policy": policy, "reason": REASON}]
    assert lint(manifest(user(policies={"system": [policy]}, allow_privileged=allow))) == []


@pytest.mark.parametrize("action", ["*", "*:*", ["sfm:Get*", "*"]])
def test_custom_policy_allowing_every_action_is_an_error_when_attached(action: str | list[str]) -> None:
    document = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]}
    policies = [{"name": "Everything", "document": document}]
    attached = manifest(user(policies={"custom": ["Everything"]}), policies=policies)
    assert codes(lint(attached)) == [("error", "LINT003", "users[0].policies.custom[0]")]
    assert lint(manifest(user(), policies=policies)) == []  # declared but attached to nobody


def test_custom_policy_allowing_every_action_passes_with_an_allow() -> None:
    m = manifest(user(policies={"custom": ["Everything"]},
                      allow_privileged=[{"policy": "Everything", "reason": REASON}]),
                 policies=[{"name": "Everything", "document": EVERYTHING}])
    assert lint(m) == []


def test_deny_every_action_and_service_wildcards_are_not_flagged() -> None:
    document = {"Version": "1", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"},
                                              {"Effect": "Allow", "Action": "sfm:*", "Resource": "*"}]}
    m = manifest(user(policies={"custom": ["Guarded"]}), policies=[{"name": "Guarded", "document": document}])
    assert lint(m) == []


def test_console_login_without_mfa_warns() -> None:
    findings = lint(manifest(user(console_login={"enabled": True, "mfa_required": False})))
    assert codes(findings) == [("warning", "LINT004", "users[0].console_login.mfa_required")]


def test_disabled_console_login_without_mfa_does_not_warn() -> None:
    assert lint(manifest(user(console_login={"enabled": False, "mfa_required": False}))) == []


@pytest.mark.parametrize("fields", [{"access_keys": 1}, {"console_login": {"enabled": True}}])
def test_delivery_account_without_expiry_warns(fields: dict[str, Any]) -> None:
    findings = lint(manifest({"name": "bob", **fields}))
    assert codes(findings) == [("warning", "LINT005", "users[0].expires_at")]
    assert findings[0].user == "bob"


def test_user_without_keys_or_login_needs_no_expiry() -> None:
    assert lint(manifest({"name": "bob", "policies": {"system": ["AliyunBailianDataReadOnlyAccess"]}})) == []


def test_allow_for_a_policy_the_user_does_not_have_warns() -> None:
    findings = lint(manifest(user(allow_privileged=[{"policy": "AdministratorAccess", "reason": REASON}])))
    assert codes(findings) == [("warning", "LINT007", "users[0].allow_privileged[0].policy")]


def test_users_declared_absent_are_not_linted() -> None:
    absent = {"name": "gone", "state": "absent", "access_keys": 2,
              "policies": {"system": ["AdministratorAccess"]}}
    assert lint(manifest(absent)) == []


def test_findings_carry_the_line_of_the_field_when_loaded_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("version: 1\nname: lint\ncloud: {region: cn-beijing}\nusers:\n  - name: alice\n"
                    "    access_keys: 1\n    policies:\n      system:\n        - AliyunBailianFullAccess\n")
    findings = lint(load_manifest(path))
    assert [(f.code, f.line) for f in findings] == [("LINT001", 9), ("LINT005", 5)]


def test_findings_have_no_line_when_the_manifest_was_built_in_code() -> None:
    assert [f.line for f in lint(manifest({"name": "bob", "access_keys": 1}))] == [None]


def test_a_rule_firing_for_many_users_is_one_line_with_a_count_and_the_first_names() -> None:
    undated = [{"name": f"user-{i}", "access_keys": 1} for i in range(500)]
    findings = lint(manifest(*undated, user("dated", access_keys=1),
                             user("admin", policies={"system": ["AdministratorAccess"]})))
    warnings = report_lines("m.yaml", findings, "warning")
    assert warnings == ["m.yaml: warning [LINT005] 500 findings (user-0, user-1, user-2 and 497 more): "
                        "delivery accounts (console login or access keys) without expires_at; set one so "
                        "access ends with the engagement"]
    assert report_lines("m.yaml", findings, "error") == [finding_line("m.yaml", findings[-1])]
    errors = report_lines("m.yaml", findings, "error")
    assert "[LINT002] (user admin) users[501].policies.system[0]" in errors[0]

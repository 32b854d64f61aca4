"""Expiry end to end: a user past `expires_at` is revoked by plan/apply, `plan --only-expired` narrows
the plan to those revocations (what a scheduled CI job applies), and verify fails an expired account while
a key the sink holds for it still works. The dates come from a `--var` and the
clock from PROVISION_NOW, so no test depends on today's date.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_ram20150501.client import Client as RamClient
from old_credentials import caller_error, chat_status

from provision.state.secrets import SecretSink

if TYPE_CHECKING:
    from pathlib import Path

    from tests.e2e.conftest import Cli

pytestmark = pytest.mark.e2e

PAST = "2000-01-01T00:00:00Z"
FUTURE = "2999-01-01T00:00:00Z"
MANIFEST = """version: 1
name: expiry
cloud: {site: public, region: cn-beijing}
users:
  - name: contractor
    access_keys: 1
    console_login: {enabled: true}
    policies: {system: [AliyunBailianDataReadOnlyAccess]}
    expires_at: {{ contractor_expires }}
  - name: staff
    access_keys: 1
    policies: {system: [AliyunBailianDataReadOnlyAccess]}
    expires_at: 2999-01-01T00:00:00Z
workspaces:
  - name: ws-expiry
    models: [qwen-plus]
    api_keys:
      - {name: contractor-key, issued_to: contractor}
      - {name: staff-key, issued_to: staff}
"""
REVOKED = {"ram.access_keys/contractor", "ram.login_profile/contractor",
           "ram.attachment/contractor/System:AliyunBailianDataReadOnlyAccess",
           "modelstudio.api_key/ws-expiry/contractor-key"}


def manifest(cli: Cli) -> Path:
    return cli.manifest("expiry.yaml", MANIFEST)


def expires(moment: str) -> tuple[str, str]:
    return ("--var", f"contractor_expires={moment}")


def deliver(cli: Cli) -> dict[str, str]:
    """Apply with the contractor still valid; its secrets as the sink holds them."""
    result = cli("apply", "-m", manifest(cli), *expires(FUTURE), "--auto-approve")
    assert result.exit_code == 0, result.stdout + result.stderr
    return SecretSink(cli.secrets_dir).read("contractor")


def actionable(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["key"]: c for c in plan["changes"] if c["action"] in ("create", "update", "delete")}




def test_an_expired_account_is_revoked_by_plan_and_apply(cli: Cli) -> None:
    secrets = deliver(cli)
    assert cli("plan", "-m", manifest(cli), *expires(FUTURE), "--detailed-exitcode").exit_code == 0

    plan = cli("plan", "-m", manifest(cli), *expires(PAST), "--json").json()

    changes = actionable(plan)
    assert set(changes) == REVOKED
    reason = f"expired: contractor expired at {PAST}"
    assert all(c["reason"].startswith(reason) for c in changes.values())
    assert changes["ram.access_keys/contractor"]["action"] == "update"  # down to zero keys; the user stays

    applied = cli("apply", "-m", manifest(cli), *expires(PAST), "--auto-approve")

    assert applied.exit_code == 0, applied.stdout + applied.stderr
    assert caller_error(cli.cloud, secrets["ALIBABA_CLOUD_ACCESS_KEY_ID"],
                     secrets["ALIBABA_CLOUD_ACCESS_KEY_SECRET"]) == "InvalidAccessKeyId.NotFound"
    assert chat_status(cli.cloud, secrets["DASHSCOPE_API_KEY"]) == 401
    ram = RamClient(cli.cloud.sdk_config())
    assert ram.get_user(ram_models.GetUserRequest(user_name="contractor")).body.user.user_name == "contractor"
    assert SecretSink(cli.secrets_dir).access_keys("staff")  # the other account keeps its access
    assert cli("plan", "-m", manifest(cli), *expires(PAST), "--detailed-exitcode").exit_code == 0
    for output in cli.outputs:
        assert secrets["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] not in output
        assert secrets["DASHSCOPE_API_KEY"] not in output


def test_only_expired_narrows_the_plan_to_revocations_and_a_saved_plan_applies_only_them(cli: Cli) -> None:
    deliver(cli)
    staff_policy = ram_models.DetachPolicyFromUserRequest(
        user_name="staff", policy_type="System", policy_name="AliyunBailianDataReadOnlyAccess")
    RamClient(cli.cloud.sdk_config()).detach_policy_from_user(staff_policy)  # drift that is not expiry
    full = actionable(cli("plan", "-m", manifest(cli), *expires(PAST), "--json").json())
    assert set(full) == REVOKED | {"ram.attachment/staff/System:AliyunBailianDataReadOnlyAccess"}

    narrowed = cli("plan", "-m", manifest(cli), *expires(PAST), "--only-expired", "--out", "expired.json")

    assert narrowed.exit_code == 0, narrowed.stderr
    assert "staff" not in narrowed.stdout and "contractor" in narrowed.stdout
    applied = cli("apply", "expired.json", "--auto-approve", "--json")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    assert {o["key"] for o in applied.json()["done"]} == REVOKED
    after = actionable(cli("plan", "-m", manifest(cli), *expires(PAST), "--json").json())
    assert set(after) == {"ram.attachment/staff/System:AliyunBailianDataReadOnlyAccess"}  # left for review


def test_revoke_agrees_with_an_apply_that_already_revoked_the_expired_account(cli: Cli) -> None:
    deliver(cli)
    assert cli("apply", "-m", manifest(cli), *expires(PAST), "--auto-approve").exit_code == 0

    result = cli("revoke", "-m", manifest(cli), *expires(PAST), "--user", "contractor", "--auto-approve",
                 "--json")

    assert result.exit_code == 0, result.stdout + result.stderr
    record = result.json()
    assert {s["result"] for s in record["steps"]} == {"already gone"}
    assert record["ok"] and all(p["holds"] for p in record["proofs"])


def test_provision_now_is_the_clock_expiry_is_judged_by(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    expiry = "2027-03-31T00:00:00Z"
    deliver_on = cli("apply", "-m", manifest(cli), *expires(expiry), "--auto-approve")
    assert deliver_on.exit_code == 0, deliver_on.stdout + deliver_on.stderr  # PROVISION_NOW: 2026-12-01

    monkeypatch.setenv("PROVISION_NOW", "2027-03-31T00:00:01Z")  # the same manifest, a second too late
    late = actionable(cli("plan", "-m", manifest(cli), *expires(expiry), "--json").json())
    monkeypatch.setenv("PROVISION_NOW", "2027-03-30T23:59:59Z")
    early = cli("plan", "-m", manifest(cli), *expires(expiry), "--detailed-exitcode")

    assert set(late) == REVOKED
    reason = f"expired: contractor expired at {expiry}"
    assert all(c["reason"].startswith(reason) for c in late.values())
    assert early.exit_code == 0, early.stdout


def test_a_malformed_provision_now_is_refused_before_any_call(offline_cli: Cli,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVISION_NOW", "next tuesday")

    result = offline_cli("plan", "-m", offline_cli.manifests / "example.yaml")

    assert result.exit_code == 1
    assert "PROVISION_NOW 'next tuesday': expected an ISO-8601 time" in result.stderr


def test_verify_fails_an_expired_account_while_a_key_the_sink_holds_still_works(cli: Cli) -> None:
    key_id = deliver(cli)["ALIBABA_CLOUD_ACCESS_KEY_ID"]
    staff_key = next(iter(SecretSink(cli.secrets_dir).access_keys("staff")))
    access = f"revoked/contractor/access-key/{key_id}"
    api = "revoked/contractor/api-key/ws-expiry/contractor-key"

    working = verify_rows(cli)
    RamClient(cli.cloud.sdk_config()).delete_access_key(ram_models.DeleteAccessKeyRequest(
        user_name="contractor", user_access_key_id=key_id))  # outside the tool: the sink still holds it
    half = verify_rows(cli)
    assert cli("apply", "-m", manifest(cli), *expires(PAST), "--auto-approve").exit_code == 0
    stripped = verify_rows(cli)

    assert {id_ for id_, row in working.items() if not row["passed"]} == {access, api}
    diagnosis = working[access]["diagnosis"]
    assert diagnosis.startswith(
        f"expired account still has a working key: run provision apply -m {manifest(cli)} ")
    assert diagnosis.endswith("(or revoke); still authenticates as acs:ram::1000000000000001:user/contractor")
    assert working[access]["entry"].startswith("users[0].expires_at (")
    assert working[api]["status"] == 200
    assert working[api]["diagnosis"].startswith("expired account still has a working key")
    assert working[f"access-key/staff/{staff_key}"]["passed"]  # the other account is verified as before
    assert half[access]["passed"] and half[access]["code"] == "InvalidAccessKeyId.NotFound"
    assert not half[api]["passed"]
    assert all(row["passed"] for row in stripped.values())
    assert stripped["revoked/contractor"]["diagnosis"] == "the secrets sink holds no key of contractor"


def verify_rows(cli: Cli) -> dict[str, dict[str, Any]]:
    """``provision verify --json`` with the contractor expired: the results by id (exit code checked)."""
    result = cli("verify", "-m", manifest(cli), *expires(PAST), "--json")
    rows = {row["id"]: row for row in result.json()}
    assert result.exit_code == (0 if all(row["passed"] for row in rows.values()) else 1)
    return rows

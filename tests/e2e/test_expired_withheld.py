"""An expired user's declared access is shown, never dropped: the plan lists what is removed or withheld
because the user expired ("expired at T"), and verify shows the checks it no longer runs as skipped, with
the reason, in text and JSON. The clock is PROVISION_NOW (2026-12-01, set for every test)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pathlib import Path

    from tests.e2e.conftest import Cli

pytestmark = pytest.mark.e2e

PAST = "2026-06-30T00:00:00Z"
FUTURE = "2999-01-01T00:00:00Z"
MANIFEST = """version: 1
name: withheld
cloud: {site: public, region: cn-beijing}
users:
  - name: contractor
    access_keys: 1
    console_login: {enabled: true}
    policies: {system: [AliyunBailianDataReadOnlyAccess]}
    expires_at: {{ until }}
  - name: staff
    access_keys: 1
workspaces:
  - name: ws-withheld
    models: [qwen-plus]
    api_keys:
      - {name: contractor-key, issued_to: contractor}
      - {name: staff-key, issued_to: staff}
    members:
      - {user: contractor, role: guest}
verify:
  checks:
    - {workspace: ws-withheld, api_key: contractor-key, model: qwen-plus}
    - {workspace: ws-withheld, api_key: staff-key, model: qwen-plus}
"""
WITHHELD = {"ram.login_profile/contractor",
            "ram.attachment/contractor/System:AliyunBailianDataReadOnlyAccess",
            "modelstudio.api_key/ws-withheld/contractor-key", "modelstudio.member/ws-withheld/contractor"}


def manifest(cli: Cli) -> Path:
    return cli.manifest("withheld.yaml", MANIFEST)


def until(moment: str) -> tuple[str, str]:
    return ("--var", f"until={moment}")


def by_key(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["key"]: c for c in plan["changes"]}


def test_a_user_expired_before_delivery_has_its_access_listed_as_withheld(cli: Cli) -> None:
    plan = by_key(cli("plan", "-m", manifest(cli), *until(PAST), "--json").json())
    text = cli("plan", "-m", manifest(cli), *until(PAST)).stdout

    for key in WITHHELD:
        assert plan[key]["action"] == "no-op", key
        assert plan[key]["reason"] == f"withheld: contractor expired at {PAST}"
        assert plan[key]["expired"] == "contractor"
        assert f"{key} (withheld: contractor expired at {PAST})" in text
    assert plan["ram.access_keys/contractor"]["reason"] == f"withheld: contractor expired at {PAST}"
    assert plan["modelstudio.api_key/ws-withheld/staff-key"]["action"] == "create"
    assert "Withheld (declared for users past expires_at: not created)" in text
    applied = cli("apply", "-m", manifest(cli), *until(PAST), "--auto-approve", "--json")
    assert applied.exit_code == 0, applied.stderr
    assert not {o["key"] for o in applied.json()["done"]} & WITHHELD


def test_a_user_expired_after_delivery_has_its_access_removed_with_the_reason(cli: Cli) -> None:
    delivered = cli("apply", "-m", manifest(cli), *until(FUTURE), "--auto-approve")
    assert delivered.exit_code == 0, delivered.stderr

    plan = by_key(cli("plan", "-m", manifest(cli), *until(PAST), "--json").json())

    reason = f"expired: contractor expired at {PAST}"
    for key in WITHHELD - {"modelstudio.member/ws-withheld/contractor"}:
        assert plan[key]["action"] == "delete" and plan[key]["reason"] == reason, key
    member = plan["modelstudio.member/ws-withheld/contractor"]  # never added in the console (the probe says)
    assert member["action"] == "no-op" and member["reason"] == f"withheld: contractor expired at {PAST}"


def test_verify_shows_the_checks_of_an_expired_user_as_skipped_with_the_reason(cli: Cli) -> None:
    assert cli("apply", "-m", manifest(cli), *until(PAST), "--auto-approve").exit_code == 0

    result = cli("verify", "-m", manifest(cli), *until(PAST), "--json")
    text = cli("verify", "-m", manifest(cli), *until(PAST))

    rows = {row["id"]: row for row in result.json()}
    why = f"skipped: contractor expired at {PAST}"
    skipped = {id_ for id_, row in rows.items() if row["skipped"]}
    assert skipped == {"verify.checks[0]", "member/ws-withheld/contractor"}
    assert all(rows[id_]["diagnosis"].startswith(why) and not rows[id_]["passed"] for id_ in skipped)
    assert rows["verify.checks[0]"]["entry"].startswith("verify.checks[0] (")
    assert rows["verify.checks[1].chat"]["passed"]  # the other user's key is verified as before
    assert result.exit_code == 0 and text.exit_code == 0, text.stdout
    lines = [line for line in text.stdout.splitlines() if line.startswith(("verify.checks[0] ", "member/"))]
    assert len(lines) == 2 and all("skipped" in line and why in line for line in lines)
    assert text.stdout.rstrip().endswith("failed, 2 skipped")

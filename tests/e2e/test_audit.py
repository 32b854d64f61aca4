"""provision audit end to end: a seeded account with known risks, read through the official SDKs."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from alibabacloud_modelstudio20260210.client import Client as ModelStudioClient
from alibabacloud_modelstudio20260210.models import CreateApiKeyRequest
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_ram20150501.models import (
    AttachPolicyToUserRequest,
    CreateAccessKeyRequest,
    CreateLoginProfileRequest,
    CreateUserRequest,
    UpdateUserRequest,
)

if TYPE_CHECKING:
    from tests.e2e.conftest import Cli

pytestmark = pytest.mark.e2e

DAY_S = 86400
FAR = "2099-01-01T00:00:00Z"  # expiry that never passes during these tests


@dataclass(frozen=True)
class Seeded:
    """What the test made by hand next to the manifest's resources."""

    contractor_keys: tuple[str, ...]
    contractor_secrets: tuple[str, ...]
    hand_key_id: str


def apply_example(cli: Cli, expires: str) -> Path:
    manifest = cli.manifests / "example.yaml"
    result = cli("apply", "-m", manifest, "--var", f"expires={expires}", "--auto-approve")
    assert result.exit_code == 0, result.stderr
    return manifest


def seed_risks(cli: Cli) -> Seeded:
    """An unmanaged super admin with two keys, a console user without MFA, an API key open to any address,
    a display name changed by hand, and the manifest's members added in the console."""
    ram = RamClient(cli.cloud.sdk_config())
    ram.create_user(CreateUserRequest(user_name="contractor", display_name="Contractor"))
    ram.attach_policy_to_user(AttachPolicyToUserRequest(
        policy_type="System", policy_name="AliyunBailianFullAccess", user_name="contractor"))
    created = [ram.create_access_key(CreateAccessKeyRequest(user_name="contractor")).body.access_key
               for _ in range(2)]
    ram.create_user(CreateUserRequest(user_name="console-only", display_name="Console only"))
    ram.create_login_profile(CreateLoginProfileRequest(
        user_name="console-only", password="Zq7!long-Enough-pass", password_reset_required=False,
        mfabind_required=False))
    ram.update_user(UpdateUserRequest(user_name="acme-lead", new_display_name="Changed by hand"))
    workspace_id = cli.workspace_id("agent-delivery")
    studio = ModelStudioClient(cli.cloud.sdk_config())
    hand_key = studio.create_api_key(CreateApiKeyRequest(workspace_id=workspace_id,
                                                         description="made by hand"))
    for user, role in (("acme-delivery", "guest"), ("acme-lead", "admin")):
        cli.cloud.add_member(workspace_id, user, role)
    return Seeded(contractor_keys=tuple(k.access_key_id for k in created),
                  contractor_secrets=tuple(k.access_key_secret for k in created),
                  hand_key_id=str(hand_key.body.api_key.api_key_id))


def audit(cli: Cli, manifest: Path, fmt: str, *args: str) -> str:
    out = cli.home / f"audit.{fmt}"
    result = cli("audit", "-m", manifest, "--format", fmt, "--out", out,
                 "--as-of", cli.cloud.world.clock.iso(), *args)
    assert result.exit_code == 0, result.stderr
    assert out.exists() and result.stdout == ""
    return out.read_text()


def pairs(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(f["check_id"], f["resource"]) for f in document["findings"]}


def access_key_ids(document: dict[str, Any], user: str) -> list[str]:
    entry = next(u for u in document["access_map"]["users"] if u["name"] == user)
    return [k["access_key_id"] for k in entry["access_keys"]]


class _Html(HTMLParser):
    """Tags, external references and visible text of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.external: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href") and value and not value.startswith("#"):
                self.external.append(value)
        if tag == "link":
            self.external.append(str(dict(attrs).get("href")))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse_html(text: str) -> _Html:
    parser = _Html()
    parser.feed(text)
    return parser


# --- the seeded account ------------------------------------------------------------------------------


def test_audit_of_a_seeded_account_reports_exactly_the_known_findings(cli: Cli) -> None:
    manifest = apply_example(cli, FAR)
    seeded = seed_risks(cli)
    cli.cloud.advance_clock(91 * DAY_S)

    document = json.loads(audit(cli, manifest, "json"))
    delivery_key, = access_key_ids(document, "acme-delivery")
    lead_key, = access_key_ids(document, "acme-lead")
    first, second = seeded.contractor_keys
    every_key = [f"ram.access_key/acme-delivery/{delivery_key}", f"ram.access_key/acme-lead/{lead_key}",
                 f"ram.access_key/contractor/{first}", f"ram.access_key/contractor/{second}"]
    assert pairs(document) == {
        ("BAILIAN-001", "ram.user/acme-lead"),  # mfa_required, but no device bound yet
        ("BAILIAN-001", "ram.user/console-only"),
        *(("BAILIAN-002", key) for key in every_key),  # 91 days old
        *(("BAILIAN-003", key) for key in every_key),  # none used since it was created
        ("BAILIAN-004", "ram.user/contractor"),
        ("BAILIAN-005", "ram.user/contractor"),
        ("BAILIAN-008", "ram.user/contractor"),
        ("BAILIAN-009", "ram.user/acme-lead"),
        ("BAILIAN-011", "modelstudio.api_key/agent-delivery/main"),
        ("BAILIAN-011", f"modelstudio.api_key/agent-delivery/#{seeded.hand_key_id}"),
    }
    super_admin = next(f for f in document["findings"] if f["check_id"] == "BAILIAN-005")
    assert "attached directly, by hand (the user is not managed by provision)" in super_admin["evidence"]
    drift = next(f for f in document["findings"] if f["check_id"] == "BAILIAN-009")
    assert "display_name" in drift["evidence"] and "'Changed by hand'" in drift["evidence"]
    assert [f["severity"] for f in document["findings"]][:3] == ["high"] * 3  # worst first
    assert document["summary"]["by_severity"] == {"critical": 0, "high": 4, "medium": 11, "low": 1,
                                                  "info": 0}
    assert document["summary"]["users"] == 4 and document["summary"]["managed_users"] == 2

    users = {u["name"]: u for u in document["access_map"]["users"]}
    assert users["contractor"]["privilege"]["label"] == "super admin" and not users["contractor"]["managed"]
    assert users["acme-delivery"]["privilege"]["label"] == "data read-only"
    assert users["acme-lead"]["memberships"] == [{"workspace": "agent-delivery", "role": "admin",
                                                  "source": "probe"}]
    assert users["console-only"]["console"] == {"mfa_bound": False, "mfa_required": False,
                                                "password_reset_required": False}
    assert all(k["age_days"] == 91 for u in users.values() for k in u["access_keys"])
    keys = {k["resource"]: k for k in document["access_map"]["api_keys"]}
    assert keys["modelstudio.api_key/agent-delivery/main"]["issued_to"] == "acme-delivery"
    assert keys["modelstudio.api_key/agent-delivery/main"]["allowed_models"] == ["qwen-plus", "qwen-turbo"]
    workspace, = document["access_map"]["workspaces"]
    assert workspace["managed"] and not workspace["all_models"]
    assert workspace["granted_models"] == ["deepseek-v3", "qwen-plus", "qwen-turbo"]
    endpoint, = document["access_map"]["endpoints"]
    assert (endpoint["name"], endpoint["vpc_id"], endpoint["status"]) == (
        "dashscope-bj", "vpc-2zedemo0000000001", "Active")
    assert [z["zone_id"] for z in endpoint["zones"]] == ["cn-beijing-a", "cn-beijing-h"]

    rows = list(csv.DictReader(io.StringIO(audit(cli, manifest, "csv"))))
    again = json.loads(audit(cli, manifest, "json"))
    assert {(r["check_id"], r["resource"]) for r in rows} == pairs(again)
    assert len(rows) == len(again["findings"])
    # The first audit's membership probes signed with the members' own keys: that counts as a use.
    assert pairs(document) - pairs(again) == {("BAILIAN-003", every_key[0]), ("BAILIAN-003", every_key[1])}
    assert all(r["severity"] and r["evidence"] and r["fix"] for r in rows)

    page = audit(cli, manifest, "html")
    html = parse_html(page)
    assert "table" in html.tags and html.external == []
    text = " ".join(html.text)
    assert "Summary" in text and text.index("Summary") < text.index("Findings") < text.index("Access map")
    assert {f["check_id"] for f in document["findings"]} <= set(text.split())
    assert "ram.user/contractor" in text and "Changed by hand" in text

    markdown = audit(cli, manifest, "md")
    assert "| **high** | BAILIAN-005" in markdown

    leaks = [*seeded.contractor_secrets, *cli.secrets(), cli.cloud.root_secret]
    for output in (page, markdown, json.dumps(document), *cli.outputs):
        assert not [s for s in leaks if s in output]


def test_expired_account_with_keys_and_api_key_is_flagged_critical(cli: Cli) -> None:
    expires = (cli.cloud.world.clock.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    manifest = apply_example(cli, expires)
    cli.cloud.advance_clock(2 * DAY_S)

    document = json.loads(audit(cli, manifest, "json", "--var", f"expires={expires}"))
    found = pairs(document)
    assert ("BAILIAN-007", "ram.user/acme-delivery") in found
    assert ("BAILIAN-007", "ram.user/acme-lead") in found
    assert ("BAILIAN-012", "modelstudio.api_key/agent-delivery/main") in found
    assert not any(check == "BAILIAN-009" for check, _ in found)  # expiry leftovers are not drift
    lead = next(f for f in document["findings"] if f["resource"] == "ram.user/acme-lead"
                and f["check_id"] == "BAILIAN-007")
    assert lead["severity"] == "critical" and "console login" in lead["evidence"]


def test_audit_to_stdout_prints_the_report_and_a_one_line_summary(cli: Cli) -> None:
    manifest = apply_example(cli, FAR)
    result = cli("audit", "-m", manifest, "--format", "json", "--var", f"expires={FAR}")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["schema"] == "provision.audit/1"
    assert f"audit: {len(document['findings'])} finding(s)" in result.stderr
    # keys created minutes ago are new, not "unused"; the lead's MFA is already required
    assert not [f for f in document["findings"] if f["check_id"] == "BAILIAN-003"]
    mfa, = [f for f in document["findings"] if f["check_id"] == "BAILIAN-001"]
    assert (mfa["manifest"], mfa["user"]) == ("acme-agent-delivery", "acme-lead")
    assert "declare" not in mfa["fix"].replace("nothing needs declaring", "")


def test_audit_refuses_an_unreadable_as_of_time(offline_cli: Cli) -> None:
    result = offline_cli("audit", "-m", offline_cli.manifests / "example.yaml", "--as-of", "next tuesday")
    assert result.exit_code == 1 and "--as-of 'next tuesday'" in result.stderr

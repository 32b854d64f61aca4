"""The whole story in one test: deliver, prove it works, take it back, prove it is gone, audit shows nothing.

apply example.yaml → verify passes → revoke the delivery account after acceptance → the old credentials
fail (verify's credential checks and the SDKs directly) → audit shows no remaining access for that account.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from old_credentials import caller_error, chat_status

from provision.state.secrets import SecretSink

if TYPE_CHECKING:
    from tests.e2e.conftest import Cli

pytestmark = pytest.mark.e2e

USER = "acme-delivery"
LEAD = "acme-lead"
DELIVERED = ("--var", "expires=2999-01-01T00:00:00Z")  # during the engagement
ACCEPTED = ("--var", "expires=2026-11-30T00:00:00Z")  # the manifest after acceptance: already past


def test_deliver_verify_revoke_prove_and_audit_show_no_remaining_access(cli: Cli) -> None:
    manifest = cli.manifests / "example.yaml"

    # 1. deliver
    applied = cli("apply", "-m", manifest, *DELIVERED, "--auto-approve")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    workspace_id = cli.workspace_id("agent-delivery")
    for user, role in ((USER, "guest"), (LEAD, "admin")):  # the console step, done by a human
        cli.cloud.add_member(workspace_id, user, role)

    # 2. verify: every check passes
    verified = cli("verify", "-m", manifest, *DELIVERED, "--json")
    assert verified.exit_code == 0, verified.stdout
    rows = {row["id"]: row for row in verified.json()}
    assert all(row["passed"] for row in rows.values())
    old = SecretSink(cli.secrets_dir).read(USER)
    old_key_id, old_secret = old["ALIBABA_CLOUD_ACCESS_KEY_ID"], old["ALIBABA_CLOUD_ACCESS_KEY_SECRET"]
    old_api_key = old["DASHSCOPE_API_KEY"]
    assert f"access-key/{USER}/{old_key_id}" in rows

    # 3. revoke after acceptance (the manifest now says the account has expired)
    revoked = cli("revoke", "-m", manifest, *ACCEPTED, "--user", USER, "--auto-approve", "--json")
    assert revoked.exit_code == 0, revoked.stdout + revoked.stderr

    left = [key for key in cli.state().applied() if f"/{USER}" in key and not key.startswith("ram.user/")
            and not key.startswith("modelstudio.member/")]
    assert left == [], "revoked access must leave the last-applied record (else it reads as drift)"

    # 4. verify holds the expired accounts to the manifest: every key the sink still holds must be refused.
    # The delivery account's are gone; the lead expired too (the same date) but was not revoked yet ...
    after = cli("verify", "-m", manifest, *ACCEPTED, "--json")
    assert after.exit_code == 1
    rows = {row["id"]: row for row in after.json()}
    lead_key_id = next(iter(SecretSink(cli.secrets_dir).access_keys(LEAD)))
    failed = {i for i, row in rows.items() if not row["passed"] and not row["skipped"]}
    assert failed == {f"revoked/{LEAD}/access-key/{lead_key_id}"}
    assert rows[f"revoked/{LEAD}/access-key/{lead_key_id}"]["diagnosis"].startswith(
        f"expired account still has a working key: run provision apply -m {manifest} ")
    assert rows[f"revoked/{USER}"]["passed"]  # revoke dropped its dead secrets from the sink
    # its API key must not work any more: the check of it is not run, and says why
    checks = [row for i, row in rows.items() if i.startswith("verify.checks")]
    assert checks and all(row["skipped"] and " expired at " in row["diagnosis"] for row in checks)
    assert all(row["skipped"] for i, row in rows.items() if i.startswith("member/"))
    # ... and straight through the SDKs with the credentials captured before the revoke
    assert caller_error(cli.cloud, old_key_id, old_secret) in ("InvalidAccessKeyId.NotFound",
                                                                "InvalidAccessKeyId.Inactive")
    assert chat_status(cli.cloud, old_api_key) == 401

    # 5. audit: no remaining access for that account
    audited = cli("audit", "-m", manifest, *ACCEPTED, "--format", "json")
    assert audited.exit_code == 0, audited.stderr
    report = json.loads(audited.stdout)
    user = next(u for u in report["access_map"]["users"] if u["name"] == USER)
    assert user["access_keys"] == [] and user["console"] is None and user["policies"] == []
    assert not [k for k in report["access_map"]["api_keys"] if k.get("issued_to") == USER]
    about_user = [f for f in report["findings"] if f["resource"].startswith(f"ram.user/{USER}")
                  or f"/{USER}/" in f["resource"]]
    assert not about_user, about_user
    for output in cli.outputs:
        assert old_secret not in output and old_api_key not in output

"""Honest exit codes: a declared resource that is not delivered (blocked by an unmanaged look-alike, a key
whose secret the tool stored and nobody handed off) makes `plan --detailed-exitcode` exit 2 with a headline
saying what and how to fix it; a secret handed off (`provision handoff`) stays a warning."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import pytest
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_ram20150501.models import CreateUserRequest

from provision.state.secrets import SecretSink

if TYPE_CHECKING:
    from tests.e2e.conftest import Cli

pytestmark = pytest.mark.e2e

MANIFEST = """version: 1
name: honest
cloud: {site: public, region: cn-beijing}
users:
  - name: courier
    access_keys: 1
"""
MATCHES = "No changes. The account matches the manifest."


def test_a_user_blocked_by_an_unmanaged_look_alike_is_a_difference(cli: Cli) -> None:
    RamClient(cli.cloud.sdk_config()).create_user(CreateUserRequest(user_name="courier", comments="by hand"))
    manifest = cli.manifest("honest.yaml", MANIFEST)

    text = cli("plan", "-m", manifest, "--detailed-exitcode")
    document = cli("plan", "-m", manifest, "--json").json()
    markdown = cli("plan", "-m", manifest, "--markdown").stdout

    assert text.exit_code == 2, text.stdout + text.stderr
    assert MATCHES not in text.stdout and MATCHES not in markdown
    assert text.stdout.startswith("Not delivered: 1 declared resource(s)")
    assert "✗ ram.user/courier: blocked by an unmanaged look-alike" in text.stdout
    assert "declare adopt: true on it" in text.stdout
    assert [line.split(":")[0] for line in document["undelivered"]] == ["ram.user/courier"]
    assert "**Not delivered: 1 declared resource(s)" in markdown


def test_a_secret_the_tool_stored_and_nobody_handed_off_is_lost(cli: Cli) -> None:
    manifest = cli.manifest("honest.yaml", MANIFEST)
    assert cli("apply", "-m", manifest, "--auto-approve").exit_code == 0
    [key_id] = SecretSink(cli.secrets_dir).access_keys("courier")
    shutil.rmtree(cli.secrets_dir)

    plan = cli("plan", "-m", manifest, "--detailed-exitcode")

    assert plan.exit_code == 2, plan.stdout + plan.stderr
    assert (f"✗ ram.access_keys/courier: secret of {key_id} missing from the secrets sink, and no hand-off "
            "of it was recorded (the secret is lost): rotate with --rotate-missing-secrets") in plan.stdout
    assert MATCHES not in plan.stdout


def test_a_handed_off_secret_stays_a_warning(cli: Cli) -> None:
    manifest = cli.manifest("honest.yaml", MANIFEST)
    assert cli("apply", "-m", manifest, "--auto-approve").exit_code == 0
    [key_id] = SecretSink(cli.secrets_dir).access_keys("courier")
    print_ = SecretSink(cli.secrets_dir).held()[key_id]

    handed = cli("handoff")
    shutil.rmtree(cli.secrets_dir)
    plan = cli("plan", "-m", manifest, "--detailed-exitcode")

    assert handed.exit_code == 0, handed.stdout + handed.stderr
    assert f"handed off: {key_id} ({print_})" in handed.stdout
    record = cli.state().secret_records()[key_id]
    assert (record.key, record.fingerprint, record.handed_off_at is not None) == (
        "ram.access_keys/courier", print_, True)
    assert plan.exit_code == 0, plan.stdout + plan.stderr
    assert MATCHES in plan.stdout
    assert f"! ram.access_keys/courier: secret of {key_id} missing from the secrets sink" in plan.stdout

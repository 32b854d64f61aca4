"""Keys whose secret the sink lacks (a fresh CI runner, a lost file): reported by default, rotated only with
--rotate-missing-secrets. The official SDKs against the emulator, driven through the CLI."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_ram20150501.models import ListAccessKeysRequest

from provision.state.secrets import SecretSink

if TYPE_CHECKING:
    from tests.e2e.conftest import Cli

pytestmark = pytest.mark.e2e

MANIFEST = """version: 1
name: rotation
cloud: {site: public, region: cn-beijing}
users:
  - name: courier
    access_keys: 1
    expires_at: 2099-01-01T00:00:00Z
workspaces:
  - name: ws-rot
    models: [qwen-plus]
    api_keys:
      - {name: main, issued_to: courier}
"""
KEYS, API_KEY = "ram.access_keys/courier", "modelstudio.api_key/ws-rot/main"
FLAG = "--rotate-missing-secrets"



def access_key_ids(cli: Cli) -> list[str]:
    """The user's AccessKey ids as RAM lists them."""
    body = RamClient(cli.cloud.sdk_config()).list_access_keys(ListAccessKeysRequest(user_name="courier")).body
    return sorted(str(k.access_key_id) for k in body.access_keys.access_key or [])


def delivered_then_sink_lost(cli: Cli) -> tuple[Path, str, str]:
    """Apply, hand the secrets off, then lose the whole sink (a fresh CI runner has none): manifest,
    AccessKey id, API key id."""
    manifest = cli.manifest("rotation.yaml", MANIFEST)
    applied = cli("apply", "-m", manifest, "--auto-approve")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    sink = SecretSink(cli.secrets_dir)
    [key_id] = sink.access_keys("courier")
    held = sink.api_key("courier", "ws-rot", "main")
    assert held is not None
    assert cli("handoff").exit_code == 0  # as the pipeline's hand-off step records it
    shutil.rmtree(cli.secrets_dir)
    return manifest, key_id, held[0]


def test_plan_reports_lost_secrets_without_a_change_to_make(cli: Cli) -> None:
    manifest, key_id, _ = delivered_then_sink_lost(cli)

    text = cli("plan", "-m", manifest, "--detailed-exitcode")
    document = cli("plan", "-m", manifest, "--json").json()

    assert text.exit_code == 0, text.stdout + text.stderr
    note = f"secret of {key_id} missing from the secrets sink: rotate with {FLAG}"
    assert "No changes." in text.stdout and f"! {KEYS}: {note}" in text.stdout
    assert (f"! {API_KEY}: secret of API key ws-rot/main missing from the secrets sink: rotate with {FLAG}"
            in text.stdout)
    changes = {c["key"]: c for c in document["changes"]}
    keys = changes[KEYS]
    assert (keys["action"], keys["reason"], keys["rotate"]) == ("no-op", note, False)
    assert changes[API_KEY]["action"] == "no-op" and document["options"]["rotate_missing"] is False
    assert f"{KEYS}: {note}" in document["warnings"]


def test_apply_without_the_switch_leaves_keys_whose_secret_is_lost_alone(cli: Cli) -> None:
    manifest, key_id, api_key_id = delivered_then_sink_lost(cli)

    result = cli("apply", "-m", manifest, "--auto-approve")

    assert result.exit_code == 0, result.stdout + result.stderr
    assert "nothing to do" in result.stdout
    assert access_key_ids(cli) == [key_id]
    sink = SecretSink(cli.secrets_dir)
    assert sink.access_keys("courier") == {} and sink.api_key("courier", "ws-rot", "main") is None
    again = {c["key"]: c for c in cli("plan", "-m", manifest, "--json").json()["changes"]}
    assert (again[API_KEY]["action"], again[API_KEY]["live"]["cloud_id"]) == ("no-op", api_key_id)
    assert again[API_KEY]["reason"].endswith(f"rotate with {FLAG}")  # still reported, still not reset


def test_apply_with_the_switch_rotates_keys_whose_secret_is_lost(cli: Cli) -> None:
    manifest, old_id, api_key_id = delivered_then_sink_lost(cli)
    planned = cli("plan", "-m", manifest, FLAG, "--detailed-exitcode")
    markdown = cli("plan", "-m", manifest, FLAG, "--markdown").stdout
    assert planned.exit_code == 2, planned.stdout + planned.stderr
    rotation = f"rotate: secret of {old_id} missing from the secrets sink"
    assert f"~ update {KEYS} ({rotation})" in planned.stdout and "Warnings" not in planned.stdout
    assert f"| ~ update | `{KEYS}` | {rotation} |" in markdown

    result = cli("apply", "-m", manifest, "--auto-approve", FLAG)

    assert result.exit_code == 0, result.stdout + result.stderr
    [new_id] = access_key_ids(cli)  # the old key is gone
    assert new_id != old_id
    sink = SecretSink(cli.secrets_dir)
    assert set(sink.access_keys("courier")) == {new_id}
    assert sink.read("courier")["ALIBABA_CLOUD_ACCESS_KEY_ID"] == new_id
    assert stat.S_IMODE((cli.secrets_dir / "courier.env").stat().st_mode) == 0o600
    held = sink.api_key("courier", "ws-rot", "main")
    assert held is not None and held[0] == api_key_id  # ResetApiKey: same key, new value
    assert cli("plan", "-m", manifest, "--detailed-exitcode").exit_code == 0
    assert cli("verify", "-m", manifest).exit_code == 0  # the AccessKey signs as courier again


def test_saved_plan_carries_the_rotate_switch(cli: Cli) -> None:
    manifest, old_id, _ = delivered_then_sink_lost(cli)
    saved = cli.home / "plan.json"
    assert cli("plan", "-m", manifest, FLAG, "--out", saved).exit_code == 0
    document = json.loads(saved.read_text())
    assert document["options"]["rotate_missing"] is True
    assert {c["key"] for c in document["changes"] if c["rotate"]} == {KEYS, API_KEY}

    twice = cli("apply", saved, FLAG, "--auto-approve")
    result = cli("apply", saved, "--auto-approve")

    assert twice.exit_code == 1 and f"--allow-destroy/{FLAG} switches: re-run plan" in twice.stderr
    assert result.exit_code == 0, result.stdout + result.stderr
    [new_id] = access_key_ids(cli)
    assert new_id != old_id and set(SecretSink(cli.secrets_dir).access_keys("courier")) == {new_id}

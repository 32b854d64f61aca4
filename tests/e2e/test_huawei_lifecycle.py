"""Huawei Cloud end to end, through the CLI against the emulator: manifests/huawei.yaml runs plan (exit 2)
→ apply → plan (exit 0) → verify (exit 0) → revoke with proofs → audit, with the official Huawei SDKs.
No secret from the sink may appear in any output (the ``cli`` fixture checks it)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from provision.emulator.huawei.testing import HuaweiClients
from provision.state.secrets import SecretSink, parse_env

if TYPE_CHECKING:
    from tests.e2e.conftest import Cli

pytestmark = pytest.mark.e2e

USER = "acme-delivery"
DELIVERED = ("--var", "expires=2999-01-01T00:00:00Z")
ACCEPTED = ("--var", "expires=2026-11-30T00:00:00Z")  # past the tests' clock (2026-12-01)


def test_plan_apply_plan_verify_revoke_audit(cli: Cli) -> None:
    manifest = cli.manifests / "huawei.yaml"

    first = cli("plan", "-m", manifest, *DELIVERED, "--detailed-exitcode", "--json")
    assert first.exit_code == 2, first.stdout + first.stderr
    kinds = {c["key"].split("/")[0] for c in first.json()["changes"] if c["action"] == "create"}
    assert kinds == {"iam.policy", "iam.user", "iam.login_profile", "iam.access_keys", "iam.attachment",
                     "modelarts.workspace", "modelarts.grant", "maas.api_key", "vpcep.endpoint",
                     "organizations.policy"}

    applied = cli("apply", "-m", manifest, *DELIVERED, "--auto-approve")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    again = cli("plan", "-m", manifest, *DELIVERED, "--detailed-exitcode")
    assert again.exit_code == 0, again.stdout + again.stderr

    # what apply made, seen with the SDKs: the workspace is INTERNAL and grants the user, the SCP is attached
    hw = HuaweiClients.root(cli.cloud)
    from huaweicloudsdkmodelarts.v1 import ListWorkspaceRequest
    from huaweicloudsdkorganizations.v1 import ListPoliciesRequest

    spaces = hw.modelarts().list_workspace(ListWorkspaceRequest(name="agent-delivery")).workspaces
    space = next(w for w in spaces if w.name == "agent-delivery")
    assert space.auth_type.upper() == "INTERNAL"
    attached = hw.organizations().list_policies(ListPoliciesRequest(attached_entity_id=hw.domain_id)).policies
    assert "acme-keep-delivery-network" in {p.name for p in attached}

    verified = cli("verify", "-m", manifest, *DELIVERED, "--json")
    assert verified.exit_code == 0, verified.stdout + verified.stderr
    rows = {row["id"]: row for row in verified.json()}
    assert all(row["passed"] for row in rows.values()), rows
    calls = {r.removeprefix("verify.checks[0].").split("@")[0] for r in rows if r.startswith("verify")}
    # the guardrail admits Pangu only through the VPC endpoint: each call made directly must be refused
    assert calls == {"confined-v1", "confined-v2", "confined-agent", "v1", "v2", "agent"}
    direct = {r: row for r, row in rows.items() if r.endswith("@direct")}
    confined = {r.split(".")[-1].split("@")[0] for r in direct}
    assert confined == {"confined-v1", "confined-v2", "confined-agent"}
    assert all((row["status"], row["code"]) == (403, "Organizations.SCPDenied") for row in direct.values())
    via = [r for r in rows if ".vpcep." in r]  # each call through the endpoint's private domain
    assert len(via) == 3, rows
    assert any(r.startswith(f"access-key/{USER}/") for r in rows)

    held = SecretSink(cli.secrets_dir).access_keys(USER)
    assert len(held) == 1
    # the user's env file speaks Huawei: the SDK's own pair, loadable as-is by `set -a; . FILE`
    env = parse_env((cli.secrets_dir / f"{USER}.env").read_text())
    assert env["HUAWEICLOUD_SDK_AK"] in held and env["HUAWEICLOUD_SDK_SK"] == held[env["HUAWEICLOUD_SDK_AK"]]
    assert "HUAWEICLOUD_CONSOLE_PASSWORD" in env and "MAAS_API_KEY_AGENT_DELIVERY_MAIN" in env
    assert not [name for name in env if name.startswith(("ALIBABA_", "DASHSCOPE_"))], sorted(env)
    revoked = cli("revoke", "-m", manifest, *ACCEPTED, "--user", USER, "--auto-approve", "--json")
    assert revoked.exit_code == 0, revoked.stdout + revoked.stderr
    record = revoked.json()
    proofs = {p["id"]: p for p in record["proofs"]}
    assert all(p["holds"] for p in proofs.values()), proofs
    (key_id,) = held
    assert proofs[f"access-key/{key_id}"]["status"] == 401
    assert "30 minutes" in proofs[f"access-key/{key_id}"]["observed"]
    assert proofs["api-key/agent-delivery/main"]["status"] == 401
    assert proofs["workspace/agent-delivery"]["holds"] and proofs["console-password"]["holds"]
    assert SecretSink(cli.secrets_dir).access_keys(USER) == {}, "dead secrets are dropped from the sink"

    after = cli("plan", "-m", manifest, *ACCEPTED, "--detailed-exitcode")
    assert after.exit_code == 0, after.stdout + after.stderr

    audit = cli("audit", "-m", manifest, *ACCEPTED, "--format", "json")
    assert audit.exit_code == 0, audit.stderr
    report = json.loads(audit.stdout)
    user = next(u for u in report["access_map"]["users"] if u["name"] == USER)
    assert user["access_keys"] == [] and user["console"] is None


def test_apply_refuses_nothing_it_cannot_undo_and_a_second_apply_changes_nothing(cli: Cli) -> None:
    manifest = cli.manifests / "huawei.yaml"
    assert cli("apply", "-m", manifest, *DELIVERED, "--auto-approve").exit_code == 0
    # the Studio role has no API: the one step left is the console's, until it is confirmed done
    pending = cli("apply", "-m", manifest, *DELIVERED, "--auto-approve")
    assert pending.exit_code == 0 and "No changes" not in pending.stdout, pending.stdout + pending.stderr
    assert f"Add IAM user {USER} to workspace agent-delivery" in pending.stdout
    confirmed = cli("membership", "confirm", "-m", manifest, *DELIVERED, "--workspace", "agent-delivery",
                    "--user", USER, "--role", "guest", "--by", "ops")
    assert confirmed.exit_code == 0, confirmed.stdout + confirmed.stderr
    second = cli("apply", "-m", manifest, *DELIVERED, "--auto-approve")
    assert second.exit_code == 0, second.stdout + second.stderr
    assert "No changes" in second.stdout

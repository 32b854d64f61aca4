"""Huawei live facts are typed fields, and revoke steps are judged by how they ended, through the CLI against
the emulator: a user's groups and an adopted workspace's description travel in a saved plan as fields of
their live specs; a revoke run twice reports every step of the second run as "already gone"."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from huaweicloudsdkiam.v5 import CreateGroupReqBody, CreateGroupV5Request
from huaweicloudsdkmodelarts.v1 import CreateWorkspaceReq, CreateWorkspaceRequest, ListWorkspaceRequest

from provision.emulator.huawei.testing import HuaweiClients

if TYPE_CHECKING:
    from tests.e2e.conftest import Cli

pytestmark = pytest.mark.e2e

HEAD = "version: 1\nname: hw\ncloud: {provider: huaweicloud, region: cn-southwest-2}\n"


def _manifest(cli: Cli, *, expires: str = "2999-01-01T00:00:00Z", adopt: str = "",
              workspace: str = "team-space") -> str:
    user = ("users:\n  - name: bob\n    access_keys: 1\n    console_login: {enabled: true}\n"
            f"    groups: [ops]\n    expires_at: {expires}\n    policies: {{system: [PanguInvokePolicy]}}\n")
    space = (f"workspaces:\n  - name: {workspace}\n{adopt}    members: [{{user: bob, role: guest}}]\n"
             "    api_keys: [{name: k1, issued_to: bob}]\n")
    return str(cli.manifest("hw.yaml", HEAD + user + space))


def test_groups_and_an_adopted_workspace_description_travel_typed_through_a_saved_plan(cli: Cli) -> None:
    hw = HuaweiClients.root(cli.cloud)
    hw.iam().create_group_v5(CreateGroupV5Request(body=CreateGroupReqBody(group_name="ops")))
    hw.modelarts().create_workspace(CreateWorkspaceRequest(body=CreateWorkspaceReq(
        name="team-space", description="the delivery team's notes")))
    path = _manifest(cli, adopt="    adopt: true\n")
    assert cli("apply", "-m", path, "--auto-approve").exit_code == 0  # bob made; the workspace adopted

    # a workspace of the same name, made outside again, adopted through a saved plan: its description stays
    hw.modelarts().create_workspace(CreateWorkspaceRequest(body=CreateWorkspaceReq(
        name="side-space", description="kept by hand")))
    side = _manifest(cli, adopt="    adopt: true\n", workspace="side-space")
    out = cli.home / "plan.json"
    saved = cli("plan", "-m", side, "--out", out)
    assert saved.exit_code == 0, saved.stdout + saved.stderr
    changes = {c["key"]: c for c in json.loads(out.read_text())["changes"]}
    live = changes["modelarts.workspace/side-space"]["live"]
    assert live["spec"]["description"] == "kept by hand" and "details" not in live
    user = changes["iam.user/bob"]["live"]
    assert user["spec"]["groups"] == ["ops"] and "details" not in user
    applied = cli("apply", out, "--auto-approve")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    found = hw.modelarts().list_workspace(ListWorkspaceRequest(name="side-space")).workspaces
    description = next(w.description for w in found if w.name == "side-space")
    assert description.startswith("kept by hand") and "managed-by=provision" in description


def test_revoke_run_twice_reports_the_second_run_as_already_gone(cli: Cli) -> None:
    hw = HuaweiClients.root(cli.cloud)
    hw.iam().create_group_v5(CreateGroupV5Request(body=CreateGroupReqBody(group_name="ops")))
    applied = cli("apply", "-m", _manifest(cli), "--auto-approve")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    expired = _manifest(cli, expires="2026-11-30T00:00:00Z")  # past the tests' clock (2026-12-01)

    first = cli("revoke", "-m", expired, "--user", "bob", "--auto-approve", "--json")
    assert first.exit_code == 0, first.stdout + first.stderr
    results = {s["step"]: s["result"] for s in first.json()["steps"]}
    assert results["remove from group ops"] == "done"
    assert results["delete login profile"] == "done"
    assert results["remove from the grants of workspace team-space"] == "done"
    assert [r for s, r in results.items() if s.startswith("delete API key team-space/k1")] == ["done"]
    assert results["remove the Studio role in workspace team-space (console)"] == "manual"

    second = cli("revoke", "-m", expired, "--user", "bob", "--auto-approve", "--json")
    assert second.exit_code == 0, second.stdout + second.stderr
    steps = second.json()["steps"]
    assert {s["result"] for s in steps if "(console)" not in s["step"]} == {"already gone"}, steps
    assert {s["step"] for s in steps} >= {"IAM: nothing left to remove", "delete API keys issued to it"}
    text = cli("revoke", "-m", expired, "--user", "bob", "--auto-approve")
    assert "· IAM: nothing left to remove: already gone\n" in text.stdout + text.stderr, text.stderr


def test_a_huawei_plan_leaves_the_sink_as_it_is_and_apply_forgets_a_key_deleted_outside(cli: Cli) -> None:
    """As on Alibaba (tests/e2e/test_drift.py): the plan lists the sink forgetting the secret of an AK/SK
    deleted outside the tool, changes no file, and apply does it."""
    from huaweicloudsdkiam.v5 import DeleteAccessKeyV5Request, ListUsersV5Request

    from provision.state.secrets import SecretSink

    manifest = cli.manifests / "huawei.yaml"
    delivered = ("--var", "expires=2999-01-01T00:00:00Z")
    assert cli("apply", "-m", manifest, *delivered, "--auto-approve").exit_code == 0
    sink = SecretSink(cli.secrets_dir)
    [gone] = sink.access_keys("acme-delivery")
    iam = HuaweiClients.root(cli.cloud).iam()
    users = iam.list_users_v5(ListUsersV5Request()).users
    [user_id] = [u.user_id for u in users if u.user_name == "acme-delivery"]
    iam.delete_access_key_v5(DeleteAccessKeyV5Request(user_id=user_id, access_key_id=gone))
    files = {p: p.read_bytes() for p in sorted(cli.secrets_dir.rglob("*")) if p.is_file()}

    plan = cli("plan", "-m", manifest, *delivered, "--json").json()

    assert {p: p.read_bytes() for p in sorted(cli.secrets_dir.rglob("*")) if p.is_file()} == files
    [keys] = [c for c in plan["changes"] if c["key"] == "iam.access_keys/acme-delivery"]
    assert keys["action"] == "update"
    assert f"the secrets sink forgets {gone}: deleted outside provision" in keys["reason"]
    assert cli("apply", "-m", manifest, *delivered, "--auto-approve").exit_code == 0
    assert gone not in sink.access_keys("acme-delivery")
    assert cli("plan", "-m", manifest, *delivered, "--detailed-exitcode").exit_code == 0

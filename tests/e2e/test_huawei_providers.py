"""The Huawei providers through the CLI against the emulator: drift both ways, look-alikes and adoption,
replacing what cannot be changed in place, guarded deletes with their cascade, throttling retried."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from huaweicloudsdkmodelarts.v1 import (
    CreateWorkspaceReq,
    CreateWorkspaceRequest,
    ListWorkspaceRequest,
    UpdateWorkspaceReq,
    UpdateWorkspaceRequest,
)
from huaweicloudsdkorganizations.v1 import DetachPolicyRequest, ListPoliciesRequest, PolicyTachReqBody

from provision.emulator.huawei.testing import HuaweiClients

if TYPE_CHECKING:
    from pathlib import Path

    from tests.e2e.conftest import Cli

pytestmark = pytest.mark.e2e

HEAD = "version: 1\nname: hw\ncloud: {provider: huaweicloud, region: cn-southwest-2}\n"
USERS = ("users:\n  - name: bob\n    access_keys: 1\n    expires_at: 2999-01-01T00:00:00Z\n"
         "    policies: {system: [PanguInvokePolicy]}\n")
WORKSPACE = ("workspaces:\n  - name: team-space\n{adopt}    members: [{{user: bob, role: guest}}]\n"
             "    api_keys: [{{name: k1, issued_to: bob{whitelist}}}]\n")
GUARDRAIL = ("guardrails:\n  - name: no-delete\n    document: {Version: '5.0', Statement: [{Effect: Deny, "
             "Action: ['modelarts:workspace:delete']}]}\n")


def manifest(cli: Cli, *, whitelist: str = "", adopt: str = "", extra: str = "") -> Path:
    text = HEAD + USERS + WORKSPACE.format(adopt=adopt, whitelist=whitelist) + extra
    return cli.manifest("hw.yaml", text)


def plan(cli: Cli, path: Path, *args: str) -> dict[str, dict[str, object]]:
    result = cli("plan", "-m", path, "--json", *args)
    assert result.exit_code == 0, result.stdout + result.stderr
    return {c["key"]: c for c in result.json()["changes"]}


def _workspace(hw: HuaweiClients, name: str) -> str:
    found = hw.modelarts().list_workspace(ListWorkspaceRequest(name=name)).workspaces
    return str(next(w.id for w in found if w.name == name))


def test_grants_and_guardrails_changed_outside_are_drift_and_applied_back(cli: Cli) -> None:
    path = manifest(cli, extra=GUARDRAIL)
    assert cli("apply", "-m", path, "--auto-approve").exit_code == 0
    hw = HuaweiClients.root(cli.cloud)
    hw.modelarts().update_workspace(UpdateWorkspaceRequest(workspace_id=_workspace(hw, "team-space"),
                                                           body=UpdateWorkspaceReq(grants=[])))
    policy = next(p for p in hw.organizations().list_policies(ListPoliciesRequest()).policies
                  if p.name == "no-delete")
    hw.organizations().detach_policy(DetachPolicyRequest(policy_id=policy.id,
                                                         body=PolicyTachReqBody(entity_id=hw.domain_id)))

    changes = plan(cli, path)
    grant = changes["modelarts.grant/team-space/bob"]
    assert (grant["action"], grant["reason"]) == ("create", "drift: deleted outside provision")
    scp = changes["organizations.policy/no-delete"]
    assert scp["action"] == "update" and [f["field"] for f in scp["fields"]] == ["attached"]
    assert cli("apply", "-m", path, "--auto-approve").exit_code == 0
    assert cli("plan", "-m", path, "--detailed-exitcode").exit_code == 0


def test_a_changed_whitelist_replaces_the_key_and_the_sink_holds_the_new_secret(cli: Cli) -> None:
    assert cli("apply", "-m", manifest(cli), "--auto-approve").exit_code == 0
    sink = json.dumps(sorted(cli.secrets()))
    path = manifest(cli, whitelist=", ip_whitelist: [10.0.0.0/8]")
    change = plan(cli, path)["maas.api_key/team-space/k1"]
    assert change["action"] == "update" and change["fields"][0]["after"] == ["10.0.0.0/8"]
    applied = cli("apply", "-m", path, "--auto-approve")
    assert applied.exit_code == 0 and "replaced API key team-space/k1" in applied.stdout + applied.stderr
    assert json.dumps(sorted(cli.secrets())) != sink
    assert cli("plan", "-m", path, "--detailed-exitcode").exit_code == 0


def test_a_look_alike_workspace_is_not_touched_until_adopted(cli: Cli) -> None:
    hw = HuaweiClients.root(cli.cloud)
    hw.modelarts().create_workspace(CreateWorkspaceRequest(body=CreateWorkspaceReq(name="team-space")))
    changes = plan(cli, manifest(cli))
    assert changes["modelarts.workspace/team-space"]["reason"].startswith("unmanaged look-alike")
    assert changes["modelarts.grant/team-space/bob"]["reason"] == "parent is unmanaged"

    path = manifest(cli, adopt="    adopt: true\n")
    adopted = plan(cli, path)["modelarts.workspace/team-space"]
    assert (adopted["action"], adopted["reason"]) == ("update", "adopt: take under management")
    assert cli("apply", "-m", path, "--auto-approve").exit_code == 0
    again = cli("apply", "-m", path, "--auto-approve")  # now managed: its grant and key follow
    assert again.exit_code == 0, again.stdout
    assert cli("plan", "-m", path, "--detailed-exitcode").exit_code == 0


def test_a_user_declared_absent_is_deleted_with_its_cascade_only_with_allow_destroy(cli: Cli) -> None:
    assert cli("apply", "-m", manifest(cli), "--auto-approve").exit_code == 0
    gone = cli.manifest("gone.yaml", HEAD + "users:\n  - name: bob\n    state: absent\n")
    refused = plan(cli, gone)["iam.user/bob"]
    assert (refused["action"], refused["reason"]) == ("refused", "needs --allow-destroy")
    assert "deactivate access key" in refused["cascade"][0] and refused["cascade"][-1] == "delete user"
    applied = cli("apply", "-m", gone, "--auto-approve", "--allow-destroy")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    assert plan(cli, gone)["iam.user/bob"]["reason"] == "already absent"


def test_throttled_creates_are_retried(cli: Cli) -> None:
    cli.cloud.set_faults("CreateUserV5", throttle_rate=1.0, retry_after_ms=10)
    path = manifest(cli)
    failed = cli("apply", "-m", path, "--auto-approve")
    assert failed.exit_code != 0 and "APIG.0308" in failed.stdout + failed.stderr
    cli.cloud.set_faults("CreateUserV5", throttle_rate=0.5, retry_after_ms=10)
    assert cli("apply", "-m", path, "--auto-approve").exit_code == 0
    assert cli.cloud.stats()["actions"]["CreateUserV5"] >= 2

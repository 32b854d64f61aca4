"""Huawei runs the Alibaba Cloud rules where both clouds have the same thing: managed users the manifest no
longer names are reported and never deleted; Studio roles are console steps with the same checklist,
``membership confirm`` and probe; a guardrail confines Pangu calls to the declared VPC endpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from huaweicloudsdkiam.v5 import (
    CreateUserReqBody,
    CreateUserV5Request,
    ListUsersV5Request,
    Tag,
    TagResourceV5Request,
    Tags,
)
from huaweicloudsdkmodelarts.v1 import UpdateWorkspaceReq, UpdateWorkspaceRequest

from provision.emulator.huawei.testing import HuaweiClients

if TYPE_CHECKING:
    from pathlib import Path

    from tests.e2e.conftest import Cli, Result

pytestmark = pytest.mark.e2e

HEAD = "version: 1\nname: hw\ncloud: {provider: huaweicloud, region: cn-southwest-2}\n"
UNDECLARED = "iam.user/carol"
NOT_DECLARED = "managed by provision but not declared: not touched"


def _user(name: str) -> str:
    return f"  - name: {name}\n    access_keys: 1\n    policies: {{system: [PanguInvokePolicy]}}\n"


def _plan(cli: Cli, path: Path) -> tuple[dict[str, dict[str, object]], list[str]]:
    result = cli("plan", "-m", path, "--json")
    assert result.exit_code == 0, result.stdout + result.stderr
    document = result.json()
    return {c["key"]: c for c in document["changes"]}, document["warnings"]


def _users(hw: HuaweiClients) -> set[str]:
    return {str(u.user_name) for u in hw.iam().list_users_v5(ListUsersV5Request()).users}


def test_a_managed_user_the_manifest_no_longer_names_is_reported_and_never_deleted(cli: Cli) -> None:
    both = cli.manifest("both.yaml", HEAD + "users:\n" + _user("bob") + _user("carol"))
    assert cli("apply", "-m", both, "--auto-approve").exit_code == 0
    hw = HuaweiClients.root(cli.cloud)
    # a user tagged for another manifest, and an untagged one: neither is this manifest's business
    other = [("managed-by", "provision"), ("provision-manifest", "other")]
    for name, tags in (("dave", other), ("erin", [])):
        made = hw.iam().create_user_v5(CreateUserV5Request(body=CreateUserReqBody(name=name, enabled=True)))
        if tags:
            hw.iam().tag_resource_v5(TagResourceV5Request(
                resource_type="user", resource_id=made.user.user_id,
                body=Tags(tags=[Tag(tag_key=k, tag_value=v) for k, v in tags])))

    only_bob = cli.manifest("bob.yaml", HEAD + "users:\n" + _user("bob"))
    changes, warnings = _plan(cli, only_bob)
    carol = changes[UNDECLARED]
    assert (carol["action"], carol["reason"]) == ("no-op", NOT_DECLARED)
    assert warnings == [f"{UNDECLARED} is {NOT_DECLARED}"]
    assert "iam.user/dave" not in changes and "iam.user/erin" not in changes
    text = cli("plan", "-m", only_bob)
    assert f"{UNDECLARED} is {NOT_DECLARED}" in text.stdout

    for args in ((), ("--allow-destroy",)):  # not even with --allow-destroy: only `state: absent` deletes
        applied = cli("apply", "-m", only_bob, "--auto-approve", *args)
        assert applied.exit_code == 0, applied.stdout + applied.stderr
    assert {"bob", "carol", "dave", "erin"} <= _users(hw)

    absent = "  - name: carol\n    state: absent\n"
    gone = cli.manifest("gone.yaml", HEAD + "users:\n" + _user("bob") + absent)
    assert _plan(cli, gone)[0][UNDECLARED]["action"] == "refused"
    assert cli("apply", "-m", gone, "--auto-approve", "--allow-destroy").exit_code == 0
    assert "carol" not in _users(hw)


ROLE = "modelarts.studio_role/team-space/bob"
GRANT = "modelarts.grant/team-space/bob"


def _members(members: str) -> str:
    user = ("users:\n  - name: bob\n    access_keys: 1\n"
            "    policies: {system: [ModelArtsWorkspaceReadOnlyPolicy]}\n")
    return HEAD + user + f"workspaces:\n  - name: team-space\n    members: {members}\n"


def test_a_studio_role_is_a_console_step_confirmed_and_probed_as_on_alibaba(cli: Cli) -> None:
    path = cli.manifest("roles.yaml", _members("[{user: bob, role: admin}]"))
    applied = cli("apply", "-m", path, "--auto-approve")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    assert "Add IAM user bob to workspace team-space" in applied.stdout
    assert "ModelArts Studio console → 空间管理/Workspaces → team-space → 成员管理/Members" in applied.stdout
    changes, _ = _plan(cli, path)
    assert changes[GRANT]["action"] == "no-op"  # the grant is the API's: applied
    assert changes[ROLE]["action"] == "manual"  # the role is the console's: the probe passing is not enough
    listed = cli("membership", "checklist", "-m", path)
    assert listed.exit_code == 0 and "1 console step(s) pending" in listed.stdout, listed.stdout
    assert "--workspace team-space --user bob --role admin" in listed.stdout

    def confirm(*args: str) -> Result:
        return cli("membership", "confirm", "-m", path, "--workspace", "team-space", "--user", "bob", *args)

    wrong = confirm("--role", "guest", "--by", "ops")
    assert wrong.exit_code != 0 and "declared admin" in wrong.stdout + wrong.stderr
    assert confirm("--role", "admin", "--by", "ops").exit_code == 0
    changes, _ = _plan(cli, path)
    assert (changes[ROLE]["action"], changes[ROLE]["reason"]) == ("no-op", "in sync (confirmed)")
    assert "no console steps pending" in cli("membership", "checklist", "-m", path).stdout

    # the grant taken away outside: the probe (bob's own key) says not a member, and the probe wins
    hw = HuaweiClients.root(cli.cloud)
    workspace_id = cli.state().workspace_id("team-space")
    hw.modelarts().update_workspace(UpdateWorkspaceRequest(workspace_id=workspace_id,
                                                           body=UpdateWorkspaceReq(grants=[])))
    changes, _ = _plan(cli, path)
    assert changes[GRANT]["action"] == "create" and changes[ROLE]["action"] == "manual"
    overruled = confirm("--role", "admin", "--by", "ops")
    assert "says not a member" in overruled.stdout, overruled.stdout + overruled.stderr
    assert cli("apply", "-m", path, "--auto-approve").exit_code == 0  # the grant back, by API
    assert _plan(cli, path)[0][ROLE]["action"] == "no-op"

    # no longer declared: the grant goes by API, the role is a console removal until confirmed
    gone = cli.manifest("roles.yaml", _members("[]"))
    changes, _ = _plan(cli, gone)
    assert changes[GRANT]["action"] == "delete"
    assert changes[ROLE]["action"] == "manual" and changes[ROLE]["reason"].startswith("manual: remove bob")
    assert cli("apply", "-m", gone, "--auto-approve").exit_code == 0
    removed = cli("membership", "confirm", "-m", gone, "--workspace", "team-space", "--user", "bob",
                  "--removed")
    assert removed.exit_code == 0 and "recorded: bob was removed" in removed.stdout, removed.stdout
    assert ROLE not in _plan(cli, gone)[0]


def test_verify_proves_the_guardrail_confines_pangu_to_the_vpc_endpoint(cli: Cli) -> None:
    from huaweicloudsdkorganizations.v1 import (
        DetachPolicyRequest,
        ListPoliciesRequest,
        PolicyTachReqBody,
        ShowPolicyRequest,
    )
    from huaweicloudsdkvpcep.v1 import ListEndpointsRequest

    manifest, expires = cli.manifests / "huawei.yaml", ("--var", "expires=2999-01-01T00:00:00Z")
    assert cli("apply", "-m", manifest, *expires, "--auto-approve").exit_code == 0
    # the guardrail as sent: the endpoint's id in place of ${endpoint:maas-inference}
    hw = HuaweiClients.root(cli.cloud)
    scp = next(p for p in hw.organizations().list_policies(ListPoliciesRequest()).policies
               if p.name == "acme-keep-delivery-network")
    content = hw.organizations().show_policy(ShowPolicyRequest(policy_id=scp.id)).policy.content
    (endpoint,) = hw.vpcep().list_endpoints(ListEndpointsRequest()).endpoints
    assert f'"g:SourceVpce":["{endpoint.id}"]' in content.replace(" ", "") and "${endpoint:" not in content

    # detached outside provision: the direct calls go through, and verify says the guardrail does not hold
    hw.organizations().detach_policy(DetachPolicyRequest(policy_id=scp.id,
                                                         body=PolicyTachReqBody(entity_id=hw.domain_id)))
    verified = cli("verify", "-m", manifest, *expires, "--json")
    assert verified.exit_code != 0
    rows = {row["id"]: row for row in verified.json()}
    failed = sorted(r for r, row in rows.items() if not row["passed"])
    assert failed == [f"verify.checks[0].confined-{k}@direct" for k in ("agent", "v1", "v2")], failed
    assert "g:SourceVpce condition does not hold" in rows[failed[0]]["diagnosis"]


def test_revoke_lists_the_studio_role_removal_as_a_console_step_in_its_record(cli: Cli) -> None:
    path = cli.manifest("roles.yaml", _members("[{user: bob, role: admin}]"))
    assert cli("apply", "-m", path, "--auto-approve").exit_code == 0
    confirm = ("membership", "confirm", "-m", path, "--workspace", "team-space", "--user", "bob")
    assert cli(*confirm, "--role", "admin", "--by", "ops").exit_code == 0

    # the customer accepted: bob expires (before the tests' clock, 2026-12-01), and revoke takes it all back
    expired = cli.manifest("roles.yaml", _members("[{user: bob, role: admin}]").replace(
        "  - name: bob\n", "  - name: bob\n    expires_at: 2026-11-30T00:00:00Z\n"))
    revoked = cli("revoke", "-m", expired, "--user", "bob", "--auto-approve", "--json")
    assert revoked.exit_code == 0, revoked.stdout + revoked.stderr
    record = revoked.json()
    assert record["console_removals"] == ["team-space"]
    [step] = record["checklist"]
    assert "team-space" in step and "--removed" in step
    assert {"step": "remove the Studio role in workspace team-space (console)", "result": "manual"} in [
        {k: s[k] for k in ("step", "result")} for s in record["steps"]]
    # the grant went by API; the role stays listed as a console step until its removal is confirmed
    changes, _ = _plan(cli, expired)
    assert changes[ROLE]["action"] == "manual", changes[ROLE]
    assert GRANT not in changes or changes[GRANT]["action"] == "no-op"
    assert cli(*confirm[:3], str(expired), *confirm[4:], "--removed", "--by", "ops").exit_code == 0
    assert "no console steps pending" in cli("membership", "checklist", "-m", expired).stdout


def test_verify_shows_the_checks_of_an_expired_user_as_skipped_with_the_reason(cli: Cli) -> None:
    manifest = cli.manifests / "huawei.yaml"
    applied = cli("apply", "-m", manifest, "--var", "expires=2999-01-01T00:00:00Z", "--auto-approve")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    verified = cli("verify", "-m", manifest, "--var", "expires=2026-11-30T00:00:00Z", "--json")
    assert verified.exit_code == 0, verified.stdout + verified.stderr  # a skipped row is not a failure
    rows = {row["id"]: row for row in verified.json()}
    assert rows["verify.checks[0]"]["skipped"] is True
    assert rows["verify.checks[0]"]["diagnosis"].startswith("skipped: ")
    assert "expired at 2026-11-30T00:00:00Z" in rows["verify.checks[0]"]["diagnosis"]
    assert "manifests/huawei.yaml:" in rows["verify.checks[0]"]["entry"]
    text = cli("verify", "-m", manifest, "--var", "expires=2026-11-30T00:00:00Z")
    assert "1 skipped" in text.stdout, text.stdout

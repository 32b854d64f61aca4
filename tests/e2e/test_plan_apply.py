"""plan / apply end to end: the official SDKs against the emulator, driven through the CLI."""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from alibabacloud_modelstudio20260210.client import Client as ModelStudioClient
from alibabacloud_modelstudio20260210.models import ListApiKeysRequest, ListWorkspacesRequest
from alibabacloud_privatelink20200415.client import Client as PrivateLinkClient
from alibabacloud_privatelink20200415.models import ListVpcEndpointsRequest
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_ram20150501.models import (
    DeleteAccessKeyRequest,
    GetUserRequest,
    ListAccessKeysRequest,
    ListUsersRequest,
    UpdateUserRequest,
)

from provision.state.secrets import SecretSink

if TYPE_CHECKING:
    from tests.e2e.conftest import Cli

pytestmark = pytest.mark.e2e

USER = """version: 1
name: t
cloud: {site: public, region: cn-beijing}
users:
  - name: tester
    display_name: %(display)s
    access_keys: 1
    console_login: {enabled: true}
    expires_at: %(expires)s
    state: %(state)s
    protect: %(protect)s
"""


def user_manifest(cli: Cli, display: str = "Tester", state: str = "present", protect: bool = False,
                  file: str = "user.yaml", expires: str = "2099-01-01T00:00:00Z") -> Path:
    values = {"display": display, "state": state, "protect": str(protect).lower(), "expires": expires}
    return cli.manifest(file, USER % values)


@dataclass(frozen=True)
class Case:
    manifest: str
    region: str
    workspace: str
    members: dict[str, str]  # user → role


EXAMPLE = Case("example.yaml", "cn-beijing", "agent-delivery",
               {"acme-delivery": "guest", "acme-lead": "admin"})
FINANCE = Case("finance.yaml", "cn-shanghai-finance-1", "agent-delivery-fin",
               {"acme-fin-delivery": "guest", "acme-fin-lead": "admin"})


# --- reading the emulator through the official SDKs --------------------------------------------------


def ram(cli: Cli) -> RamClient:
    return RamClient(cli.cloud.sdk_config())


@dataclass(frozen=True)
class Inventory:
    """What exists in the account, counted (duplicates show as counts above 1)."""

    users: Counter[str]
    access_keys: dict[str, int]
    workspaces: Counter[str]
    api_keys: Counter[str]
    endpoints: Counter[str]


def inventory(cli: Cli, case: Case) -> Inventory:
    config = cli.cloud.sdk_config(region=case.region)
    users = [u.user_name for u in ram(cli).list_users(ListUsersRequest(max_items=1000)).body.users.user]
    keys = {u: len(ram(cli).list_access_keys(ListAccessKeysRequest(user_name=u)).body.access_keys.access_key)
            for u in users}
    studio = ModelStudioClient(config)
    workspaces = studio.list_workspaces(ListWorkspacesRequest(max_results=100)).body.workspaces or []
    api_keys = [k.description for w in workspaces for k in studio.list_api_keys(
        ListApiKeysRequest(workspace_id=w.workspace_id, max_results=100)).body.api_keys or []]
    endpoints = PrivateLinkClient(config).list_vpc_endpoints(
        ListVpcEndpointsRequest(region_id=case.region, max_results=100)).body.endpoints or []
    return Inventory(Counter(users), keys, Counter(w.workspace_name for w in workspaces), Counter(api_keys),
                     Counter(e.endpoint_name for e in endpoints))


def assert_exactly_declared(cli: Cli, case: Case) -> None:
    """One of everything the manifest declares: no duplicate from retries or re-runs."""
    found = inventory(cli, case)
    assert found.users == Counter(list(case.members))
    assert found.access_keys == dict.fromkeys(case.members, 1)
    assert found.workspaces == Counter([case.workspace])
    assert list(found.api_keys.values()) == [1]
    assert list(found.endpoints.values()) == [1]


def display_name(cli: Cli, user: str) -> str:
    return str(ram(cli).get_user(GetUserRequest(user_name=user)).body.user.display_name)


def user_exists(cli: Cli, user: str) -> bool:
    return user in [u.user_name for u in ram(cli).list_users(ListUsersRequest()).body.users.user]


def keys(rows: list[dict[str, Any]]) -> set[str]:
    return {row["key"] for row in rows}


def add_members(cli: Cli, case: Case) -> None:
    workspace_id = cli.workspace_id(case.workspace)
    for user, role in case.members.items():
        cli.cloud.add_member(workspace_id, user, role)


# --- the quartet -------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", [EXAMPLE, FINANCE], ids=["public", "finance"])
def test_quartet_plan_apply_plan_apply_converges(cli: Cli, case: Case) -> None:
    manifest = cli.manifests / case.manifest

    first = cli("plan", "-m", manifest, "--detailed-exitcode", "--json")
    assert first.exit_code == 2, first.stderr
    planned = {c["key"] for c in first.json()["changes"] if c["action"] == "create"}
    assert len(planned) >= 14

    applied = cli("apply", "-m", manifest, "--auto-approve", "--json")
    assert applied.exit_code == 0, applied.stderr
    summary = applied.json()
    assert keys(summary["done"]) == planned
    assert summary["failed"] == summary["skipped"] == []
    assert keys(summary["manual"]) == {f"modelstudio.member/{case.workspace}/{u}" for u in case.members}
    assert_exactly_declared(cli, case)

    add_members(cli, case)  # the console step, done by an admin
    second = cli("plan", "-m", manifest, "--detailed-exitcode")
    assert second.exit_code == 0, second.stdout + second.stderr
    assert "No changes" in second.stdout

    again = cli("apply", "-m", manifest, "--auto-approve", "--json")
    assert again.exit_code == 0, again.stderr
    assert again.json()["done"] == again.json()["manual"] == []
    assert_exactly_declared(cli, case)


def test_membership_checklist_then_confirm_clears_the_console_steps(cli: Cli) -> None:
    manifest = cli.manifests / FINANCE.manifest
    assert cli("apply", "-m", manifest, "--auto-approve").exit_code == 0
    workspace_id = cli.workspace_id(FINANCE.workspace)

    checklist = cli("membership", "checklist", "-m", manifest)
    assert checklist.exit_code == 0
    assert "2 console step(s) pending" in checklist.stdout and workspace_id in checklist.stdout

    undeclared = cli("membership", "confirm", "-m", manifest, "--workspace", FINANCE.workspace,
                     "--user", "mallory", "--role", "guest")
    assert undeclared.exit_code == 1 and "mallory is not declared" in undeclared.stderr

    add_members(cli, FINANCE)
    confirmed = cli("membership", "confirm", "-m", manifest, "--workspace", FINANCE.workspace,
                    "--user", "acme-fin-lead", "--role", "admin", "--by", "jane")
    assert confirmed.exit_code == 0, confirmed.stderr
    assert "acme-fin-lead is admin in workspace agent-delivery-fin (confirmed by jane" in confirmed.stdout
    confirmation = cli.state().confirmation(FINANCE.workspace, "acme-fin-lead")
    assert confirmation is not None and confirmation.confirmed_by == "jane"
    assert "no console steps pending" in cli("membership", "checklist", "-m", manifest).stdout


# --- drift, deletion guards, saved plans ---------------------------------------------------------------


def test_drift_made_outside_the_tool_is_shown_and_repaired(cli: Cli) -> None:
    manifest = user_manifest(cli)
    assert cli("apply", "-m", manifest, "--auto-approve").exit_code == 0
    ram(cli).update_user(UpdateUserRequest(user_name="tester", new_display_name="Changed by hand"))

    text = cli("plan", "-m", manifest, "--detailed-exitcode")
    assert text.exit_code == 2
    drift_section = text.stdout.split("Drift (changed outside provision)", 1)[1]
    assert "ram.user/tester" in drift_section and '"Changed by hand" → "Tester"' in drift_section

    changes = cli("plan", "-m", manifest, "--json").json()["changes"]
    change = next(c for c in changes if c["key"] == "ram.user/tester")
    assert change["action"] == "update" and change["drift"] is True
    assert change["fields"] == [{"field": "display_name", "before": "Changed by hand", "after": "Tester"}]

    assert cli("apply", "-m", manifest, "--auto-approve").exit_code == 0
    assert display_name(cli, "tester") == "Tester"
    assert cli("plan", "-m", manifest, "--detailed-exitcode").exit_code == 0


def test_deletion_is_refused_without_allow_destroy_and_with_protect(cli: Cli) -> None:
    assert cli("apply", "-m", user_manifest(cli), "--auto-approve").exit_code == 0

    absent = user_manifest(cli, state="absent")
    plan = cli("plan", "-m", absent, "--json").json()
    user_change = next(c for c in plan["changes"] if c["key"] == "ram.user/tester")
    assert (user_change["action"], user_change["reason"]) == ("refused", "needs --allow-destroy")
    refused = cli("apply", "-m", absent, "--auto-approve", "--json")
    assert refused.exit_code == 1 and "re-run with --allow-destroy" in refused.stderr  # not silently "done"
    assert keys(refused.json()["refused"]) == {"ram.user/tester"} and refused.json()["done"] == []
    assert user_exists(cli, "tester")

    protect = user_manifest(cli, state="absent", protect=True, file="protected.yaml")
    protected = cli("apply", "-m", protect, "--auto-approve", "--allow-destroy", "--json")
    assert [r["message"] for r in protected.json()["refused"]] == ["protect: true"]
    assert user_exists(cli, "tester")

    destroyed = cli("apply", "-m", absent, "--auto-approve", "--allow-destroy")
    assert destroyed.exit_code == 0, destroyed.stderr
    assert "✓ deleted ram.user/tester" in destroyed.stderr
    assert not user_exists(cli, "tester")
    assert cli("plan", "-m", absent, "--allow-destroy", "--detailed-exitcode").exit_code == 0


def test_saved_plan_is_applied_when_fresh_from_any_directory(cli: Cli,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    saved = cli.home / "plan.json"
    user_manifest(cli)
    assert cli("plan", "-m", "user.yaml", "--out", saved).exit_code == 0  # relative to the cwd
    assert json.loads(saved.read_text())["source"]["manifest"] == str(cli.home / "user.yaml")
    elsewhere = cli.home / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    result = cli("apply", saved, "--auto-approve")

    assert result.exit_code == 0, result.stderr
    assert display_name(cli, "tester") == "Tester"


def test_saved_plan_is_refused_when_the_account_changed(cli: Cli) -> None:
    assert cli("apply", "-m", user_manifest(cli), "--auto-approve").exit_code == 0
    saved = cli.home / "plan.json"
    assert cli("plan", "-m", user_manifest(cli, display="Tester 2"), "--out", saved).exit_code == 0
    ram(cli).update_user(UpdateUserRequest(user_name="tester", new_display_name="Changed by hand"))

    result = cli("apply", saved, "--auto-approve")

    assert result.exit_code == 1
    assert "is stale" in result.stderr and "re-run plan" in result.stderr
    assert "planned differently now: ram.user/tester" in result.stderr  # what changed, not two hashes
    assert display_name(cli, "tester") == "Changed by hand"


def test_saved_plan_is_refused_when_the_manifest_changed(cli: Cli) -> None:
    saved = cli.home / "plan.json"
    assert cli("plan", "-m", user_manifest(cli), "--out", saved).exit_code == 0
    user_manifest(cli, display="Edited after the plan")

    result = cli("apply", saved, "--auto-approve")

    assert result.exit_code == 1
    assert "the manifest" in result.stderr and "re-run plan" in result.stderr
    assert not user_exists(cli, "tester")


def test_saved_plan_carries_allow_destroy(cli: Cli) -> None:
    assert cli("apply", "-m", user_manifest(cli), "--auto-approve").exit_code == 0
    saved = cli.home / "plan.json"
    absent = user_manifest(cli, state="absent")
    assert cli("plan", "-m", absent, "--allow-destroy", "--out", saved).exit_code == 0

    result = cli("apply", saved, "--auto-approve")

    assert result.exit_code == 0, result.stderr
    assert not user_exists(cli, "tester")


def test_expired_user_is_stripped_of_access_and_only_expired_shows_just_that(cli: Cli) -> None:
    assert cli("apply", "-m", user_manifest(cli), "--auto-approve").exit_code == 0
    expired = user_manifest(cli, expires="2020-01-01T00:00:00Z")

    plan = cli("plan", "-m", expired, "--only-expired", "--json").json()

    actionable = [c for c in plan["changes"] if c["action"] in ("create", "update", "delete")]
    assert {c["key"] for c in actionable} == {"ram.access_keys/tester", "ram.login_profile/tester"}
    assert all(c["reason"].startswith("expired") for c in actionable)
    assert cli("apply", "-m", expired, "--auto-approve").exit_code == 0
    left = ram(cli).list_access_keys(ListAccessKeysRequest(user_name="tester")).body.access_keys.access_key
    assert left == [] and user_exists(cli, "tester")


def test_schema_prints_the_manifest_json_schema(offline_cli: Cli) -> None:
    result = offline_cli("schema")
    schema = result.json()
    assert result.exit_code == 0
    assert {"version", "name", "cloud", "users", "workspaces"} <= set(schema["properties"])


def test_plan_as_markdown_for_a_pull_request(cli: Cli) -> None:
    result = cli("plan", "-m", user_manifest(cli), "--markdown")
    assert result.exit_code == 0
    assert "| create | update | delete |" in result.stdout and "`ram.user/tester`" in result.stdout


# --- faults --------------------------------------------------------------------------------------------


def apply_until_done(cli: Cli, manifest: Path, tries: int = 3) -> int:
    """Apply, re-running after a failure as an operator would; the number of runs it took."""
    for run in range(1, tries + 1):
        if cli("apply", "-m", manifest, "--auto-approve").exit_code == 0:
            return run
    raise AssertionError(f"apply did not converge in {tries} runs")


def test_throttling_and_server_errors_still_converge_without_duplicates(cli: Cli) -> None:
    cli.cloud.set_faults(throttle_rate=0.15, retry_after_ms=5, error_rate=0.05)

    apply_until_done(cli, cli.manifests / EXAMPLE.manifest)

    injected = cli.cloud.stats()["faults_injected"]
    assert injected.get("Throttling.User", 0) > 0 and injected.get("InternalError", 0) > 0, injected
    cli.cloud.clear_faults()
    assert_exactly_declared(cli, EXAMPLE)
    assert cli("plan", "-m", cli.manifests / EXAMPLE.manifest, "--detailed-exitcode").exit_code == 0


def test_one_failing_resource_skips_only_its_dependents_and_a_rerun_finishes(cli: Cli) -> None:
    manifest = cli.manifests / EXAMPLE.manifest
    cli.cloud.set_faults(action="CreateWorkspace", throttle_rate=1.0, retry_after_ms=1)

    broken = cli("apply", "-m", manifest, "--auto-approve", "--json")

    assert broken.exit_code == 1
    summary = broken.json()
    workspace = "modelstudio.workspace/agent-delivery"
    dependents = {"modelstudio.grant/agent-delivery/qwen-plus", "modelstudio.grant/agent-delivery/qwen-turbo",
                  "modelstudio.grant/agent-delivery/deepseek-v3", "modelstudio.api_key/agent-delivery/main"}
    assert keys(summary["failed"]) == {workspace}
    assert "Throttling.User" in summary["failed"][0]["message"]
    assert keys(summary["skipped"]) == dependents
    assert {row["message"] for row in summary["skipped"]} == {f"skipped: {workspace} failed"}
    assert {"ram.user/acme-delivery", "ram.user/acme-lead", "privatelink.endpoint/dashscope-bj"} <= \
        keys(summary["done"])
    assert f"✗ failed to create {workspace}" in broken.stderr

    cli.cloud.clear_faults()
    rerun = cli("apply", "-m", manifest, "--auto-approve", "--json")

    assert rerun.exit_code == 0, rerun.stderr
    assert keys(rerun.json()["done"]) == {workspace} | dependents
    assert_exactly_declared(cli, EXAMPLE)


# --- secrets -------------------------------------------------------------------------------------------


# provider → (its full manifest, the secrets its apply leaves in the sink at least)
LEAK_CASES = {"alibaba": (EXAMPLE.manifest, 4),  # two AccessKey secrets, a console password, an API key
              "huawei": ("huawei.yaml", 3)}  # an AK/SK secret, a console password, a MaaS API key


@pytest.mark.parametrize("provider", list(LEAK_CASES))
def test_no_secret_value_appears_in_any_output_plan_summary_or_log(cli: Cli, provider: str,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    name, at_least = LEAK_CASES[provider]
    manifest = cli.manifests / name
    saved = cli.home / "plan.json"
    cli("plan", "-m", manifest, "--out", saved)
    cli("apply", saved, "--auto-approve", "--json")
    cli("apply", "-m", manifest, "--auto-approve")
    cli("plan", "-m", manifest, "--json", "--verbose")
    cli("plan", "-m", manifest, "--markdown")
    assert cli("membership", "checklist", "-m", manifest).exit_code == 0  # both clouds have console steps
    cli.subprocess("plan", "-m", manifest, "--verbose")
    cli("verify", "-m", manifest)  # signs with the AK/SK and calls with the API key the sink holds

    secrets = cli.secrets()
    assert len(secrets) >= at_least
    places = {"outputs": "\n".join(cli.outputs), "plan file": saved.read_text(), "log": caplog.text,
              "state file": (cli.state_dir / "state.json").read_text()}
    leaks = [(where, s[:4] + "…") for where, text in places.items() for s in secrets if s in text]
    assert leaks == []
    assert places["log"], "the log captured nothing: the check above would prove nothing"


def test_a_key_deleted_outside_provision_leaves_the_sink_and_apply_replaces_it(cli: Cli) -> None:
    manifest = user_manifest(cli)
    assert cli("apply", "-m", manifest, "--auto-approve").exit_code == 0
    sink = SecretSink(cli.secrets_dir)
    [dead] = sink.access_keys("tester")
    ram(cli).delete_access_key(DeleteAccessKeyRequest(user_name="tester", user_access_key_id=dead))
    assert cli("verify", "-m", manifest).exit_code == 1  # the sink still hands out the dead key

    applied = cli("apply", "-m", manifest, "--auto-approve")
    verified = cli("verify", "-m", manifest, "--json")

    assert applied.exit_code == 0, applied.stdout + applied.stderr
    assert verified.exit_code == 0, verified.stdout
    [live] = sink.access_keys("tester")
    assert live != dead and sink.read("tester")["ALIBABA_CLOUD_ACCESS_KEY_ID"] == live
    assert [r["id"] for r in verified.json()] == [f"access-key/tester/{live}"]

"""verify end to end: apply a manifest through the CLI, then prove (or disprove) the delivered access.

Every failure is made the way it happens in real life, through the official SDKs or the emulator's
console stand-in, and the test asserts the diagnosis a user gets: the code, the manifest entry
(file:line) and what to do.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from alibabacloud_modelstudio20260210.client import Client as ModelStudioClient
from alibabacloud_modelstudio20260210.models import (
    DisableApiKeyRequest,
    UpdateModelPermissionsRequest,
    UpdateModelPermissionsRequestModels,
)
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_ram20150501.models import DeleteAccessKeyRequest, DetachPolicyFromUserRequest

from provision.emulator.alibaba.modelstudio_state import ms_state
from provision.emulator.seed import Seed
from provision.state.secrets import SecretSink

if TYPE_CHECKING:
    from tests.e2e.conftest import Cli, Result

pytestmark = pytest.mark.e2e

WORKSPACE, KEY_OWNER, LEAD = "agent-delivery", "acme-delivery", "acme-lead"
APP_ROWS = ("app", "app-session", "app-messages", "app-stream", "app-params")  # the agent app's conversation
EXAMPLE_IDS = {
    "verify.checks[0].chat", "verify.checks[0].generation", "verify.checks[0].denied-chat",
    "verify.checks[0].denied-generation", "verify.checks[0].endpoint@dashscope-bj",
    "verify.checks[0].chat@dashscope-bj", "verify.checks[0].generation@dashscope-bj",
    *(f"verify.checks[0].{kind}{via}" for kind in APP_ROWS for via in ("", "@dashscope-bj")),
    f"member/{WORKSPACE}/{KEY_OWNER}", f"member/{WORKSPACE}/{LEAD}",
}
FIELDS = {"id", "check", "target", "entry", "passed", "diagnosis", "status", "code", "credential",
          "duration_ms", "request_id", "skipped"}
APP_ID, FIN_APP_ID = "8f3a1c2e5b7d4a6f9e0c1b2a3d4e5f60", "2b4d6f8a0c1e3a5b7d9f1e3c5a7b9d0f"
CHAT = "POST /compatible-mode/v1/chat/completions"



# --- helpers ---------------------------------------------------------------------------------------------


def apply(cli: Cli, manifest: Path, *extra: str) -> Result:
    result = cli("apply", "-m", manifest, "--auto-approve", *extra)
    assert result.exit_code == 0, result.stdout + result.stderr
    return result


def add_members(cli: Cli, workspace: str = WORKSPACE, **roles: str) -> None:
    """The console step an admin does (no API exists)."""
    for user, role in (roles or {KEY_OWNER: "guest", LEAD: "admin"}).items():
        cli.cloud.add_member(cli.workspace_id(workspace), user, role)


def verify(cli: Cli, manifest: Path) -> tuple[int, dict[str, dict[str, Any]]]:
    """``provision verify --json``: the exit code and the results by id."""
    result = cli("verify", "-m", manifest, "--json")
    rows = result.json()
    assert isinstance(rows, list) and all(set(row) == FIELDS for row in rows)
    return result.exit_code, {row["id"]: row for row in rows}


def failed(rows: dict[str, dict[str, Any]]) -> set[str]:
    return {id_ for id_, row in rows.items() if not row["passed"]}


def access_key_id(cli: Cli, user: str) -> str:
    return next(iter(SecretSink(cli.secrets_dir).access_keys(user)))


def api_key_id(cli: Cli) -> str:
    held = SecretSink(cli.secrets_dir).api_key(KEY_OWNER, WORKSPACE, "main")
    assert held is not None
    return held[0]


def variant(cli: Cli, name: str, *replacements: tuple[str, str]) -> Path:
    """A copy of a repository manifest (with its includes) in the test's dir, text replaced."""
    text = (cli.manifests / name).read_text()
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    shutil.copytree(cli.manifests / "include", cli.home / "include", dirs_exist_ok=True)
    return cli.manifest(name, text)


def line_of(path: Path, text: str) -> int:
    """The 1-based line of the first line of ``path`` containing ``text``."""
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def studio(cli: Cli) -> ModelStudioClient:
    return ModelStudioClient(cli.cloud.sdk_config())


# --- everything passes -------------------------------------------------------------------------------


def test_every_check_passes_on_the_example_once_members_are_added(cli: Cli) -> None:
    manifest = cli.manifests / "example.yaml"
    apply(cli, manifest)
    add_members(cli)
    cli.cloud.clear_stats()

    code, rows = verify(cli, manifest)

    assert code == 0, [rows[i]["diagnosis"] for i in failed(rows)]
    keys = {f"access-key/{u}/{access_key_id(cli, u)}" for u in (KEY_OWNER, LEAD)}
    assert set(rows) == EXAMPLE_IDS | keys
    chat = rows["verify.checks[0].chat"]
    assert (chat["status"], chat["diagnosis"]) == (200, "answered 'pong'")
    assert chat["target"] == "qwen-plus with agent-delivery/main on dashscope.aliyuncs.com"
    check_line = line_of(manifest, "- workspace: agent-delivery")
    assert chat["entry"] == f"verify.checks[0] ({manifest}:{check_line})"
    assert re.fullmatch(rf"api key {api_key_id(cli)} \(sha256:[0-9a-f]{{8}}\)", chat["credential"])
    denied = rows["verify.checks[0].denied-generation"]
    assert (denied["passed"], denied["status"], denied["code"]) == (True, 403, "Model.AccessDenied")
    assert rows["verify.checks[0].chat@dashscope-bj"]["target"].endswith(".privatelink.aliyuncs.com")
    assert rows[f"access-key/{LEAD}/{access_key_id(cli, LEAD)}"]["diagnosis"] == \
        f"authenticates as acs:ram::{cli.cloud.account_id}:user/{LEAD}"
    calls = cli.cloud.stats()["actions"]
    assert (calls[CHAT], calls["GetCallerIdentity"], calls["ListPublishedAgent"]) == (3, 2, 2)

    first, session = rows["verify.checks[0].app"], rows["verify.checks[0].app-session"]
    assert re.fullmatch(r"answered 'pong' in session [0-9a-f]{32}", first["diagnosis"])
    session_id = first["diagnosis"].rsplit(" ", 1)[1]
    assert session["diagnosis"] == (f"continued session {session_id}: answered 'You said before: ping'")
    assert rows["verify.checks[0].app-messages"]["diagnosis"] == \
        "messages took precedence over session_id: answered 'You said before: ping twice'"
    assert rows["verify.checks[0].app-stream@dashscope-bj"]["diagnosis"] == \
        "4 chunks, together 'pong: who are you?'"
    assert rows["verify.checks[0].app-params"]["diagnosis"] == \
        "accepted biz_params, rag_options, memory_id: answered 'pong'"
    assert first["request_id"] and first["target"] == f"app {APP_ID} with agent-delivery/main on " \
        "dashscope.aliyuncs.com"

    table = cli.subprocess("verify", "-m", manifest)  # the real entry point, table output
    assert table.exit_code == 0, table.stdout + table.stderr
    assert "verify: 21 passed, 0 failed" in table.stdout
    assert "verify.checks[0].app@dashscope-bj" in table.stdout


class TestFinance:
    """Finance cloud: the emulator places workspaces in its default region (ROA calls carry no region),
    so these tests run one whose default region is cn-shanghai-finance-1."""

    @pytest.fixture
    def emulator_seed(self, emulator_seed: Seed) -> Seed:
        return emulator_seed.model_copy(update={"default_region": "cn-shanghai-finance-1"})

    def test_every_check_passes_on_finance_through_the_finance_host(self, cli: Cli) -> None:
        manifest = cli.manifests / "finance.yaml"
        apply(cli, manifest)
        add_members(cli, "agent-delivery-fin", **{"acme-fin-delivery": "guest", "acme-fin-lead": "admin"})

        code, rows = verify(cli, manifest)

        assert code == 0, [rows[i]["diagnosis"] for i in failed(rows)]
        assert len(rows) == 19  # no app parameters declared: no app-params rows
        assert rows["verify.checks[0].chat"]["target"].endswith("on dashscope-finance.aliyuncs.com")
        assert ".cn-shanghai-finance-1.privatelink.aliyuncs.com" in \
            rows["verify.checks[0].app@dashscope-fin"]["target"]


# --- each failure, diagnosed ----------------------------------------------------------------------------


def test_members_fail_until_added_and_fail_again_once_removed(cli: Cli) -> None:
    manifest = cli.manifests / "example.yaml"
    apply(cli, manifest)

    code, rows = verify(cli, manifest)
    assert code == 1 and failed(rows) == {f"member/{WORKSPACE}/{KEY_OWNER}", f"member/{WORKSPACE}/{LEAD}"}
    lead = rows[f"member/{WORKSPACE}/{LEAD}"]
    assert lead["code"] == "Workspace.AccessDenied"
    assert f"workspaces[0].members[1] ({manifest}:{line_of(manifest, 'role: admin')})" in lead["diagnosis"]
    assert f"add it as admin in the Model Studio console (`provision membership checklist -m {manifest}`" \
        in lead["diagnosis"]

    add_members(cli)
    assert verify(cli, manifest)[0] == 0
    cli.cloud.remove_member(cli.workspace_id(WORKSPACE), LEAD)
    code, rows = verify(cli, manifest)
    assert code == 1 and failed(rows) == {f"member/{WORKSPACE}/{LEAD}"}


def test_disabled_api_key_is_diagnosed_and_apply_enables_it(cli: Cli) -> None:
    manifest = cli.manifests / "example.yaml"
    apply(cli, manifest)
    add_members(cli)
    studio(cli).disable_api_key(api_key_id(cli), DisableApiKeyRequest())

    code, rows = verify(cli, manifest)

    assert code == 1
    assert {id_.split("@")[0] for id_ in failed(rows)} == {
        "verify.checks[0].chat", "verify.checks[0].generation", "verify.checks[0].denied-chat",
        "verify.checks[0].denied-generation", "verify.checks[0].app"}
    chat = rows["verify.checks[0].chat"]
    assert (chat["status"], chat["code"]) == (401, "invalid_api_key")
    entry = f"workspaces[0].api_keys[0] ({manifest}:{line_of(manifest, '- name: main')})"
    assert chat["diagnosis"] == (f"API key agent-delivery/main is disabled in the account, though {entry} "
                                 f"declares it enabled: run `provision apply -m {manifest}` to enable it")
    assert rows["verify.checks[0].generation"]["code"] == "InvalidApiKey"
    table = cli("verify", "-m", manifest)
    assert table.exit_code == 1 and "verify: 5 passed, 8 failed" in table.stdout
    assert "FAIL 401 invalid_api_key" in table.stdout and "declares it enabled" in table.stdout
    apply(cli, manifest)
    assert verify(cli, manifest)[0] == 0


def test_revoked_grant_fails_the_granted_model_check_and_names_the_models_entry(cli: Cli) -> None:
    manifest = cli.manifests / "example.yaml"
    apply(cli, manifest)
    add_members(cli)
    studio(cli).update_model_permissions(UpdateModelPermissionsRequest(
        workspace_id=cli.workspace_id(WORKSPACE), access_all_entities="KEEP",
        models=[UpdateModelPermissionsRequestModels(model="qwen-plus", inference=False)]))

    code, rows = verify(cli, manifest)

    assert code == 1
    assert failed(rows) == {"verify.checks[0].chat", "verify.checks[0].generation",
                            "verify.checks[0].chat@dashscope-bj", "verify.checks[0].generation@dashscope-bj"}
    chat = rows["verify.checks[0].chat"]
    assert (chat["status"], chat["code"]) == (403, "Model.AccessDenied")
    models = f"workspaces[0].models ({manifest}:{line_of(manifest, 'models: [qwen-plus')})"
    assert chat["diagnosis"] == (f"model qwen-plus is not granted to workspace agent-delivery in the "
                                 f"account, though {models} declares it (revoked outside provision?): run "
                                 f"`provision apply -m {manifest}` to grant it again")
    assert rows["verify.checks[0].denied-chat"]["passed"]  # the refusal still holds
    apply(cli, manifest)
    assert verify(cli, manifest)[0] == 0


def test_wrong_model_name_is_diagnosed_as_not_found(cli: Cli) -> None:
    apply(cli, cli.manifests / "example.yaml")
    add_members(cli)
    typo = variant(cli, "example.yaml", ("qwen-plus", "qwen-plux"))  # models, allowed_models and the check

    code, rows = verify(cli, typo)

    assert code == 1
    assert failed(rows) == {"verify.checks[0].chat", "verify.checks[0].generation",
                            "verify.checks[0].chat@dashscope-bj", "verify.checks[0].generation@dashscope-bj"}
    # bailian-sub-workspace-model-calls: 400 InvalidParameter "Model not exist." natively, 404
    # model_not_found on the OpenAI-compatible API; both are a wrong model name
    generation, chat = rows["verify.checks[0].generation"], rows["verify.checks[0].chat"]
    assert (generation["status"], generation["code"]) == (400, "InvalidParameter")
    assert (chat["status"], chat["code"]) == (404, "model_not_found")
    for row in (generation, chat):
        assert row["diagnosis"].startswith(
            f"model qwen-plux does not exist on the public site ({row['code']}): fix the model name in "
            f"verify.checks[0].model ({typo}:{line_of(typo, 'model: qwen-plux')})")


def test_an_app_of_another_workspace_or_unpublished_is_named_with_what_the_cloud_said(cli: Cli) -> None:
    manifest = cli.manifests / "example.yaml"
    apply(cli, manifest)
    add_members(cli)
    other = variant(cli, "example.yaml", (APP_ID, FIN_APP_ID))

    code, rows = verify(cli, other)

    assert code == 1 and failed(rows) == {"verify.checks[0].app", "verify.checks[0].app@dashscope-bj"}
    app = rows["verify.checks[0].app"]
    entry = f"verify.checks[0].app_id ({other}:{line_of(other, 'app_id:')})"
    assert (app["status"], app["code"]) == (403, "Workspace.AccessDenied") and app["request_id"]
    assert app["diagnosis"] == (f"agent app {FIN_APP_ID} belongs to another workspace than agent-delivery: "
                                f"name an app of that workspace in {entry} [Workspace.AccessDenied: "
                                f"Workspace access denied.; request_id {app['request_id']}]")

    world = cli.cloud.world
    with world.lock:
        for seeded in ms_state(world, cli.cloud.account_id).apps:
            seeded.published = False
    rows = verify(cli, manifest)[1]
    app = rows["verify.checks[0].app@dashscope-bj"]
    assert (app["status"], app["code"]) == (400, "App.NotPublished")
    assert app["diagnosis"].startswith(
        f"agent app {APP_ID} (verify.checks[0].app_id ({manifest}:{line_of(manifest, 'app_id:')})) is not "
        "published: publish it in the Model Studio console")


def test_a_parameter_the_app_does_not_define_is_diagnosed_at_its_manifest_line(cli: Cli) -> None:
    manifest = cli.manifests / "example.yaml"
    apply(cli, manifest)
    add_members(cli)
    wrong = variant(cli, "example.yaml", ("city: Beijing", "country: CN"))

    code, rows = verify(cli, wrong)

    assert code == 1
    assert failed(rows) == {"verify.checks[0].app-params", "verify.checks[0].app-params@dashscope-bj"}
    params = rows["verify.checks[0].app-params"]
    assert (params["status"], params["code"]) == (400, "InvalidParameter")
    entry = f"verify.checks[0].biz_params ({wrong}:{line_of(wrong, 'biz_params:')})"
    assert params["diagnosis"].startswith(
        f"agent app {APP_ID} refused the declared parameters (InvalidParameter: biz_params.user_prompt_params"
        f".country: the app's prompt has no variable 'country'.): fix {entry} to what the published app "
        "defines [")
    assert rows["verify.checks[0].app-session"]["passed"]  # the conversation itself still works


def test_deleted_endpoint_is_named_and_its_calls_are_not_made(cli: Cli) -> None:
    manifest = cli.manifests / "example.yaml"
    apply(cli, manifest)
    add_members(cli)
    gone = variant(cli, "example.yaml", ("service_name: com.aliyuncs.dashscope",
                                         "service_name: com.aliyuncs.dashscope\n    state: absent"),
                   ("via_endpoints: [dashscope-bj]", "via_endpoints: []"))
    apply(cli, gone, "--allow-destroy")

    code, rows = verify(cli, manifest)

    assert code == 1 and failed(rows) == {"verify.checks[0].endpoint@dashscope-bj"}
    assert "verify.checks[0].chat@dashscope-bj" not in rows
    endpoint = rows["verify.checks[0].endpoint@dashscope-bj"]
    assert endpoint["code"] == "NotFound"
    entry = f"endpoints[0] ({manifest}:{line_of(manifest, '- name: dashscope-bj')})"
    assert endpoint["diagnosis"] == (f"endpoint dashscope-bj ({entry}) does not exist in the account: "
                                     f"run `provision apply -m {manifest}` to create it")


def test_endpoint_not_active_yet_is_named_with_its_status(cli: Cli) -> None:
    manifest = cli.manifests / "example.yaml"
    apply(cli, manifest)
    add_members(cli)
    # A longer asynchronous delay re-times the creation under way: the endpoint reads as still Creating.
    cli.cloud.world.settings["async_delay_s"] = 600

    code, rows = verify(cli, manifest)

    assert code == 1 and failed(rows) == {"verify.checks[0].endpoint@dashscope-bj"}
    assert "verify.checks[0].chat@dashscope-bj" not in rows
    endpoint = rows["verify.checks[0].endpoint@dashscope-bj"]
    assert endpoint["code"] == "Creating"
    assert endpoint["diagnosis"].startswith(f"endpoint dashscope-bj (endpoints[0] ({manifest}:")
    assert "is Creating/Pending, not Active/Connected: a new or changing endpoint takes minutes" \
        in endpoint["diagnosis"]


def test_deleted_access_key_fails_get_caller_identity(cli: Cli) -> None:
    manifest = cli.manifests / "example.yaml"
    apply(cli, manifest)
    add_members(cli)
    dead = access_key_id(cli, LEAD)
    RamClient(cli.cloud.sdk_config()).delete_access_key(DeleteAccessKeyRequest(user_name=LEAD,
                                                                               user_access_key_id=dead))

    code, rows = verify(cli, manifest)

    assert code == 1 and failed(rows) == {f"access-key/{LEAD}/{dead}", f"member/{WORKSPACE}/{LEAD}"}
    key = rows[f"access-key/{LEAD}/{dead}"]
    assert (key["status"], key["code"]) == (404, "InvalidAccessKeyId.NotFound")
    assert key["diagnosis"].startswith(
        f"AccessKey {dead} of {LEAD} no longer exists (deleted outside provision?): run "
        f"`provision apply -m {manifest}`, "
        "which creates a replacement for users[1].access_keys")
    assert key["credential"].startswith(f"{dead} (secret sha256:")
    member = rows[f"member/{WORKSPACE}/{LEAD}"]
    assert "AccessKey failed with InvalidAccessKeyId.NotFound" in member["diagnosis"]


def test_detached_data_policy_is_diagnosed_as_no_permission(cli: Cli) -> None:
    manifest = cli.manifests / "example.yaml"
    apply(cli, manifest)
    add_members(cli)
    RamClient(cli.cloud.sdk_config()).detach_policy_from_user(DetachPolicyFromUserRequest(
        user_name=LEAD, policy_name="AliyunBailianDataReadOnlyAccess", policy_type="System"))

    code, rows = verify(cli, manifest)

    assert code == 1 and failed(rows) == {f"member/{WORKSPACE}/{LEAD}"}
    member = rows[f"member/{WORKSPACE}/{LEAD}"]
    assert member["code"] == "NoPermission"
    assert member["diagnosis"].startswith(
        f"{LEAD} may not call sfm:ListPublishedAgent (NoPermission), though users[1].policies.system ("
        f"{manifest}:")
    assert member["diagnosis"].endswith("declares AliyunBailianDataReadOnlyAccess: it was detached outside "
                                        f"provision; run `provision apply -m {manifest}` to attach it again")


def test_member_without_a_data_policy_is_told_which_policy_to_add(cli: Cli) -> None:
    leads_policies = ("      system: [AliyunBailianDataReadOnlyAccess]\n    expires_at",
                      "      system: []\n    expires_at")
    no_policy = variant(cli, "example.yaml", leads_policies)
    apply(cli, no_policy)
    add_members(cli)

    code, rows = verify(cli, no_policy)

    assert code == 1 and failed(rows) == {f"member/{WORKSPACE}/{LEAD}"}
    entry = f"users[1].policies.system ({no_policy}:{line_of(no_policy, 'system: []')})"
    assert rows[f"member/{WORKSPACE}/{LEAD}"]["diagnosis"] == (
        f"{LEAD} may not call sfm:ListPublishedAgent (NoPermission): a Model Studio data policy is missing; "
        f"add AliyunBailianDataReadOnlyAccess to {entry} and run `provision apply -m {no_policy}`")


def test_a_finance_manifest_on_a_public_region_emulator_says_how_to_start_the_emulator(cli: Cli) -> None:
    # The default emulator keeps workspaces in cn-beijing: the finance manifest's key is a public-site key.
    # Under PROVISION_ENDPOINT that is the emulator's doing, not the manifest's: the advice says so.
    manifest = cli.manifests / "finance.yaml"
    apply(cli, manifest)

    code, rows = verify(cli, manifest)

    assert code == 1
    chat = rows["verify.checks[0].chat"]
    assert (chat["status"], chat["code"]) == (401, "invalid_api_key")
    assert chat["diagnosis"] == (
        "wrong region in the emulator: workspace agent-delivery-fin is in cn-beijing (the public site), but "
        f"cloud.site ({manifest}:{line_of(manifest, 'site: finance')}) is finance. Model Studio calls carry "
        "no region, so the emulator places every workspace in its default region: start it with "
        "`provision emulator serve --region cn-shanghai-finance-1`, then apply again")


def test_secrets_missing_from_the_sink_are_named_and_only_the_rotate_switch_replaces_them(cli: Cli) -> None:
    manifest = cli.manifests / "example.yaml"
    apply(cli, manifest)
    add_members(cli)
    sink = SecretSink(cli.secrets_dir)
    held = sink.api_key(KEY_OWNER, WORKSPACE, "main")
    assert held is not None
    lost = [held[1], *sink.access_keys(LEAD).values()]
    sink.forget_api_key(KEY_OWNER, WORKSPACE, "main")
    sink.forget_access_key(LEAD, access_key_id(cli, LEAD))

    code, rows = verify(cli, manifest)

    assert code == 1
    assert failed(rows) == {"verify.checks[0].api-key", f"access-key/{LEAD}/missing",
                            f"member/{WORKSPACE}/{LEAD}"}
    rotate = f"`provision apply -m {manifest} --rotate-missing-secrets`"
    assert rows["verify.checks[0].api-key"]["diagnosis"] == (
        f"the secrets sink ({cli.secrets_dir}, account {KEY_OWNER}) holds no value for API key "
        f"agent-delivery/main: run {rotate}, which rotates a key whose value is lost")
    missing = rows[f"access-key/{LEAD}/missing"]["diagnosis"]
    assert missing.startswith(
        f"the secrets sink holds 0 of the 1 AccessKey secret(s) that users[1].access_keys ({manifest}:")
    assert missing.endswith(f"for {LEAD}: run {rotate}, which rotates a key whose secret is lost")
    apply(cli, manifest)
    assert failed(verify(cli, manifest)[1]) == failed(rows)  # a plain apply leaves lost keys alone
    apply(cli, manifest, "--rotate-missing-secrets")
    assert verify(cli, manifest)[0] == 0
    printed = "\n".join(cli.outputs)
    assert [s for s in lost if s in printed] == []


# --- apply --verify ----------------------------------------------------------------------------------------


def test_apply_with_verify_checks_right_after_applying(cli: Cli) -> None:
    manifest = cli.manifests / "example.yaml"

    first = cli("apply", "-m", manifest, "--auto-approve", "--verify", "--json")

    assert first.exit_code == 1  # applied, but the console membership steps are still to do
    document = first.json()
    assert document["apply"]["failed"] == [] and len(document["apply"]["done"]) == 15
    assert {r["id"] for r in document["verify"] if not r["passed"]} == {
        f"member/{WORKSPACE}/{KEY_OWNER}", f"member/{WORKSPACE}/{LEAD}"}
    add_members(cli)
    second = cli("apply", "-m", manifest, "--auto-approve", "--verify")
    assert second.exit_code == 0, second.stdout + second.stderr
    assert "nothing to do: the account matches the manifest" in second.stdout
    assert "verify: 21 passed, 0 failed" in second.stdout


def test_apply_that_fails_skips_verify(cli: Cli) -> None:
    cli.cloud.set_faults(action="CreateWorkspace", throttle_rate=1.0, retry_after_ms=1)

    result = cli("apply", "-m", cli.manifests / "example.yaml", "--auto-approve", "--verify")

    assert result.exit_code == 1
    assert "verify skipped: the apply did not succeed" in result.stderr
    assert "verify:" not in result.stdout


def test_a_vl_model_is_verified_on_the_multimodal_endpoint(cli: Cli) -> None:
    """bailian-sub-workspace-model-calls: Qwen-VL (and Audio) models take
    /api/v1/services/aigc/multimodal-generation/generation natively."""
    vl = variant(cli, "example.yaml", ("qwen-turbo", "qwen-vl-plus"),
                 ("      model: qwen-plus", "      model: qwen-vl-plus"))
    apply(cli, vl)
    add_members(cli)
    cli.cloud.clear_stats()

    code, rows = verify(cli, vl)

    assert code == 0, [rows[i]["diagnosis"] for i in failed(rows)]
    generation = rows["verify.checks[0].generation@dashscope-bj"]
    assert generation["target"].startswith("qwen-vl-plus with")
    assert generation["diagnosis"] == "answered 'pong'"
    calls = cli.cloud.stats()["actions"]
    assert calls["POST /api/v1/services/aigc/multimodal-generation/generation"] == 2  # the site, the endpoint
    assert "POST /api/v1/services/aigc/text-generation/generation" in calls  # the denied model, qwen-max

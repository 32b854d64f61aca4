"""The GitHub Actions example (examples/github-actions/provision.yml), run step by step against the emulator.

``pipeline_runner.Runner`` runs each job's ``run:`` steps with bash as GitHub would, and stands in for what
only GitHub has. Each GitHub Environment gets its own identity, as the workflow's header says: PR plans and
the drift check a RAM user holding only examples/policies/provision-reader.json, the apply and expiry
jobs one holding only examples/policies/provision-operator.json. The delivery team's OpenPGP key pair,
whose public half the hand-off step encrypts to, lives outside the runner: the runner never holds a
private key.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from alibabacloud_modelstudio20260210.client import Client as ModelStudioClient
from alibabacloud_modelstudio20260210.models import ListWorkspacesRequest
from alibabacloud_ram20150501 import models as ram
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_sts20150401.client import Client as StsClient
from pipeline_runner import JobResult, Runner, install_fake_gh
from ruamel.yaml import YAML

from provision.clock import NOW_ENV
from provision.emulator.testing import EmulatorHandle
from provision.state.secrets import parse_env

if TYPE_CHECKING:
    from tests.e2e.conftest import Cli

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "examples" / "github-actions" / "provision.yml"
OPERATOR_POLICY = ROOT / "examples" / "policies" / "provision-operator.json"
READER_POLICY = ROOT / "examples" / "policies" / "provision-reader.json"
HEAD_SHA = "4f2c9e1d8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e"
APPLY_STEPS = ["credentials", "empty-sink", "fetch-plan", "apply", "hand-off", "actions/upload-artifact@v4",
               "shred"]


@dataclass(frozen=True)
class DeliveryKey:
    """The delivery team's OpenPGP key pair: its public half goes to the workflow, its private half stays."""

    home: Path  # GNUPGHOME holding the private key
    public: str  # ASCII-armoured public key

    def decrypt(self, path: Path) -> dict[str, str]:
        """An encrypted env file, decrypted: its entries."""
        gpg = ["gpg", "--homedir", str(self.home), "--batch", "--quiet", "--decrypt", str(path)]
        return parse_env(subprocess.run(gpg, capture_output=True, text=True, check=True).stdout)


@pytest.fixture(scope="session")
def delivery_key() -> Iterator[DeliveryKey]:
    if shutil.which("gpg") is None:
        pytest.skip("gpg is needed by the workflow's hand-off step")
    home = Path(tempfile.mkdtemp(prefix="gpg-"))  # short: gpg-agent's socket path has a length limit
    gpg = ["gpg", "--homedir", str(home), "--batch", "--quiet"]
    subprocess.run([*gpg, "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key",
                    "Delivery team <delivery@acme.example>", "future-default", "default", "never"],
                   check=True, capture_output=True)
    public = subprocess.run([*gpg, "--armor", "--export", "delivery@acme.example"], check=True,
                            capture_output=True, text=True).stdout
    yield DeliveryKey(home, public)
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], capture_output=True)
    shutil.rmtree(home, ignore_errors=True)


def make_identity(emulator: EmulatorHandle, name: str, document: str) -> tuple[str, str]:
    """A RAM user holding only ``document`` as a custom policy; its AccessKey (id, secret)."""
    client = RamClient(emulator.sdk_config())
    policy = name.title().replace("-", "")
    client.create_user(ram.CreateUserRequest(user_name=name))
    client.create_policy(ram.CreatePolicyRequest(policy_name=policy, policy_document=document))
    client.attach_policy_to_user(ram.AttachPolicyToUserRequest(
        policy_type="Custom", policy_name=policy, user_name=name))
    key = client.create_access_key(ram.CreateAccessKeyRequest(user_name=name)).body.access_key
    return key.access_key_id, key.access_key_secret


def make_operator(emulator: EmulatorHandle, document: str) -> tuple[str, str]:
    """The tool's identity for the apply jobs: ``provision-operator`` with ``document``."""
    return make_identity(emulator, "provision-operator", document)


def access_key_secrets(key_id: str, secret: str) -> dict[str, str]:
    return {"secrets.ALIBABA_CLOUD_ACCESS_KEY_ID": key_id, "secrets.ALIBABA_CLOUD_ACCESS_KEY_SECRET": secret}


@pytest.fixture
def runner(emulator: EmulatorHandle, tmp_path: Path, delivery_key: DeliveryKey) -> Runner:
    workspace, home = tmp_path / "repo", tmp_path / "home"
    shutil.copytree(ROOT / "manifests", workspace / "manifests")
    (home / "bin").mkdir(parents=True)
    install_fake_gh(home / "bin", sys.executable)
    operator = access_key_secrets(*make_operator(emulator, OPERATOR_POLICY.read_text()))
    reader = access_key_secrets(*make_identity(emulator, "provision-reader", READER_POLICY.read_text()))
    handoff = {"vars.PROVISION_HANDOFF_PUBLIC_KEY": delivery_key.public}
    environments = {"provision-plan": reader, "provision": {**operator, **handoff},
                    "provision-expiry": {**operator, **handoff}}
    context = {"github.token": "ghs_fake_token", "github.workflow": "provision",
               "github.event.pull_request.number": "7", "github.event.pull_request.head.sha": HEAD_SHA}
    runner_env = {
        "PATH": os.pathsep.join([str(home / "bin"), str(Path(sys.executable).parent), "/usr/bin", "/bin"]),
        "HOME": str(home), "CI": "true", "GITHUB_SHA": "9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c",
        "GITHUB_REPOSITORY": "acme/delivery-access", "FAKE_GH_LOG": str(home / "gh.log"),
        "FAKE_GH_ARTIFACTS": str(home / "artifacts"), "FAKE_GH_PR_HEAD_SHA": HEAD_SHA,
        # what the runner's network and clock stand in for: the cloud is the emulator, on the tests' date
        "PROVISION_ENDPOINT": emulator.url, "PROVISION_POLL_INTERVAL_S": "0.05",
        NOW_ENV: os.environ[NOW_ENV], "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
    }
    workflow = YAML(typ="safe").load(WORKFLOW.read_text())
    return Runner(workflow, workspace, home, context, runner_env, environments)


def ram_client(emulator: EmulatorHandle) -> RamClient:
    return RamClient(emulator.sdk_config())


def user_names(emulator: EmulatorHandle) -> set[str]:
    users = ram_client(emulator).list_users(ram.ListUsersRequest(max_items=1000)).body.users.user or []
    return {u.user_name for u in users}


def access_key_ids(emulator: EmulatorHandle, user: str) -> set[str]:
    listed = ram_client(emulator).list_access_keys(ram.ListAccessKeysRequest(user_name=user))
    return {k.access_key_id for k in listed.body.access_keys.access_key or []}


def merged(runner: Runner) -> JobResult:
    """The PR's plan job, then the apply job of its merge; both must succeed."""
    plan = runner.run("plan")
    assert plan.ok, plan.output()
    apply = runner.run("apply")
    assert apply.ok, apply.output()
    return apply


def handed_off(runner: Runner, job: JobResult, key: DeliveryKey) -> dict[str, dict[str, str]]:
    """The env files the job handed to the secret store (its encrypted artifact), decrypted."""
    artifact = runner.artifacts / f"provision-secrets-{job.run_id}"
    files = sorted(artifact.glob("*.env.gpg")) if artifact.is_dir() else []
    return {path.name.removesuffix(".env.gpg"): key.decrypt(path) for path in files}


def files_holding(root: Path, values: list[str]) -> list[Path]:
    """Every file under ``root`` whose bytes contain one of ``values``."""
    needles = [v.encode() for v in values]
    return [p for p in root.rglob("*") if p.is_file() and any(n in p.read_bytes() for n in needles)]


def test_pull_request_comments_the_markdown_plan_and_keeps_the_json_plan(runner: Runner,
                                                                         emulator: EmulatorHandle) -> None:
    job = runner.run("plan")

    assert job.ok, job.output()  # as the read-only identity of the provision-plan environment
    [comment] = runner.gh_calls("pr", "comment")
    assert comment["args"][2] == "7"
    assert "`ram.user/acme-delivery`" in comment["body"] and HEAD_SHA in comment["body"]
    saved = json.loads((runner.artifacts / f"provision-plan-{HEAD_SHA}" / "plan.json").read_text())
    assert any(c["key"] == "privatelink.endpoint/dashscope-bj" for c in saved["changes"])
    assert "acme-delivery" not in user_names(emulator)  # a plan changes nothing


def test_merge_applies_the_reviewed_plan_and_hands_the_new_secrets_over_keeping_none(
        runner: Runner, emulator: EmulatorHandle, delivery_key: DeliveryKey, tmp_path: Path) -> None:
    apply = merged(runner)

    assert {"acme-delivery", "acme-lead"} <= user_names(emulator)
    assert runner.gh_calls("run", "download")[0]["args"][3] == f"provision-plan-{HEAD_SHA}"
    assert apply.ran() == APPLY_STEPS
    delivered = handed_off(runner, apply, delivery_key)
    assert sorted(delivered) == ["acme-delivery", "acme-lead"]
    agent = delivered["acme-delivery"]  # usable as handed over: the AccessKey is the user's
    sts = StsClient(emulator.sdk_config(agent["ALIBABA_CLOUD_ACCESS_KEY_ID"],
                                        agent["ALIBABA_CLOUD_ACCESS_KEY_SECRET"]))
    assert sts.get_caller_identity().body.arn.endswith(":user/acme-delivery")
    assert "DASHSCOPE_API_KEY" in agent and "ALIBABA_CLOUD_CONSOLE_PASSWORD" in delivered["acme-lead"]
    secrets = [v for entries in delivered.values() for k, v in entries.items() if not k.endswith("_ID")]
    # nowhere in plain text: not in the checkout the state is committed from, not on the runner, not in a log
    assert files_holding(tmp_path, secrets) == []
    assert not (apply.temp / "provision-secrets").exists()
    assert not [s for s in secrets if s in apply.output() + json.dumps(runner.gh_calls())]
    assert (runner.workspace / ".provision" / "state.json").exists()
    # the state dir keeps only state.json and the writers' lock file (which names no secret; the workflow
    # commits state.json alone)
    assert sorted(p.name for p in (runner.workspace / ".provision").iterdir()) == [".lock", "state.json"]


def test_nightly_never_rotates_reports_missing_secrets_as_warnings_and_opens_an_issue_on_drift(
        runner: Runner, emulator: EmulatorHandle) -> None:
    merged(runner)
    keys = {user: access_key_ids(emulator, user) for user in ("acme-delivery", "acme-lead")}

    expiry, drift = runner.run("expiry"), runner.run("drift")

    assert expiry.ok and "no user past expires_at" in expiry.output(), expiry.output()
    assert "no new secret to hand off" in expiry.step("hand-off").stdout
    assert not (runner.artifacts / f"provision-secrets-{expiry.run_id}").exists()
    assert drift.ok and "no drift" in drift.output(), drift.output()
    assert {user: access_key_ids(emulator, user) for user in keys} == keys  # the empty sink rotated nothing
    warnings = [line for line in drift.step("drift").stdout.splitlines() if line.startswith("::warning")]
    assert any("ram.access_keys/acme-delivery" in w and "missing from the secrets sink" in w
               for w in warnings)
    assert runner.gh_calls("issue") == []

    ram_client(emulator).update_user(ram.UpdateUserRequest(user_name="acme-delivery",
                                                           new_display_name="changed in the console"))
    drifted = runner.run("drift")

    assert drifted.step("drift").returncode == 1
    [issue] = runner.gh_calls("issue", "create")
    assert "ram.user/acme-delivery" in issue["body"] and "display_name" in issue["body"]
    assert "::error::the account differs" in drifted.step("drift").stdout


def test_merge_refuses_a_plan_the_account_moved_away_from(runner: Runner, emulator: EmulatorHandle) -> None:
    assert runner.run("plan").ok
    # someone creates one of the declared users by hand after the plan was reviewed
    ram_client(emulator).create_user(ram.CreateUserRequest(user_name="acme-lead", comments="by hand"))

    job = runner.run("apply")

    assert not job.ok
    step = job.step("apply")
    assert step.returncode == 1
    assert "is stale" in step.stdout and "re-run plan" in step.stdout.lower()
    assert "::error title=stale plan::nothing was applied" in step.stdout
    assert "acme-delivery" not in user_names(emulator)
    workspaces = ModelStudioClient(emulator.sdk_config()).list_workspaces(ListWorkspacesRequest())
    assert not workspaces.body.workspaces
    assert job.ran()[-3:] == ["hand-off", "actions/upload-artifact@v4", "shred"]  # always() steps still run
    assert job.step("hand-off").returncode == 0 and job.step("shred").returncode == 0


def test_apply_without_a_handoff_key_fails_loudly_and_still_shreds_the_new_secrets(
        runner: Runner, emulator: EmulatorHandle, tmp_path: Path) -> None:
    runner.environments["provision"].pop("vars.PROVISION_HANDOFF_PUBLIC_KEY")
    assert runner.run("plan").ok

    job = runner.run("apply")

    assert job.step("apply").returncode == 0 and "acme-delivery" in user_names(emulator)
    assert job.step("hand-off").returncode == 1
    assert "no variable PROVISION_HANDOFF_PUBLIC_KEY" in job.step("hand-off").stdout
    assert job.step("shred").returncode == 0 and not (job.temp / "provision-secrets").exists()
    assert not list(runner.artifacts.glob("provision-secrets-*"))
    assert not list(tmp_path.rglob("*.env"))  # lost rather than left behind: the plan then reports them


def test_nightly_expiry_revokes_users_past_expires_at(runner: Runner, emulator: EmulatorHandle) -> None:
    merged(runner)
    manifest = runner.workspace / "manifests" / "example.yaml"  # the date passes: same as an earlier date
    manifest.write_text(manifest.read_text().replace('default("2027-03-31T00:00:00Z")',
                                                     'default("2020-01-01T00:00:00Z")'))

    job = runner.run("expiry")

    assert job.ok, job.output()
    for user in ("acme-delivery", "acme-lead"):
        assert not access_key_ids(emulator, user), f"{user} still has AccessKeys"
    assert not (runner.artifacts / f"provision-secrets-{job.run_id}").exists()  # a revocation makes no secret
    assert runner.run("drift").ok


class _TokenHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        ok = self.headers.get("Authorization") == "bearer request-token" and \
            "audience=sts.aliyuncs.com" in self.path
        body = json.dumps({"value": "oidc-jwt-from-github"}).encode()
        self.send_response(200 if ok else 403)
        self.end_headers()
        self.wfile.write(body if ok else b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def token_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _TokenHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/token?api-version=2.0"
    server.shutdown()


def test_credentials_step_hands_the_oidc_token_to_the_credential_chain(runner: Runner,
                                                                       token_server: str) -> None:
    account = "acs:ram::1000000000000001"
    runner.environments["provision-plan"] = {
        "vars.ALIBABA_CLOUD_ROLE_ARN": f"{account}:role/provision-ci",
        "vars.ALIBABA_CLOUD_OIDC_PROVIDER_ARN": f"{account}:oidc-provider/gh"}
    runner.runner_env.update({"ACTIONS_ID_TOKEN_REQUEST_URL": token_server,
                              "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "request-token"})

    job = runner.run("plan", only={"credentials"})

    assert job.ok, job.output()
    [token_file] = job.temp.glob("alibaba-oidc-token")
    assert token_file.read_text().strip() == "oidc-jwt-from-github"
    assert token_file.stat().st_mode & 0o777 == 0o600
    assert "oidc-jwt-from-github" not in job.output()


@pytest.mark.parametrize("keys,oidc,message", [
    ("", "", "no credentials"),
    ("LTAI5tSomeKey", "acs:ram::1:role/ci", "not both"),
])
def test_credentials_step_refuses_missing_or_ambiguous_credentials(runner: Runner, keys: str, oidc: str,
                                                                   message: str) -> None:
    runner.environments["provision-plan"] = {"secrets.ALIBABA_CLOUD_ACCESS_KEY_ID": keys,
                                             "vars.ALIBABA_CLOUD_ROLE_ARN": oidc}

    job = runner.run("plan", only={"credentials"})

    assert job.step("credentials").returncode == 1
    assert message in job.step("credentials").stdout


def test_operator_policy_is_enforced_a_missing_statement_stops_apply(emulator: EmulatorHandle,
                                                                     tmp_path: Path) -> None:
    policy = json.loads(OPERATOR_POLICY.read_text())
    policy["Statement"] = [s for s in policy["Statement"]
                           if "privatelink:CreateVpcEndpoint" not in s["Action"]]
    key_id, secret = make_operator(emulator, json.dumps(policy))
    env = {**os.environ, "PROVISION_ENDPOINT": emulator.url, "ALIBABA_CLOUD_ACCESS_KEY_ID": key_id,
           "ALIBABA_CLOUD_ACCESS_KEY_SECRET": secret, "PROVISION_STATE_DIR": str(tmp_path / "state"),
           "PROVISION_POLL_INTERVAL_S": "0.05", "NO_COLOR": "1"}

    proc = subprocess.run([sys.executable, "-c", "from provision.cli.app import main; main()", "apply", "-m",
                           str(ROOT / "manifests" / "example.yaml"), "--auto-approve"],
                          capture_output=True, text=True, env=env, timeout=120)

    assert proc.returncode == 1
    assert "privatelink:" in proc.stdout + proc.stderr and "NoPermission" in proc.stdout + proc.stderr


def test_keys_an_operator_without_sfm_create_session_creates_are_refused_and_diagnosed(
        cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """bailian-sub-workspace-model-calls: NoPermission on sfm:CreateSession; the fix is
    AliyunBailianDataFullAccess (AliyunBailianDataReadOnlyAccess is not enough)."""
    document = json.loads(OPERATOR_POLICY.read_text())
    document["Statement"] = [s for s in document["Statement"] if s["Action"] != "sfm:CreateSession"]
    key_id, secret = make_operator(cli.cloud, json.dumps(document))
    for name, value in (("ALIBABA_CLOUD_ACCESS_KEY_ID", key_id), ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", secret)):
        monkeypatch.setenv(name, value)
        cli.env[name] = value
    manifest = cli.manifests / "example.yaml"
    assert cli("apply", "-m", manifest, "--auto-approve").exit_code == 0

    rows = {row["id"]: row for row in cli("verify", "-m", manifest, "--json").json()}

    chat, app = rows["verify.checks[0].chat"], rows["verify.checks[0].app"]
    assert (chat["passed"], chat["status"], chat["code"]) == (False, 403, "NoPermission")
    assert chat["diagnosis"].startswith(
        "the RAM user who owns API key agent-delivery/main may not open a session (NoPermission on "
        "sfm:CreateSession): attach AliyunBailianDataFullAccess to the identity that created the key "
        "(AliyunBailianDataReadOnlyAccess is not enough)")
    assert (app["code"], app["passed"]) == ("NoPermission", False) and app["request_id"]
    assert f"request_id {app['request_id']}]" in app["diagnosis"]


def test_operator_policy_covers_verify_audit_and_revoke(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    key_id, secret = make_operator(cli.cloud, OPERATOR_POLICY.read_text())
    for name, value in (("ALIBABA_CLOUD_ACCESS_KEY_ID", key_id), ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", secret)):
        monkeypatch.setenv(name, value)
        cli.env[name] = value
    manifest = cli.manifests / "example.yaml"
    assert cli("apply", "-m", manifest, "--auto-approve").exit_code == 0
    for user, role in (("acme-delivery", "guest"), ("acme-lead", "admin")):
        cli.cloud.add_member(cli.workspace_id("agent-delivery"), user, role)

    results = [cli("verify", "-m", manifest), cli("audit", "-m", manifest, "--format", "json"),
               cli("revoke", "-m", manifest, "--var", "expires=2026-01-01T00:00:00Z",
                   "--user", "acme-delivery", "--delete-user", "--auto-approve")]

    assert [r.exit_code for r in results] == [0, 0, 0], "\n".join(r.stdout + r.stderr for r in results)
    assert "NoPermission" not in "".join(r.stdout + r.stderr for r in results)

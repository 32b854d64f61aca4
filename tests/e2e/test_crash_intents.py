"""Write-ahead intents: a create whose answer is lost (the process SIGKILLed right after the cloud answered,
or the emulator committing the write and then failing the answer) leaves no orphan key and no unmanaged
workspace or endpoint, and `plan --detailed-exitcode` exits 0 only once the manifest is really delivered.
The official SDKs against the emulator, through the CLI (the crashing apply runs as a real process), on
each cloud (``provider``: the crash manifest and census of ``tests/e2e/census.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from provision.desired.kinds import Kind
from provision.providers.registry import cloud_entry
from provision.state.intents import CRASH_ENV
from provision.state.lock import release_all
from provision.state.secrets import SecretSink
from tests.e2e.census import CASES, CrashCase

if TYPE_CHECKING:
    from tests.e2e.conftest import Cli

pytestmark = pytest.mark.e2e

PROVIDERS = list(CASES)
# and the Huawei IAM user: tagged by a second call after its create
CRASHES = [(provider, kind) for provider, case in CASES.items() for kind in case.creates] + \
    [("huawei", Kind.IAM_USER)]
KEYS = {Kind.ACCESS_KEYS, Kind.API_KEY, Kind.IAM_ACCESS_KEYS, Kind.MAAS_API_KEY}  # secrets in the answer
LOGINS = {Kind.LOGIN_PROFILE, Kind.IAM_LOGIN_PROFILE}  # nothing in the answer: the password is stored first


def sink(cli: Cli, case: CrashCase) -> SecretSink:
    return SecretSink(cli.secrets_dir, cloud_entry(case.cloud).sink_names)


def assert_delivered(cli: Cli, case: CrashCase, manifest: Path) -> None:
    """No orphan, no look-alike, one of each, no open intent, and the plan agrees (exit 0)."""
    found = case.census(cli.cloud, cli.state_dir, cli.secrets_dir)
    assert (found.orphans, found.unmanaged) == ([], []), found
    assert found.counts == case.delivered
    assert cli.state().open_intents() == []
    plan = cli("plan", "-m", manifest, "--detailed-exitcode")
    assert plan.exit_code == 0, plan.stdout + plan.stderr
    assert "No changes. The account matches the manifest." in plan.stdout


@pytest.mark.parametrize(("provider", "kind"), CRASHES, ids=[f"{p}-{k}" for p, k in CRASHES])
def test_sigkill_after_a_create_then_reapply_leaves_nothing_behind(
        cli: Cli, provider: str, kind: Kind, monkeypatch: pytest.MonkeyPatch) -> None:
    case = CASES[provider]
    manifest = cli.manifest("crash.yaml", case.manifest)
    with monkeypatch.context() as crash:
        crash.setenv(CRASH_ENV, f"after-create:{kind}")
        crashed = cli.subprocess("apply", "-m", manifest, "--auto-approve")
    assert crashed.exit_code == -9, crashed.stdout + crashed.stderr  # SIGKILL
    opened = cli.state().open_intents()  # the changes in flight at the kill left theirs open too
    [intent] = [i for i in opened if i.kind == kind]

    planned = cli("plan", "-m", manifest, "--detailed-exitcode")

    if kind in LOGINS and planned.exit_code == 0:  # killed at the very end: the password was stored first
        assert "its password went to the secrets sink before the create" in planned.stdout
        assert case.census(cli.cloud, cli.state_dir, cli.secrets_dir).counts == case.delivered
    else:
        assert planned.exit_code == 2, planned.stdout + planned.stderr  # never "matches" half way
    if kind in KEYS:  # the secret died with the process
        assert "Not delivered" in planned.stdout and "interrupted apply" in planned.stdout
        assert "its secret never reached the sink" in planned.stdout
    assert cli.state().open_intents() == opened  # a plan records nothing

    again = cli("apply", "-m", manifest, "--auto-approve")

    assert again.exit_code == 0, again.stdout + again.stderr
    assert f"settled: {intent.key}" in again.stderr
    assert_delivered(cli, case, manifest)


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("lost", ["ServiceUnavailable", "drop"])
def test_answers_lost_after_the_commit_are_looked_for_not_retried_blindly(cli: Cli, provider: str,
                                                                          lost: str) -> None:
    case = CASES[provider]
    manifest = cli.manifest("crash.yaml", case.manifest)
    for action in case.creates.values():
        cli.cloud.set_faults(action=action, after_commit_rate=1.0, after_commit=lost, after_commit_limit=1)

    applied = cli("apply", "-m", manifest, "--auto-approve")

    assert applied.exit_code == 0, applied.stdout + applied.stderr
    injected = cli.cloud.control("GET", "stats")["faults_injected"]
    assert injected == {f"after_commit:{lost}": len(case.creates)}
    cli.cloud.clear_faults()
    assert_delivered(cli, case, manifest)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_crash_between_the_secret_and_its_record_is_not_a_lost_secret(cli: Cli, provider: str) -> None:
    """The intent is open, but the key's secret is in the sink: the key is kept, nothing is replaced."""
    case = CASES[provider]
    manifest = cli.manifest("crash.yaml", case.manifest)
    assert cli("apply", "-m", manifest, "--auto-approve").exit_code == 0
    [key_id] = sink(cli, case).access_keys("courier")
    state = cli.state()
    state.open_intent(next(iter(case.creates)), "courier", before=())  # as if killed before closing it

    again = cli("apply", "-m", manifest, "--auto-approve")

    assert again.exit_code == 0, again.stdout + again.stderr
    assert "created by an interrupted apply (intent of" in again.stderr
    assert "is left without its secret" in again.stderr
    assert_delivered(cli, case, manifest)
    assert list(sink(cli, case).access_keys("courier")) == [key_id]  # kept, not replaced


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("lost", ["ServiceUnavailable", "drop"])
def test_half_of_all_write_answers_lost_still_converges_in_one_apply(cli: Cli, provider: str,
                                                                     lost: str) -> None:
    """Every write (creates, grants, tags, deletes of orphans) may lose its answer after the commit."""
    case = CASES[provider]
    manifest = cli.manifest("crash.yaml", case.manifest)
    cli.cloud.set_faults(after_commit_rate=0.5, after_commit=lost)

    applied = cli("apply", "-m", manifest, "--auto-approve")

    assert applied.exit_code == 0, applied.stdout + applied.stderr
    assert cli.cloud.control("GET", "stats")["faults_injected"].get(f"after_commit:{lost}", 0) >= 1
    cli.cloud.clear_faults()
    assert_delivered(cli, case, manifest)


def test_sigkill_after_an_api_key_reset_settles_like_a_create(cli: Cli,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """ResetApiKey shows the new value once, as a create does: a run killed before storing it leaves a key
    nobody holds, which the next apply deletes and replaces (Alibaba Cloud; Huawei MaaS keys have no
    reset: a lost one is replaced by a create)."""
    case = CASES["alibaba"]
    manifest = cli.manifest("crash.yaml", case.manifest)
    assert cli("apply", "-m", manifest, "--auto-approve").exit_code == 0
    held = sink(cli, case)
    account = held.api_key_account("ws-crash", "courier")
    [old_id, _] = held.api_key(account, "ws-crash", "main") or ("", "")
    held.forget_api_key(account, "ws-crash", "main")  # the value is lost: a rotation is due
    release_all()  # the in-process apply's state lock, for the real process
    with monkeypatch.context() as crash:
        crash.setenv(CRASH_ENV, f"after-reset:{Kind.API_KEY}")
        crashed = cli.subprocess("apply", "-m", manifest, "--auto-approve", "--rotate-missing-secrets")
    assert crashed.exit_code == -9, crashed.stdout + crashed.stderr
    [intent] = cli.state().open_intents()
    assert intent.key == f"{Kind.API_KEY}/ws-crash/main"

    planned = cli("plan", "-m", manifest, "--detailed-exitcode")
    assert planned.exit_code == 2, planned.stdout + planned.stderr
    assert f"API key {old_id} was created by an interrupted apply" in planned.stdout

    again = cli("apply", "-m", manifest, "--auto-approve")

    assert again.exit_code == 0, again.stdout + again.stderr
    assert f"deactivated and deleted API key {old_id}" in again.stderr
    assert_delivered(cli, case, manifest)
    assert (sink(cli, case).api_key(account, "ws-crash", "main") or ("",))[0] not in ("", old_id)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_creates_failed_before_the_commit_are_retried_and_deliver(cli: Cli, provider: str) -> None:
    """The look before a retry must not take "nothing found" for "done": a 503 answered before the write
    (nothing committed) is simply retried."""
    case = CASES[provider]
    manifest = cli.manifest("crash.yaml", case.manifest)
    for action in case.creates.values():
        cli.cloud.set_faults(action=action, error_rate=1.0, error_code="ServiceUnavailable", error_limit=1)

    applied = cli("apply", "-m", manifest, "--auto-approve")

    assert applied.exit_code == 0, applied.stdout + applied.stderr
    calls = cli.cloud.control("GET", "stats")["actions"]
    assert {action: calls.get(action, 0) for action in case.creates.values()} == \
        {action: 2 for action in case.creates.values()}  # each create: one 503, one retry that created
    assert cli.cloud.control("GET", "stats")["faults_injected"] == {"ServiceUnavailable": len(case.creates)}
    cli.cloud.clear_faults()
    assert_delivered(cli, case, manifest)

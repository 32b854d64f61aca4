"""Write-ahead intents: a create whose answer is lost (the process SIGKILLed right after the cloud answered,
or the emulator committing the write and then failing the answer) leaves no orphan key and no unmanaged
workspace or endpoint, and `plan --detailed-exitcode` exits 0 only once the manifest is really delivered.
The official SDKs against the emulator, through the CLI (the crashing apply runs as a real process)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from provision.desired.resources import Kind
from provision.state.intents import CRASH_ENV
from provision.state.secrets import SecretSink
from tests.e2e.census import MANIFEST, Census, crash_census

if TYPE_CHECKING:
    from tests.e2e.conftest import Cli

pytestmark = pytest.mark.e2e

CREATES = {Kind.ACCESS_KEYS: "CreateAccessKey", Kind.LOGIN_PROFILE: "CreateLoginProfile",
           Kind.WORKSPACE: "CreateWorkspace", Kind.API_KEY: "CreateApiKey",
           Kind.ENDPOINT: "CreateVpcEndpoint"}


def account(cli: Cli) -> Census:
    return crash_census(cli.cloud, cli.state_dir, cli.secrets_dir)


def assert_delivered(cli: Cli, manifest: Path) -> None:
    """No orphan, no look-alike, one of each, no open intent, and the plan agrees (exit 0)."""
    found = account(cli)
    assert (found.orphans, found.unmanaged) == ([], []), found
    assert found.counts == {"ram.access_keys/courier": 1, "modelstudio.workspace/ws-crash": 1,
                            "privatelink.endpoint/ep-crash": 1}
    assert cli.state().open_intents() == []
    plan = cli("plan", "-m", manifest, "--detailed-exitcode")
    assert plan.exit_code == 0, plan.stdout + plan.stderr
    assert "No changes. The account matches the manifest." in plan.stdout


@pytest.mark.parametrize("kind", list(CREATES), ids=[str(k) for k in CREATES])
def test_sigkill_after_a_create_then_reapply_leaves_nothing_behind(
        cli: Cli, kind: Kind, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = cli.manifest("crash.yaml", MANIFEST)
    with monkeypatch.context() as crash:
        crash.setenv(CRASH_ENV, f"after-create:{kind}")
        crashed = cli.subprocess("apply", "-m", manifest, "--auto-approve")
    assert crashed.exit_code == -9, crashed.stdout + crashed.stderr  # SIGKILL
    opened = cli.state().open_intents()  # the changes in flight at the kill left theirs open too
    [intent] = [i for i in opened if i.kind == kind]

    planned = cli("plan", "-m", manifest, "--detailed-exitcode")

    assert planned.exit_code == 2, planned.stdout + planned.stderr  # never "matches" half way
    if kind in (Kind.ACCESS_KEYS, Kind.API_KEY):  # the secret died with the process
        assert "Not delivered" in planned.stdout and "interrupted apply" in planned.stdout
        assert "its secret never reached the sink" in planned.stdout
    assert cli.state().open_intents() == opened  # a plan records nothing

    again = cli("apply", "-m", manifest, "--auto-approve")

    assert again.exit_code == 0, again.stdout + again.stderr
    assert f"settled: {intent.key}" in again.stderr
    assert_delivered(cli, manifest)


@pytest.mark.parametrize("lost", ["ServiceUnavailable", "drop"])
def test_answers_lost_after_the_commit_are_looked_for_not_retried_blindly(cli: Cli, lost: str) -> None:
    manifest = cli.manifest("crash.yaml", MANIFEST)
    for action in CREATES.values():
        cli.cloud.set_faults(action=action, after_commit_rate=1.0, after_commit=lost, after_commit_limit=1)

    applied = cli("apply", "-m", manifest, "--auto-approve")

    assert applied.exit_code == 0, applied.stdout + applied.stderr
    injected = cli.cloud.control("GET", "stats")["faults_injected"]
    assert injected == {f"after_commit:{lost}": len(CREATES)}
    cli.cloud.clear_faults()
    assert_delivered(cli, manifest)


def test_a_crash_between_the_secret_and_its_record_is_not_a_lost_secret(cli: Cli) -> None:
    """The intent is open, but the key's secret is in the sink: the key is kept, nothing is replaced."""
    manifest = cli.manifest("crash.yaml", MANIFEST)
    assert cli("apply", "-m", manifest, "--auto-approve").exit_code == 0
    [key_id] = SecretSink(cli.secrets_dir).access_keys("courier")
    state = cli.state()
    state.open_intent(Kind.ACCESS_KEYS, "courier", before=())  # as if killed before closing it

    again = cli("apply", "-m", manifest, "--auto-approve")

    assert again.exit_code == 0, again.stdout + again.stderr
    assert "no AccessKey created by an interrupted apply" in again.stderr
    assert_delivered(cli, manifest)
    assert list(SecretSink(cli.secrets_dir).access_keys("courier")) == [key_id]  # kept, not replaced


@pytest.mark.parametrize("lost", ["ServiceUnavailable", "drop"])
def test_half_of_all_write_answers_lost_still_converges_in_one_apply(cli: Cli, lost: str) -> None:
    """Every write (creates, grants, tags, deletes of orphans) may lose its answer after the commit."""
    manifest = cli.manifest("crash.yaml", MANIFEST)
    cli.cloud.set_faults(after_commit_rate=0.5, after_commit=lost)

    applied = cli("apply", "-m", manifest, "--auto-approve")

    assert applied.exit_code == 0, applied.stdout + applied.stderr
    assert cli.cloud.control("GET", "stats")["faults_injected"].get(f"after_commit:{lost}", 0) >= 1
    cli.cloud.clear_faults()
    assert_delivered(cli, manifest)

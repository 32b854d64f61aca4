"""Runs that share one state dir: concurrent plans never lose each other's pending-removal records, and a
writer (apply, revoke, `membership confirm`) reads the state once, after it holds the state dir's lock."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from provision.state.lock import LOCK_NAME
from provision.state.statefile import StateFile, compact_all
from tests.e2e.conftest import ENTRY_POINT

if TYPE_CHECKING:
    from tests.e2e.conftest import Cli

pytestmark = pytest.mark.e2e

WORKSPACE = "agent-delivery"
DELIVERY, LEAD = "acme-delivery", "acme-lead"
PAST, FUTURE = "2000-01-01T00:00:00Z", "2999-01-01T00:00:00Z"


def _expiring(cli: Cli, name: str, expired: str) -> Path:
    """The example manifest with only ``expired`` past its expires_at (the other user stays)."""
    text = (cli.manifests / "example.yaml").read_text()
    entry = '{{ expires | default("2027-03-31T00:00:00Z") }}'
    first, second = (PAST, FUTURE) if expired == DELIVERY else (FUTURE, PAST)
    text = text.replace(entry, first, 1).replace(entry, second, 1)
    if not (cli.home / "include").exists():
        shutil.copytree(cli.manifests / "include", cli.home / "include")
    return cli.manifest(name, text)


def _waits_for_a_lock(pid: int) -> bool:
    """Whether process ``pid`` is blocked waiting for a file lock (Linux: a ``->`` line of /proc/locks)."""
    lines = Path("/proc/locks").read_text().splitlines()
    return any(line.split()[1] == "->" and str(pid) in line.split() for line in lines)


def test_two_plans_at_once_keep_both_removals_and_the_next_confirm_sees_both(
        cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    example = cli.manifests / "example.yaml"
    applied = cli("apply", "-m", example, "--var", f"expires={FUTURE}", "--auto-approve")
    assert applied.exit_code == 0, applied.stderr
    workspace_id = cli.workspace_id(WORKSPACE)
    cli.cloud.add_member(workspace_id, DELIVERY, "guest")  # the console steps: the probe proves both
    cli.cloud.add_member(workspace_id, LEAD, "admin")
    mine, theirs = _expiring(cli, "mine.yaml", DELIVERY), _expiring(cli, "theirs.yaml", LEAD)
    state_json = cli.state_dir / "state.json"
    other: list[subprocess.Popen[str]] = []
    replace = os.replace

    def folding(src: Any, dst: Any) -> None:
        """This plan folds its journal into state.json: the other plan runs now, from start to end (or
        until it waits for this fold to end)."""
        if Path(dst) == state_json and not other:
            other.append(subprocess.Popen([*ENTRY_POINT, "plan", "-m", str(theirs), "--state-dir",
                                           str(cli.state_dir)], env={**os.environ, **cli.env}, cwd=cli.home,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
            deadline = time.monotonic() + 120  # a guard against a hang, not a measure
            while other[0].poll() is None and not _waits_for_a_lock(other[0].pid):
                assert time.monotonic() < deadline, "the other plan neither ended nor waited for the fold"
                time.sleep(0.02)
        replace(src, dst)

    monkeypatch.setattr(os, "replace", folding)
    first = cli("plan", "-m", mine, "--state-dir", cli.state_dir)
    monkeypatch.setattr(os, "replace", replace)
    assert other, "the plan wrote no state"
    out, err = other[0].communicate(timeout=120)
    assert first.exit_code == 0, first.stderr
    assert other[0].returncode == 0, err
    assert f"manual: remove {DELIVERY} from {WORKSPACE}" in first.stdout
    assert f"manual: remove {LEAD} from {WORKSPACE}" in out

    assert set(cli.state().pending_removals()) == {(WORKSPACE, DELIVERY), (WORKSPACE, LEAD)}
    cli.cloud.remove_member(workspace_id, DELIVERY)  # the console steps, done
    cli.cloud.remove_member(workspace_id, LEAD)
    both_expired = ("-m", cli.manifests / "example.yaml", "--var", f"expires={PAST}")
    for user in (DELIVERY, LEAD):
        confirmed = cli("membership", "confirm", *both_expired, "--workspace", WORKSPACE, "--user", user,
                        "--removed")
        assert confirmed.exit_code == 0, confirmed.stderr
        assert f"recorded: {user} was removed from workspace {WORKSPACE}" in confirmed.stdout


def _command(cli: Cli, name: str) -> tuple[str | Path, ...]:
    past = ("--var", f"expires={PAST}")
    if name == "apply":
        return "apply", "-m", cli.manifests / "example.yaml", "--auto-approve"
    if name == "apply-huawei":
        return "apply", "-m", cli.manifests / "huawei.yaml", "--auto-approve"
    if name == "revoke":
        return "revoke", "-m", cli.manifests / "example.yaml", *past, "--user", DELIVERY, "--auto-approve"
    return ("membership", "confirm", "-m", cli.manifests / "example.yaml", *past, "--workspace", WORKSPACE,
            "--user", DELIVERY, "--removed")


@pytest.mark.parametrize("name", ["apply", "apply-huawei", "revoke", "confirm"])
def test_a_writer_reads_the_state_once_after_it_holds_the_lock(cli: Cli, monkeypatch: pytest.MonkeyPatch,
                                                             name: str) -> None:
    if name in ("revoke", "confirm"):
        applied = cli("apply", "-m", cli.manifests / "example.yaml", "--auto-approve")
        assert applied.exit_code == 0, applied.stderr
    lock_file = (cli.state_dir / LOCK_NAME).resolve()
    events: list[str] = []
    flock, load = fcntl.flock, StateFile._load

    def locking(fd: int, operation: int) -> None:
        if "lock" not in events and operation & fcntl.LOCK_EX and \
                Path(os.readlink(f"/proc/self/fd/{fd}")) == lock_file:
            events.append("lock")
            # another writer ran since this command started and ended just before its lock: it is seen
            events.append("writer")
            writer = StateFile(cli.state_dir / "state.json")
            writer.record_removal(WORKSPACE, DELIVERY, "revoked: by the writer before")
            compact_all()
            events.append("writer done")
        flock(fd, operation)

    def loading(state: StateFile) -> None:
        if events[-1:] != ["writer"] and state.path.parent.resolve() == cli.state_dir.resolve():
            events.append("read")
        load(state)

    monkeypatch.setattr(fcntl, "flock", locking)
    monkeypatch.setattr(StateFile, "_load", loading)
    result = cli(*_command(cli, name))
    monkeypatch.undo()

    assert result.exit_code == 0, result.stdout + result.stderr
    assert events == ["lock", "writer", "writer done", "read"], "the state was not read once, after the lock"
    if name == "confirm":  # the writer's record is what confirm --removed clears
        assert f"recorded: {DELIVERY} was removed from workspace {WORKSPACE}" in result.stdout

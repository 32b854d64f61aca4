"""Runs that share one state dir: a writer (apply, revoke, `membership confirm`) reads the state once, after
it holds the state dir's lock."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from provision.state.lock import LOCK_NAME
from provision.state.statefile import StateFile, compact_all

if TYPE_CHECKING:
    from tests.e2e.conftest import Cli

pytestmark = pytest.mark.e2e

WORKSPACE = "agent-delivery"
DELIVERY = "acme-delivery"
PAST = "2000-01-01T00:00:00Z"


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

"""One writer per state dir: a second apply on a locked state dir fails at once, naming the holder; the lock
of a process that died is taken over, and the takeover is said."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from provision.state.lock import LOCK_NAME, lock_state_dir, release_state_dir

if TYPE_CHECKING:
    from tests.e2e.conftest import Cli

pytestmark = pytest.mark.e2e

ONE_USER = """version: 1
name: t
cloud: {site: public, region: cn-beijing}
users:
  - name: locked-out
"""

HOLD = """
import sys, time
from pathlib import Path
from provision.state.lock import lock_state_dir
lock_state_dir(Path(sys.argv[1]), "provision apply")
print("held", flush=True)
time.sleep(60)
"""


def test_a_second_writer_on_one_state_dir_fails_at_once_naming_the_holder(cli: Cli) -> None:
    manifest = cli.manifest("one.yaml", ONE_USER)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(cli.state_dir)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        result = cli.subprocess("apply", "-m", manifest, "--auto-approve", "--state-dir", cli.state_dir)
        assert result.exit_code == 1
        assert f"is locked by pid {holder.pid} (provision apply, since" in result.stderr
        assert "Traceback" not in result.stderr + result.stdout
        state = Path(cli.state_dir) / "state.json"
        assert not state.exists() or "locked-out" not in state.read_text()
    finally:
        holder.kill()
        holder.wait()
    after = cli.subprocess("apply", "-m", manifest, "--auto-approve", "--state-dir", cli.state_dir)
    assert after.exit_code == 0, after.stderr
    # the holder was killed: the kernel dropped its lock, and the file still names it
    assert f"took over the lock of pid {holder.pid} (provision apply" in after.stderr


def test_the_lock_of_a_dead_process_is_taken_over_and_said(tmp_path: Path) -> None:
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": 2 ** 22 + 1, "command": "provision apply",
                                                  "since": "2026-12-01T00:00:00+00:00"}))
    try:
        note = lock_state_dir(tmp_path, "provision revoke")
        assert note is not None and f"took over the lock of pid {2 ** 22 + 1}" in note
        recorded = json.loads((tmp_path / LOCK_NAME).read_text())
        assert recorded["pid"] == os.getpid() and recorded["command"] == "provision revoke"
    finally:
        release_state_dir(tmp_path)


def test_a_held_lock_refuses_another_holder_until_released(tmp_path: Path) -> None:
    assert lock_state_dir(tmp_path, "provision apply") is None
    assert lock_state_dir(tmp_path, "provision apply") is None  # re-entrant for its own process
    fd = os.open(tmp_path / LOCK_NAME, os.O_RDWR)
    with pytest.raises(BlockingIOError):
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    release_state_dir(tmp_path)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.close(fd)


HOLD_AS = """
import sys, time
from pathlib import Path
from provision.state.lock import lock_state_dir
lock_state_dir(Path(sys.argv[1]), sys.argv[2], shared=sys.argv[3] == "shared")
print("held", flush=True)
time.sleep(60)
"""


def _holding(state_dir: Path, command: str, mode: str) -> subprocess.Popen[str]:
    Path(state_dir).mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_AS, str(state_dir), command, mode],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


CONFIRM = ("membership", "confirm", "--workspace", "ws", "--user", "locked-out", "--removed")


@pytest.mark.parametrize("command", [("plan",), CONFIRM])
def test_plan_and_confirm_fail_at_once_while_a_writer_holds_the_state_dir(cli: Cli,
                                                                          command: tuple[str, ...]) -> None:
    manifest = cli.manifest("one.yaml", ONE_USER)
    holder = _holding(cli.state_dir, "provision apply", "exclusive")
    try:
        result = cli.subprocess(*command, "-m", manifest, "--state-dir", cli.state_dir)
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 1
    assert f"is locked by pid {holder.pid} (provision apply, since" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_plans_run_side_by_side_and_a_writer_fails_naming_the_plan(cli: Cli) -> None:
    manifest = cli.manifest("one.yaml", ONE_USER)
    holder = _holding(cli.state_dir, "provision plan", "shared")
    try:
        plan = cli.subprocess("plan", "-m", manifest, "--state-dir", cli.state_dir)
        apply = cli.subprocess("apply", "-m", manifest, "--auto-approve", "--state-dir", cli.state_dir)
        confirm = cli.subprocess(*CONFIRM, "-m", manifest, "--state-dir", cli.state_dir)
    finally:
        holder.kill()
        holder.wait()
    assert plan.exit_code == 0, plan.stderr
    assert "ram.user/locked-out" in plan.stdout
    for writer in (apply, confirm):
        assert writer.exit_code == 1
        assert f"is locked by pid {holder.pid} (provision plan, since" in writer.stderr
    after = cli.subprocess("apply", "-m", manifest, "--auto-approve", "--state-dir", cli.state_dir)
    assert after.exit_code == 0, after.stderr  # the reader is gone: a writer gets in


def test_a_shared_lock_admits_readers_and_refuses_a_writer_until_they_leave(tmp_path: Path) -> None:
    assert lock_state_dir(tmp_path, "provision plan", shared=True) is None
    fd = os.open(tmp_path / LOCK_NAME, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)  # another reader gets in
    fcntl.flock(fd, fcntl.LOCK_UN)
    with pytest.raises(BlockingIOError):
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    release_state_dir(tmp_path)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.close(fd)
    assert lock_state_dir(tmp_path / "absent", "provision plan", shared=True) is None
    assert not (tmp_path / "absent").exists()  # a plan creates no state dir

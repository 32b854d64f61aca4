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

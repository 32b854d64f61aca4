"""One writer per state dir: an exclusive lock taken by every command that writes the state or the sink.

The lock is an ``flock`` on ``<state dir>/.lock``, held until the process ends (the kernel drops it when the
process dies, so a crashed run never leaves the dir locked). The file names the holder: pid, command, start.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from provision import clock
from provision.errors import ProvisionError

LOCK_NAME = ".lock"
_held: dict[Path, int] = {}  # state dir -> the open descriptor that holds its lock


@dataclass(frozen=True)
class Holder:
    """Who holds (or last held) a state dir's lock."""

    pid: int
    command: str
    since: str

    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def _read_holder(fd: int) -> Holder | None:
    os.lseek(fd, 0, os.SEEK_SET)
    raw = os.read(fd, 4096)
    try:
        data = json.loads(raw.decode())
        return Holder(int(data["pid"]), str(data["command"]), str(data["since"]))
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None


def lock_state_dir(root: Path, command: str) -> str | None:
    """Take the state dir's lock for this process (again: a no-op). Fails at once, naming the holder,
    when another process holds it; returns a note when it takes over the lock of a process that died."""
    root = root.resolve()
    if root in _held:
        return None
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read_holder(fd)
        os.close(fd)
        who = f"pid {holder.pid} ({holder.command}, since {holder.since})" if holder else "another process"
        raise ProvisionError(f"state dir {root} is locked by {who}: wait for it to finish, or give another "
                             "--state-dir; two runs on one state dir would corrupt it") from None
    previous = _read_holder(fd)
    note = None
    if previous is not None and previous.pid != os.getpid() and not previous.alive():
        note = (f"state dir {root}: took over the lock of pid {previous.pid} ({previous.command}, since "
                f"{previous.since}), which is no longer running")
    record = json.dumps({"pid": os.getpid(), "command": command, "since": clock.now().isoformat()})
    os.ftruncate(fd, 0)
    os.pwrite(fd, record.encode(), 0)
    _held[root] = fd
    return note


def command_line() -> str:
    """The running command as a user would name it (``provision apply``)."""
    words = [Path(sys.argv[0]).name] + [a for a in sys.argv[1:2] if not a.startswith("-")]
    return " ".join(words)


def release_state_dir(root: Path) -> None:
    """Give the lock back before the process ends (tests, long-lived callers)."""
    fd = _held.pop(root.resolve(), None)
    if fd is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def release_all() -> None:
    """Give back every lock this process holds."""
    for root in list(_held):
        release_state_dir(root)

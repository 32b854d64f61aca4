"""One writer per state dir: an exclusive lock taken by every command that writes the state or the sink.

The lock is an ``flock`` on ``<state dir>/.lock``, held until the process ends (the kernel drops it when the
process dies, so a crashed run never leaves the dir locked). The file names the holder: pid, command, start.
A reader (``plan``) takes it shared: plans run side by side, and none reads a state a writer is changing;
each reader names itself in ``<state dir>/.lock.readers/<pid>``, so a writer it stops can say who it is.
A command takes it before it reads the state (``Context.build(..., hold=Hold.EXCLUSIVE)``), so it reads the
state once and no other writer records after that read.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from provision import clock
from provision.errors import ProvisionError

LOCK_NAME = ".lock"
READERS = ".lock.readers"
_held: dict[Path, int] = {}  # state dir -> the open descriptor that holds its lock
_shared: set[Path] = set()  # the state dirs of _held whose lock is held shared


class Hold(StrEnum):
    """How a command holds the state dir's lock while it runs."""

    NONE = "none"  # reads the state and writes nothing (verify, audit, the checklist)
    SHARED = "shared"  # reads it beside other readers, never while a writer holds it (plan)
    EXCLUSIVE = "exclusive"  # writes the state or the sink (apply, revoke, membership confirm, handoff)


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


def lock_state_dir(root: Path, command: str, *, shared: bool = False) -> str | None:
    """Take the state dir's lock for this process (again: a no-op), exclusive, or ``shared`` with other
    readers. Fails at once, naming the holder, when another process holds it so that it cannot be taken;
    returns a note when it takes over the lock of a process that died. A shared lock of a dir that does
    not exist is not taken: there is nothing to read."""
    root = root.resolve()
    if root in _held and (shared or root not in _shared):
        return None
    if shared and not root.is_dir():
        return None
    if root in _held:  # shared, and now wanted exclusive: give it back first (flock does the same)
        release_state_dir(root)
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = (None if shared else _reader(root)) or _read_holder(fd)
        os.close(fd)
        who = f"pid {holder.pid} ({holder.command}, since {holder.since})" if holder else "another process"
        raise ProvisionError(f"state dir {root} is locked by {who}: wait for it to finish, or give another "
                             "--state-dir; two runs on one state dir would corrupt it") from None
    _held[root] = fd
    if shared:
        _shared.add(root)
        _write(root / READERS / str(os.getpid()), command)
        return None
    previous = _read_holder(fd)
    note = None
    if previous is not None and previous.pid != os.getpid() and not previous.alive():
        note = (f"state dir {root}: took over the lock of pid {previous.pid} ({previous.command}, since "
                f"{previous.since}), which is no longer running")
    record = _record(command)
    os.ftruncate(fd, 0)
    os.pwrite(fd, record, 0)
    return note


def _record(command: str) -> bytes:
    return json.dumps({"pid": os.getpid(), "command": command, "since": clock.now().isoformat()}).encode()


def _write(path: Path, command: str) -> None:
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(_record(command))


def _reader(root: Path) -> Holder | None:
    """A live process that holds the lock shared (a plan), as it named itself."""
    for path in sorted((root / READERS).glob("*")) if (root / READERS).is_dir() else []:
        try:
            data = json.loads(path.read_text())
            holder = Holder(int(data["pid"]), str(data["command"]), str(data["since"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if holder.alive():
            return holder
        path.unlink(missing_ok=True)  # a reader that died: its name is stale
    return None


def command_line() -> str:
    """The running command as a user would name it (``provision apply``)."""
    words = [Path(sys.argv[0]).name] + [a for a in sys.argv[1:2] if not a.startswith("-")]
    return " ".join(words)


def release_state_dir(root: Path) -> None:
    """Give the lock back before the process ends (tests, long-lived callers)."""
    root = root.resolve()
    fd = _held.pop(root, None)
    if root in _shared:
        _shared.discard(root)
        (root / READERS / str(os.getpid())).unlink(missing_ok=True)
    if fd is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def release_all() -> None:
    """Give back every lock this process holds."""
    for root in list(_held):
        release_state_dir(root)

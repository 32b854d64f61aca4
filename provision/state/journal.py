"""The state file's write-ahead journal: durable writes proportional to the change, not to the state.

``state.json`` is a snapshot; ``state.journal`` (next to it) holds the changes made since, one JSON line
each: ``{"v": 1, "t": table, "k": key, "d": value}`` sets ``table[key]`` to ``value`` and ``"d": null``
removes the key; ``"f": true`` marks a first record (a pending removal): it sets the key only where it is
not set yet, so two runs that recorded the same fact keep the earlier record. Reading the state is the
snapshot with every journal line replayed on it, in order.

**Many writers.** Plans run side by side (they hold the state dir's lock shared) and each may record (a
pending removal). So every append and every compaction holds an exclusive ``flock`` on the state dir itself
for its few syscalls (:func:`dir_lock`), and a read holds it shared: a line is never appended to a journal a
compaction has read and is about to remove, two compactions never overwrite each other, and a read never
sees a journal and a snapshot from either side of a compaction.

**Group commit.** A writer enqueues its line (under the state's own lock, so the journal's order is the
order of the changes) and then waits for it to be durable. The first waiter to find no flush under way
writes every line queued so far in one ``write`` and one ``fsync``; the writers that queued while it ran
are covered by the next flush. Eight worker threads recording at once cost one or two fsyncs, not eight.

**Crashes.** A line is written whole by one ``write``; a crash in the middle of one (power lost, disk
full) can leave a torn last line, never acknowledged to its writer: a line that is not a JSON object is
skipped when read, and the next writer starts its lines on a fresh one. A line of an unknown version
(``"v"``) is refused like a snapshot of an unknown version.

**Compaction** (``StateFile.compact``) writes a new snapshot (temp file, fsync, rename, directory
fsync) and then removes the journal: at the end of a command, at the first write of a run that found a
journal left by an earlier one (a crash), and when the journal outgrows the snapshot.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provision.errors import ProvisionError
from provision.state.secrets import fsync_dir

VERSION = 1


@dataclass(frozen=True)
class Entry:
    """One journal line: set (``value`` not None) or remove (None) ``key`` of ``table``; a ``first``
    record sets it only where it is not set."""

    table: str
    key: str
    value: Any
    first: bool = False

    def line(self) -> bytes:
        data = {"v": VERSION, "t": self.table, "k": self.key, "d": self.value}
        if self.first:
            data["f"] = True
        return (json.dumps(data, separators=(",", ":")) + "\n").encode()

    def apply(self, table: dict[str, Any]) -> None:
        """Replay this line on its table."""
        if self.value is None:
            table.pop(self.key, None)
        elif not (self.first and self.key in table):
            table[self.key] = self.value


@contextmanager
def dir_lock(directory: Path, *, shared: bool = False) -> Iterator[None]:
    """Hold an ``flock`` on ``directory`` itself (blocking: the holders hold it for a few syscalls), shared
    for a read, exclusive for an append or a compaction. A directory that does not exist has nothing to
    read, and one this user may not list cannot be opened: nothing is held. Two holders in one process
    (two threads) exclude each other too; one thread must not take it twice."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        fd = -1
    try:
        if fd >= 0:
            fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        if fd >= 0:
            os.close(fd)  # drops the lock


@dataclass(frozen=True)
class Replay:
    """What a journal file held when read: its entries in order, its size, the torn lines skipped."""

    entries: list[Entry]
    size: int  # bytes; 0: there was no journal (or an empty one)
    skipped: int = 0  # torn lines (a write a crash cut short)


def read_journal(path: Path) -> Replay:
    """The entries of a journal file (none if there is no file); torn lines are skipped, a line of
    another version is refused."""
    try:
        raw = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):  # no file (a path under a file: the same)
        return Replay([], 0)
    entries: list[Entry] = []
    skipped = 0
    for line in raw.split(b"\n"):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError:
            skipped += 1  # a torn write: never acknowledged to whoever made it
            continue
        if not isinstance(data, dict):
            skipped += 1
            continue
        version = data.get("v")
        if version != VERSION:
            raise ProvisionError(f"{path}: state journal version {version!r}, but this provision reads "
                                 f"version {VERSION}; a newer provision wrote it: upgrade provision (never "
                                 "edit or delete the file: it records what this tool created)")
        table, key = data.get("t"), data.get("k")
        if not isinstance(table, str) or not isinstance(key, str):
            raise ProvisionError(f"{path}: unreadable state journal (a line without its table or key); "
                                 "fix or move it away")
        entries.append(Entry(table, key, data.get("d"), data.get("f") is True))
    return Replay(entries, len(raw), skipped)


class Journal:
    """Appends lines to one journal file with group commit; thread-safe.

    :meth:`enqueue` is called while the caller holds the lock that orders its changes; :meth:`wait`
    (without that lock) returns once the line is on disk and fsynced. Each flush opens the file for
    appending and closes it: a journal another writer removed (compacted) in between is made anew."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cond = threading.Condition()
        self._pending: list[bytes] = []
        self._queued = 0  # lines ever queued (a line's ticket is its number)
        self._synced = 0  # lines on disk and fsynced
        self._busy = False  # a flush is under way (outside the condition's lock)
        self._written = 0  # bytes this journal appended since it was last removed
        self._error: BaseException | None = None

    @property
    def size(self) -> int:
        """Bytes this writer appended since the journal was last compacted away."""
        return self._written

    def enqueue(self, entry: Entry) -> int:
        """Queue one line; returns its ticket for :meth:`wait`."""
        line = entry.line()
        with self._cond:
            self._pending.append(line)
            self._queued += 1
            return self._queued

    def wait(self, ticket: int) -> None:
        """Return once line ``ticket`` (and every line queued before it) is durable; the first waiter
        without a flush under way flushes for everyone queued so far."""
        with self._cond:
            while self._synced < ticket:
                if self._error is not None:
                    raise ProvisionError(f"{self.path}: the state journal could not be written "
                                         f"({self._error}): fix the disk, then run again") from None
                if self._busy:
                    self._cond.wait()
                    continue
                self._busy = True
                batch, upto = self._pending, self._queued
                self._pending = []
                self._cond.release()
                try:
                    self._append(b"".join(batch))
                except BaseException as exc:
                    self._error = exc
                    raise
                finally:
                    self._cond.acquire()
                    self._busy = False
                    self._cond.notify_all()
                self._synced = upto

    def flush(self) -> None:
        """Make every line queued so far durable."""
        with self._cond:
            ticket = self._queued
        self.wait(ticket)

    def _append(self, data: bytes) -> None:
        """One write and one fsync, under the state dir's :func:`dir_lock`; a new file's directory entry
        is fsynced too, and a torn last line (a crash cut a write short) is ended first, so these lines
        start on lines of their own."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with dir_lock(self.path.parent):
            self._append_locked(data)

    def _append_locked(self, data: bytes) -> None:
        new = not self.path.exists()
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            end = os.fstat(fd).st_size
            if end and os.pread(fd, 1, end - 1) != b"\n":
                data = b"\n" + data
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        if new:
            fsync_dir(self.path.parent)  # the new file itself survives a crash
        self._written += len(data)

    def remove(self) -> None:
        """Delete the journal file (its lines are in a new snapshot; the caller holds :func:`dir_lock`)."""
        self.path.unlink(missing_ok=True)
        fsync_dir(self.path.parent)
        self._written = 0

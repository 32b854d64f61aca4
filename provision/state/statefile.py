"""The tool's local state (``.provision/state.json``): what the cloud cannot tell us.

* ``workspace_ids``: workspace name → id, for workspaces the tool created or adopted (the Model Studio
  API has no tags, so this is how a workspace is known to be managed).
* ``confirmations``: operator confirmations of console-only workspace memberships.
* ``pending_removals``: console removals of workspace members the tool asked for (a revoke, an expired or
  undeclared member) and nobody confirmed yet: plans list them until ``membership confirm --removed``.
* ``applied``: the last-applied declared spec per resource key (tells drift from an intended change).
* ``intents``: write-ahead records of creates sent and not yet recorded (``state/intents.py``).
* ``secrets``: the secrets the tool stored in the sink, by cloud id, with their fingerprints and hand-offs.

Every mutation is durable when its method returns (a crash cannot lose what it recorded), at a cost
proportional to the change, not to the state: it appends one line to ``state.journal`` next to the file,
fsynced together with the lines other threads record at the same moment (``state/journal.py``). Reading
is ``state.json`` with the journal replayed on it. :meth:`StateFile.compact` folds the journal into a new
``state.json`` (temp file + fsync + ``os.replace`` + directory fsync) and removes it: at the end of every
command (:func:`compact_all`, also at exit), at the first write of a run that found a journal an earlier
run left (a crash), and when the journal outgrows the snapshot. No raw dicts leave this module.
"""

from __future__ import annotations

import atexit
import json
import threading
import uuid
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from provision.clock import iso, now
from provision.desired.kinds import Spec
from provision.errors import ProvisionError
from provision.plan.io import spec_from_dict, spec_to_dict
from provision.state.intents import Intent, SecretRecord
from provision.state.journal import Entry, Journal, read_journal
from provision.state.secrets import write_durably

_VERSION = 1
_TABLES = ("workspace_ids", "confirmations", "pending_removals", "applied", "intents", "secrets")
_COMPACT_AT = 1 << 20  # journal bytes past which (and past twice the snapshot) a write compacts first


@dataclass(frozen=True)
class Confirmation:
    """An operator's statement that a console-only membership is in place."""

    role: str
    confirmed_at: str  # ISO-8601 UTC
    confirmed_by: str


@dataclass(frozen=True)
class PendingRemoval:
    """A console removal of a workspace member that the tool asked for and nobody confirmed done yet."""

    since: str  # ISO-8601 UTC, when it was first asked for
    why: str  # "revoke: its expires_at … has passed", "expired: …", "not declared a member"


class StateFile:
    """Typed access to ``state.json`` (and its journal); thread-safe; a missing file is an empty state."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._workspaces: dict[str, str] = {}
        self._confirmations: dict[str, Confirmation] = {}
        self._removals: dict[str, PendingRemoval] = {}
        self._applied: dict[str, dict[str, Any]] = {}
        self._intents: dict[str, Intent] = {}
        self._secrets: dict[str, SecretRecord] = {}
        self._assumed: dict[str, str] = {}  # workspaces of open intents, for a plan that records nothing
        self._journal = Journal(journal_path(self.path))
        self._left_over = False  # the load found a journal an earlier run left: compact at the first write
        self._snapshot_size = 0
        self._load()

    def reload(self) -> None:
        """Read the file again (the snapshot and its journal): a command that took the state dir's lock
        after it loaded the state sees what a writer that held the lock before it recorded."""
        with self._lock:
            self._load()

    # -- workspaces ---------------------------------------------------------------------------------
    def workspace_id(self, name: str) -> str | None:
        with self._lock:
            return self._workspaces.get(name) or self._assumed.get(name)

    def workspace_ids(self) -> dict[str, str]:
        """Name → id of every workspace the tool created or adopted (a copy)."""
        with self._lock:
            return {**self._assumed, **self._workspaces}

    def assume_workspace(self, name: str, workspace_id: str) -> None:
        """Treat a workspace an open intent created as managed for this process only (a plan shows what
        apply will record, without writing the state file)."""
        with self._lock:
            self._assumed[name] = workspace_id

    def record_workspace(self, name: str, workspace_id: str) -> None:
        with self._lock:
            self._workspaces[name] = workspace_id
            ticket = self._log("workspace_ids", name, workspace_id)
        self._journal.wait(ticket)

    def forget_workspace(self, name: str) -> None:
        with self._lock:
            if self._workspaces.pop(name, None) is None:
                return
            ticket = self._log("workspace_ids", name, None)
        self._journal.wait(ticket)

    # -- membership confirmations -------------------------------------------------------------------
    def confirmation(self, workspace: str, user: str) -> Confirmation | None:
        with self._lock:
            return self._confirmations.get(f"{workspace}/{user}")

    def confirmations(self) -> dict[tuple[str, str], Confirmation]:
        """(workspace, user) → confirmation, for every recorded membership."""
        with self._lock:
            items = [(k.split("/", 1), c) for k, c in self._confirmations.items()]
        return {(ws, user): c for (ws, user), c in items}

    def confirm(self, workspace: str, user: str, role: str, by: str,
                at: datetime | None = None) -> Confirmation:
        """Record that ``user`` is ``role`` in ``workspace`` (at ``at``, default :func:`clock.now`)."""
        when = iso(at or now())
        confirmation = Confirmation(role=role, confirmed_at=when, confirmed_by=by)
        key = f"{workspace}/{user}"
        with self._lock:
            self._confirmations[key] = confirmation
            ticket = self._log("confirmations", key, asdict(confirmation))
        self._journal.wait(ticket)
        return confirmation

    def forget_confirmation(self, workspace: str, user: str) -> bool:
        """Drop a membership confirmation (the member was removed); whether one was recorded."""
        key = f"{workspace}/{user}"
        with self._lock:
            if self._confirmations.pop(key, None) is None:
                return False
            ticket = self._log("confirmations", key, None)
        self._journal.wait(ticket)
        return True

    # -- pending console removals -------------------------------------------------------------------
    def pending_removals(self) -> dict[tuple[str, str], PendingRemoval]:
        """(workspace, user) → the removal asked for, for every member still to be removed in the console."""
        with self._lock:
            items = [(k.split("/", 1), r) for k, r in self._removals.items()]
        return {(ws, user): r for (ws, user), r in items}

    def pending_removal(self, workspace: str, user: str) -> PendingRemoval | None:
        with self._lock:
            return self._removals.get(f"{workspace}/{user}")

    def record_removal(self, workspace: str, user: str, why: str,
                       at: datetime | None = None) -> PendingRemoval:
        """Remember that ``user`` must be removed from ``workspace`` in the console; an earlier record of
        the same removal is kept as it is (its ``since`` stays the first time it was asked for)."""
        key = f"{workspace}/{user}"
        with self._lock:
            known = self._removals.get(key)
            if known is not None:
                return known
            removal = self._removals[key] = PendingRemoval(since=iso(at or now()), why=why)
            ticket = self._log("pending_removals", key, asdict(removal))
        self._journal.wait(ticket)
        return removal

    def clear_removal(self, workspace: str, user: str) -> bool:
        """Drop a pending removal (done in the console, or proven unneeded); whether one was recorded."""
        key = f"{workspace}/{user}"
        with self._lock:
            if self._removals.pop(key, None) is None:
                return False
            ticket = self._log("pending_removals", key, None)
        self._journal.wait(ticket)
        return True

    # -- last applied -------------------------------------------------------------------------------
    def record_applied(self, spec: Spec) -> None:
        """Remember ``spec`` as what the tool last applied for its key."""
        data = spec_to_dict(spec)
        with self._lock:
            self._applied[spec.key] = data
            ticket = self._log("applied", spec.key, data)
        self._journal.wait(ticket)

    def forget_applied(self, key: str) -> None:
        with self._lock:
            if self._applied.pop(key, None) is None:
                return
            ticket = self._log("applied", key, None)
        self._journal.wait(ticket)

    def applied(self) -> dict[str, Spec]:
        """Key → last-applied spec, for the planner's drift detection."""
        with self._lock:
            return {key: spec_from_dict(data) for key, data in self._applied.items()}

    # -- write-ahead intents --------------------------------------------------------------------------
    def open_intent(self, kind: str, name: str, before: tuple[str, ...] = (), owner: str = "",
                    at: datetime | None = None) -> Intent:
        """Record, durably, that a create of ``kind/name`` is about to be sent; returns its record."""
        intent = Intent(uuid.uuid4().hex[:12], str(kind), name, iso(at or now()), tuple(before), owner)
        with self._lock:
            self._intents[intent.id] = intent
            ticket = self._log("intents", intent.id, _intent_data(intent))
        self._journal.wait(ticket)
        return intent

    def close_intent(self, intent: Intent) -> None:
        """The create's result is recorded (or the intent was settled): forget the intent."""
        with self._lock:
            if self._intents.pop(intent.id, None) is None:
                return
            ticket = self._log("intents", intent.id, None)
        self._journal.wait(ticket)

    def open_intents(self) -> list[Intent]:
        """Every intent not closed: creates a run sent and did not record (oldest first)."""
        with self._lock:
            return sorted(self._intents.values(), key=lambda i: (i.started_at, i.id))

    # -- secrets stored and handed off ----------------------------------------------------------------
    def record_secret(self, cloud_id: str, key: str, fingerprint: str, at: datetime | None = None) -> None:
        """The secret of ``cloud_id`` (of resource ``key``) is in the sink now (a new one replaces any)."""
        record = SecretRecord(key, fingerprint, iso(at or now()))
        with self._lock:
            self._secrets[cloud_id] = record
            ticket = self._log("secrets", cloud_id, asdict(record))
        self._journal.wait(ticket)

    def forget_secret(self, cloud_id: str) -> None:
        with self._lock:
            if self._secrets.pop(cloud_id, None) is None:
                return
            ticket = self._log("secrets", cloud_id, None)
        self._journal.wait(ticket)

    def secret_records(self) -> dict[str, SecretRecord]:
        """Cloud id → record, for every secret the tool stored (a copy)."""
        with self._lock:
            return dict(self._secrets)

    def record_handoffs(self, held: dict[str, str], at: datetime | None = None) -> list[str]:
        """Mark the secrets in ``held`` (cloud id → fingerprint, as the sink holds them) as handed off (one
        the state has no record of, or another secret of that id, is recorded as it is now). Returns the
        ids marked."""
        when = iso(at or now())
        ticket = 0
        with self._lock:
            for cloud_id, print_ in held.items():
                known = self._secrets.get(cloud_id)
                if known is None or known.fingerprint != print_:
                    known = SecretRecord(known.key if known else "", print_, when)
                record = self._secrets[cloud_id] = replace(known, handed_off_at=when)
                ticket = self._log("secrets", cloud_id, asdict(record))
        self._journal.wait(ticket)
        return sorted(held)

    # -- file ---------------------------------------------------------------------------------------
    def compact(self) -> None:
        """Fold the journal into a new ``state.json`` and remove it (nothing to do without a journal).
        Built from the files, not from this object's view, so a view another writer made stale is never
        written back. Callers hold the state dir's lock (every command that writes does)."""
        with self._lock:
            self._compact()

    def _log(self, table: str, key: str, value: Any) -> int:
        """Queue one change for the journal (the caller holds the lock and waits for the ticket after
        releasing it); compacts first when a journal was left over or has grown past the snapshot."""
        if self._left_over or self._journal.size > max(_COMPACT_AT, 2 * self._snapshot_size):
            self._compact()
        _dirty.add(self.path.absolute())  # a command that changes directory still finds it
        return self._journal.enqueue(Entry(table, key, value))

    def _compact(self) -> None:
        self._journal.flush()
        self._left_over = False
        self._snapshot_size = compact_files(self.path, self._journal)

    def _load(self) -> None:
        replay = read_journal(self._journal.path)  # before the snapshot: a compaction in between is seen
        tables, self._snapshot_size = _read_snapshot(self.path)
        for entry in replay.entries:
            _apply(tables, entry)
        self._left_over = replay.size > 0
        try:
            self._workspaces = {str(k): str(v) for k, v in tables["workspace_ids"].items()}
            self._confirmations = {str(k): Confirmation(**v) for k, v in tables["confirmations"].items()}
            self._removals = {str(k): PendingRemoval(**v) for k, v in tables["pending_removals"].items()}
            self._applied = {str(k): dict(v) for k, v in tables["applied"].items()}
            self._intents = {str(k): Intent(**{**i, "before": tuple(i.get("before", ()))})
                             for k, i in tables["intents"].items()}
            self._secrets = {str(k): SecretRecord(**v) for k, v in tables["secrets"].items()}
        except (ValueError, TypeError, AttributeError) as exc:
            raise ProvisionError(f"{self.path}: unreadable state file ({exc}); fix or move it away") from None


def _intent_data(intent: Intent) -> dict[str, Any]:
    return {**asdict(intent), "before": list(intent.before)}


def _apply(tables: dict[str, dict[str, Any]], entry: Entry) -> None:
    """Replay one journal line on the snapshot's tables."""
    table = tables.get(entry.table)
    if table is None:
        raise ProvisionError(f"unreadable state journal: unknown table {entry.table!r}; a newer provision "
                             "wrote it: upgrade provision")
    if entry.value is None:
        table.pop(entry.key, None)
    else:
        table[entry.key] = entry.value


def _read_snapshot(path: Path) -> tuple[dict[str, dict[str, Any]], int]:
    """The tables of ``state.json`` as JSON values (intents keyed by id) and the file's size; a missing
    file is empty, a wrong version is refused."""
    try:
        raw = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):  # no file (a path under a file: the same)
        return {table: {} for table in _TABLES}, 0
    try:
        data = json.loads(raw)
        version = data.get("version", _VERSION)
    except (ValueError, AttributeError) as exc:
        raise ProvisionError(f"{path}: unreadable state file ({exc}); fix or move it away") from None
    if version != _VERSION:
        raise ProvisionError(f"{path}: state file version {version!r}, but this provision reads version "
                             f"{_VERSION}; a newer provision wrote it: upgrade provision (never edit or "
                             "delete the file: it records what this tool created)")
    try:
        tables = {table: dict(data.get(table, {})) for table in _TABLES if table != "intents"}
        tables["intents"] = {str(i["id"]): dict(i) for i in data.get("intents", [])}
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise ProvisionError(f"{path}: unreadable state file ({exc}); fix or move it away") from None
    return tables, len(raw)


def _write_snapshot(path: Path, tables: dict[str, dict[str, Any]]) -> int:
    """Write ``state.json`` durably (temp file, fsync, rename, directory fsync); returns its size."""
    text = _snapshot_text(tables).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_durably(path, text, ".state-")
    return len(text)


def _snapshot_text(tables: dict[str, dict[str, Any]]) -> str:
    """``state.json``'s text: one line per entry (a change shows as a one-line diff where the file is
    committed), each entry by the C JSON encoder (``indent`` would take the pure-Python one)."""
    dump = json.dumps
    parts = [f'{{\n  "version": {_VERSION}']
    for table in _TABLES:
        if table == "intents":
            rows = [f"    {dump(value)}" for value in tables[table].values()]
            opening, closing = "[", "]"
        else:
            rows = [f"    {dump(key)}: {dump(value)}" for key, value in sorted(tables[table].items())]
            opening, closing = "{", "}"
        body = "\n" + ",\n".join(rows) + "\n  " if rows else ""
        parts.append(f'  "{table}": {opening}{body}{closing}')
    return ",\n".join(parts) + "\n}\n"


def compact_files(path: Path, journal: Journal | None = None) -> int:
    """Fold the journal next to ``path`` into a new ``path`` and remove it; returns the snapshot's size.
    ``journal``: the writer's own (its lines queued are flushed first and its size restarts)."""
    journal = journal or Journal(journal_path(path))
    journal.flush()
    replay = read_journal(journal.path)
    tables, size = _read_snapshot(path)
    if replay.size == 0 and not journal.path.exists():
        return size
    for entry in replay.entries:
        _apply(tables, entry)
    size = _write_snapshot(path, tables)
    journal.remove()
    return size


def journal_path(path: Path) -> Path:
    """``state.journal`` next to ``state.json``."""
    return path.with_name(path.stem + ".journal")


_dirty: set[Path] = set()  # state files this process wrote a journal for


def compact_all() -> None:
    """Compact every state file this process wrote to (the end of a command; also run at exit)."""
    while _dirty:
        compact_files(_dirty.pop())


def _compact_at_exit() -> None:
    """At exit, never a traceback: a journal left is folded in by the next run's first write."""
    try:
        compact_all()
    except (OSError, ProvisionError):
        pass


atexit.register(_compact_at_exit)

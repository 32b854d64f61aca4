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
is ``state.json`` with the journal replayed on it (``state/snapshot.py``: the file format and its typed
records). :meth:`StateFile.compact` folds the journal into a new ``state.json`` and removes it: at the end
of every command (:func:`compact_all`, also at exit), at the first write of a run that found a journal an
earlier run left (a crash), and when the journal outgrows the snapshot. Appends and folds of processes
that share the state dir (plans side by side) merge: none loses another's record.

A command that writes takes the state dir's lock (``state/lock.py``) before it makes its ``StateFile``
(``engine/flow.py``'s ``Context.build``): the state is read once, and no writer records after the read.
"""

from __future__ import annotations

import atexit
import threading
import uuid
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from provision.clock import iso, now
from provision.desired.kinds import Spec
from provision.errors import ProvisionError
from provision.state.intents import Intent, SecretRecord
from provision.state.journal import Entry, Journal
from provision.state.records import Confirmation, PendingRemoval
from provision.state.snapshot import AppliedSpecs, Record, compact_files, encode, journal_path, load

_COMPACT_AT = 1 << 20  # journal bytes past which (and past twice the snapshot) a write compacts first


class StateFile:
    """Typed access to ``state.json`` (and its journal); thread-safe; a missing file is an empty state."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._workspaces: dict[str, str] = {}
        self._confirmations: dict[str, Confirmation] = {}
        self._removals: dict[str, PendingRemoval] = {}
        self._applied = AppliedSpecs(self.path, {})
        self._intents: dict[str, Intent] = {}
        self._secrets: dict[str, SecretRecord] = {}
        self._assumed: dict[str, str] = {}  # workspaces of open intents, for a plan that records nothing
        self._journal = Journal(journal_path(self.path))
        self._left_over = False  # the load found a journal an earlier run left: compact at the first write
        self._snapshot_size = 0
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
            ticket = self._log("confirmations", key, confirmation)
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
            # first: another run (a plan beside this one) that recorded it already keeps its record
            ticket = self._log("pending_removals", key, removal, first=True)
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
        with self._lock:
            self._applied.specs()[spec.key] = spec
            ticket = self._log("applied", spec.key, spec)
        self._journal.wait(ticket)

    def forget_applied(self, key: str) -> None:
        with self._lock:
            if self._applied.specs().pop(key, None) is None:
                return
            ticket = self._log("applied", key, None)
        self._journal.wait(ticket)

    def applied(self) -> dict[str, Spec]:
        """Key → last-applied spec, for the planner's drift detection."""
        with self._lock:
            return dict(self._applied.specs())

    # -- write-ahead intents --------------------------------------------------------------------------
    def open_intent(self, kind: str, name: str, before: tuple[str, ...] = (), owner: str = "",
                    at: datetime | None = None) -> Intent:
        """Record, durably, that a create of ``kind/name`` is about to be sent; returns its record."""
        intent = Intent(uuid.uuid4().hex[:12], str(kind), name, iso(at or now()), tuple(before), owner)
        with self._lock:
            self._intents[intent.id] = intent
            ticket = self._log("intents", intent.id, intent)
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
            ticket = self._log("secrets", cloud_id, record)
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
                ticket = self._log("secrets", cloud_id, record)
        self._journal.wait(ticket)
        return sorted(held)

    # -- file ---------------------------------------------------------------------------------------
    def compact(self) -> None:
        """Fold the journal into a new ``state.json`` and remove it (nothing to do without a journal).
        Built from the files, not from this object's view, so a view another writer made stale is never
        written back, and what another writer appended is kept."""
        with self._lock:
            self._compact()

    def _log(self, table: str, key: str, record: Record | None, *, first: bool = False) -> int:
        """Queue one change for the journal (the caller holds the lock and waits for the ticket after
        releasing it); compacts first when a journal was left over or has grown past the snapshot."""
        if self._left_over or self._journal.size > max(_COMPACT_AT, 2 * self._snapshot_size):
            self._compact()
        _dirty.add(self.path.absolute())  # a command that changes directory still finds it
        value = None if record is None else encode(record)
        return self._journal.enqueue(Entry(table, key, value, first))

    def _compact(self) -> None:
        self._journal.flush()
        self._left_over = False
        self._snapshot_size = compact_files(self.path, self._journal)

    def _load(self) -> None:
        loaded = load(self.path)
        self._workspaces = loaded.workspace_ids
        self._confirmations = loaded.confirmations
        self._removals = loaded.pending_removals
        self._applied = loaded.applied
        self._intents = loaded.intents
        self._secrets = loaded.secrets
        self._snapshot_size = loaded.snapshot_size
        self._left_over = loaded.journal_size > 0


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

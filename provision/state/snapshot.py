"""``state.json`` on disk: its tables as JSON values, read with the journal replayed on them, and folded.

``state.json`` holds one table per fact (``TABLES``), each a JSON object keyed by name, written one line
per entry (a change shows as a one-line diff where the file is committed). :func:`read_tables` is the
snapshot with ``state.journal`` replayed on it, both read under the state dir's shared :func:`dir_lock`;
:func:`compact_files` folds the journal into a new snapshot (temp file + fsync + ``os.replace`` + directory
fsync) and removes it, under the exclusive one: built from the files, so what another writer appended is
merged, never overwritten. The typed records go in and out here (:func:`encode`, :class:`Loaded`): no
raw dicts leave this module; ``StateFile`` (``state/statefile.py``) keeps them and journals each change.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import Any

from provision.desired.kinds import Spec
from provision.errors import ProvisionError
from provision.plan.io import spec_from_dict, spec_to_dict
from provision.state.intents import Intent, SecretRecord
from provision.state.journal import Journal, dir_lock, read_journal
from provision.state.records import Confirmation, PendingRemoval
from provision.state.secrets import write_durably

VERSION = 1
TABLES = ("workspace_ids", "confirmations", "pending_removals", "applied", "intents", "secrets")

Tables = dict[str, dict[str, Any]]  # table → key → JSON value (intents keyed by id); never leaves here
Record = str | Confirmation | PendingRemoval | Spec | Intent | SecretRecord  # a value of one table


class AppliedSpecs:
    """The last-applied specs by resource key, decoded from the file's JSON when first asked for: a
    command that never compares with them (verify, confirm) does not pay for decoding thousands."""

    def __init__(self, path: Path, raw: dict[str, Any]) -> None:
        self._path = path
        self._raw: dict[str, Any] | None = raw
        self._specs: dict[str, Spec] = {}

    def specs(self) -> dict[str, Spec]:
        """Key → spec: the table itself (its owner changes it in place)."""
        if self._raw is not None:
            raw, self._raw = self._raw, None
            try:
                self._specs = {str(k): spec_from_dict(v) for k, v in raw.items()}
            except (ValueError, TypeError, AttributeError, KeyError) as exc:
                raise ProvisionError(f"{self._path}: unreadable state file ({exc}); fix or move it "
                                     "away") from None
        return self._specs


@dataclass(frozen=True)
class Loaded:
    """The state as the files held it, typed: one mapping per table, by key."""

    workspace_ids: dict[str, str]
    confirmations: dict[str, Confirmation]  # "workspace/user"
    pending_removals: dict[str, PendingRemoval]  # "workspace/user"
    applied: AppliedSpecs  # resource key → spec, decoded when first asked for
    intents: dict[str, Intent]  # intent id
    secrets: dict[str, SecretRecord]  # cloud id
    snapshot_size: int  # bytes of state.json
    journal_size: int  # bytes of state.journal (0: none, or empty)


@dataclass(frozen=True)
class _Read:
    tables: Tables
    snapshot_size: int
    journal_size: int


def encode(record: Record) -> Any:
    """A record as its table stores it (JSON)."""
    if isinstance(record, str):
        return record
    if isinstance(record, Spec):
        return spec_to_dict(record)
    if isinstance(record, Intent):
        return {**asdict(record), "before": list(record.before)}
    assert is_dataclass(record)
    return asdict(record)


def journal_path(path: Path) -> Path:
    """``state.journal`` next to ``state.json``."""
    return path.with_name(path.stem + ".journal")


def load(path: Path) -> Loaded:
    """The snapshot at ``path`` with its journal replayed (read while no compaction runs), typed."""
    with dir_lock(path.parent, shared=True):
        read = _read(path)
    tables = read.tables
    try:
        return Loaded(
            workspace_ids={str(k): str(v) for k, v in tables["workspace_ids"].items()},
            confirmations={str(k): Confirmation(**v) for k, v in tables["confirmations"].items()},
            pending_removals={str(k): PendingRemoval(**v) for k, v in tables["pending_removals"].items()},
            applied=AppliedSpecs(path, tables["applied"]),
            intents={str(k): Intent(**{**i, "before": tuple(i.get("before", ()))})
                     for k, i in tables["intents"].items()},
            secrets={str(k): SecretRecord(**v) for k, v in tables["secrets"].items()},
            snapshot_size=read.snapshot_size, journal_size=read.journal_size)
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise ProvisionError(f"{path}: unreadable state file ({exc}); fix or move it away") from None


def compact_files(path: Path, journal: Journal | None = None) -> int:
    """Fold the journal next to ``path`` into a new ``path`` and remove it; returns the snapshot's size.
    ``journal``: the writer's own (its lines queued are flushed first and its size restarts)."""
    journal = journal or Journal(journal_path(path))
    journal.flush()  # before the lock: a flush takes it too
    if not journal.path.exists():
        return _read_snapshot(path)[1]
    with dir_lock(path.parent):
        read = _read(path)
        if read.journal_size == 0 and not journal.path.exists():
            return read.snapshot_size  # another writer folded it in meanwhile
        size = _write_snapshot(path, read.tables)
        journal.remove()
    return size


def _read(path: Path) -> _Read:
    replay = read_journal(journal_path(path))
    tables, size = _read_snapshot(path)
    for entry in replay.entries:
        table = tables.get(entry.table)
        if table is None:
            raise ProvisionError(f"unreadable state journal: unknown table {entry.table!r}; a newer "
                                 "provision wrote it: upgrade provision")
        entry.apply(table)
    return _Read(tables, size, replay.size)


def _read_snapshot(path: Path) -> tuple[Tables, int]:
    """The tables of ``state.json`` as JSON values (intents keyed by id) and the file's size; a missing
    file is empty, a wrong version is refused."""
    try:
        raw = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):  # no file (a path under a file: the same)
        return {table: {} for table in TABLES}, 0
    try:
        data = json.loads(raw)
        version = data.get("version", VERSION)
    except (ValueError, AttributeError) as exc:
        raise ProvisionError(f"{path}: unreadable state file ({exc}); fix or move it away") from None
    if version != VERSION:
        raise ProvisionError(f"{path}: state file version {version!r}, but this provision reads version "
                             f"{VERSION}; a newer provision wrote it: upgrade provision (never edit or "
                             "delete the file: it records what this tool created)")
    try:
        tables = {table: dict(data.get(table, {})) for table in TABLES if table != "intents"}
        tables["intents"] = {str(i["id"]): dict(i) for i in data.get("intents", [])}
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise ProvisionError(f"{path}: unreadable state file ({exc}); fix or move it away") from None
    return tables, len(raw)


def _write_snapshot(path: Path, tables: Tables) -> int:
    """Write ``state.json`` durably (temp file, fsync, rename, directory fsync); returns its size."""
    text = _snapshot_text(tables).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_durably(path, text, ".state-")
    return len(text)


def _snapshot_text(tables: Tables) -> str:
    """``state.json``'s text: one line per entry, each entry by the C JSON encoder (``indent`` would take
    the pure-Python one)."""
    dump = json.dumps
    parts = [f'{{\n  "version": {VERSION}']
    for table in TABLES:
        if table == "intents":
            rows = [f"    {dump(value)}" for value in tables[table].values()]
            opening, closing = "[", "]"
        else:
            rows = [f"    {dump(key)}: {dump(value)}" for key, value in sorted(tables[table].items())]
            opening, closing = "{", "}"
        body = "\n" + ",\n".join(rows) + "\n  " if rows else ""
        parts.append(f'  "{table}": {opening}{body}{closing}')
    return ",\n".join(parts) + "\n}\n"

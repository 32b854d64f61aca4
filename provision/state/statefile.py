"""The tool's local state (``.provision/state.json``): what the cloud cannot tell us.

* ``workspace_ids``: workspace name → id, for workspaces the tool created or adopted (the Model Studio
  API has no tags, so this is how a workspace is known to be managed).
* ``confirmations``: operator confirmations of console-only workspace memberships.
* ``pending_removals``: console removals of workspace members the tool asked for (a revoke, an expired or
  undeclared member) and nobody confirmed yet: plans list them until ``membership confirm --removed``.
* ``applied``: the last-applied declared spec per resource key (tells drift from an intended change).
* ``intents``: write-ahead records of creates sent and not yet recorded (``state/intents.py``).
* ``secrets``: the secrets the tool stored in the sink, by cloud id, with their fingerprints and hand-offs.

Every mutation rewrites the file durably (temp file + fsync + ``os.replace`` + directory fsync): once a
method returns, a crash cannot lose what it recorded. No raw dicts leave this module.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import uuid
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from provision.clock import iso, now
from provision.desired.resources import Spec
from provision.errors import ProvisionError
from provision.plan.io import spec_from_dict, spec_to_dict
from provision.state.intents import Intent, SecretRecord
from provision.state.secrets import fsync_dir

_VERSION = 1


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
    """Typed access to ``state.json``; thread-safe; a missing file is an empty state."""

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
            self._save()

    def forget_workspace(self, name: str) -> None:
        with self._lock:
            if self._workspaces.pop(name, None) is not None:
                self._save()

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
        with self._lock:
            self._confirmations[f"{workspace}/{user}"] = confirmation
            self._save()
        return confirmation

    def forget_confirmation(self, workspace: str, user: str) -> bool:
        """Drop a membership confirmation (the member was removed); whether one was recorded."""
        with self._lock:
            if self._confirmations.pop(f"{workspace}/{user}", None) is None:
                return False
            self._save()
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
            if key not in self._removals:
                self._removals[key] = PendingRemoval(since=iso(at or now()), why=why)
                self._save()
            return self._removals[key]

    def clear_removal(self, workspace: str, user: str) -> bool:
        """Drop a pending removal (done in the console, or proven unneeded); whether one was recorded."""
        with self._lock:
            if self._removals.pop(f"{workspace}/{user}", None) is None:
                return False
            self._save()
            return True

    # -- last applied -------------------------------------------------------------------------------
    def record_applied(self, spec: Spec) -> None:
        """Remember ``spec`` as what the tool last applied for its key."""
        with self._lock:
            self._applied[spec.key] = spec_to_dict(spec)
            self._save()

    def forget_applied(self, key: str) -> None:
        with self._lock:
            if self._applied.pop(key, None) is not None:
                self._save()

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
            self._save()
        return intent

    def close_intent(self, intent: Intent) -> None:
        """The create's result is recorded (or the intent was settled): forget the intent."""
        with self._lock:
            if self._intents.pop(intent.id, None) is not None:
                self._save()

    def open_intents(self) -> list[Intent]:
        """Every intent not closed: creates a run sent and did not record (oldest first)."""
        with self._lock:
            return sorted(self._intents.values(), key=lambda i: (i.started_at, i.id))

    # -- secrets stored and handed off ----------------------------------------------------------------
    def record_secret(self, cloud_id: str, key: str, fingerprint: str, at: datetime | None = None) -> None:
        """The secret of ``cloud_id`` (of resource ``key``) is in the sink now (a new one replaces any)."""
        with self._lock:
            self._secrets[cloud_id] = SecretRecord(key, fingerprint, iso(at or now()))
            self._save()

    def forget_secret(self, cloud_id: str) -> None:
        with self._lock:
            if self._secrets.pop(cloud_id, None) is not None:
                self._save()

    def secret_records(self) -> dict[str, SecretRecord]:
        """Cloud id → record, for every secret the tool stored (a copy)."""
        with self._lock:
            return dict(self._secrets)

    def record_handoffs(self, held: dict[str, str], at: datetime | None = None) -> list[str]:
        """Mark the secrets in ``held`` (cloud id → fingerprint, as the sink holds them) as handed off (one
        the state has no record of, or another secret of that id, is recorded as it is now). Returns the
        ids marked."""
        when = iso(at or now())
        with self._lock:
            for cloud_id, print_ in held.items():
                known = self._secrets.get(cloud_id)
                if known is None or known.fingerprint != print_:
                    known = SecretRecord(known.key if known else "", print_, when)
                self._secrets[cloud_id] = replace(known, handed_off_at=when)
            if held:
                self._save()
        return sorted(held)

    # -- file ---------------------------------------------------------------------------------------
    def _load(self) -> None:
        if not self.path.exists():
            return
        try:
            data = json.loads(self.path.read_text())
            version = data.get("version", _VERSION)
            if version != _VERSION:
                raise ProvisionError(f"{self.path}: state file version {version!r}, but this provision "
                                     f"reads version {_VERSION}; a newer provision wrote it: upgrade "
                                     "provision (never edit or delete the file: it records what this tool "
                                     "created)")
            self._workspaces = {str(k): str(v) for k, v in data.get("workspace_ids", {}).items()}
            confirmations = data.get("confirmations", {})
            self._confirmations = {str(k): Confirmation(**v) for k, v in confirmations.items()}
            removals = data.get("pending_removals", {})
            self._removals = {str(k): PendingRemoval(**v) for k, v in removals.items()}
            self._applied = {str(k): dict(v) for k, v in data.get("applied", {}).items()}
            self._intents = {str(i["id"]): Intent(**{**i, "before": tuple(i.get("before", ()))})
                             for i in data.get("intents", [])}
            self._secrets = {str(k): SecretRecord(**v) for k, v in data.get("secrets", {}).items()}
        except (ValueError, TypeError, AttributeError) as exc:
            raise ProvisionError(f"{self.path}: unreadable state file ({exc}); fix or move it away") from None

    def _save(self) -> None:
        data = {
            "version": _VERSION,
            "workspace_ids": dict(sorted(self._workspaces.items())),
            "confirmations": {k: asdict(c) for k, c in sorted(self._confirmations.items())},
            "pending_removals": {k: asdict(r) for k, r in sorted(self._removals.items())},
            "applied": dict(sorted(self._applied.items())),
            "intents": [{**asdict(i), "before": list(i.before)} for i in self._intents.values()],
            "secrets": {k: asdict(r) for k, r in sorted(self._secrets.items())},
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".state-")
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(data, fh, indent=2, sort_keys=False)
                fh.write("\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
            fsync_dir(self.path.parent)  # the rename itself survives a crash
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

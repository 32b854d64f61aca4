"""Reconcile the write-ahead intents an interrupted run left open, before planning (``state/intents.py``).

``apply`` settles each intent for real (``act``): it records what the intent made (a workspace id) or
deletes what nobody can use (a key whose secret never reached the sink), then closes the intent, so the
plan made right after creates the replacement in the same run. ``plan`` changes nothing: it reports the
same findings as declared resources not delivered. Kind-agnostic: a provider settles its own kinds.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from provision.plan.diff import SecretFacts
from provision.state.intents import Settlement, Settler
from provision.state.lock import command_line, lock_state_dir
from provision.state.secrets import SecretSink
from provision.state.statefile import StateFile

NO_SETTLER = "no provider settles intents of this kind: check the resource in the console, then run apply"


@dataclass(frozen=True)
class Reconciled:
    """What settling the open intents found (and, in an apply, did)."""

    settlements: tuple[Settlement, ...] = ()

    @property
    def orphaned(self) -> frozenset[str]:
        """Cloud ids of keys the intents made whose secret never reached the sink (a plan's view)."""
        return frozenset(i for s in self.settlements for i in s.orphaned)

    @property
    def undelivered(self) -> list[str]:
        return [f"{s.key}: {s.message}" for s in self.settlements if s.undelivered]

    @property
    def notes(self) -> list[str]:
        return [f"{s.key}: {s.message}" for s in self.settlements if not s.undelivered]


def reconcile_intents(state: StateFile, settlers: Mapping[str, Settler], *, act: bool) -> Reconciled:
    """Settle every open intent (oldest first); with ``act``, close each one settled."""
    found: list[Settlement] = []
    for intent in state.open_intents():
        settler = settlers.get(intent.kind)
        if settler is None:
            found.append(Settlement(intent.key, NO_SETTLER, undelivered=True))
            continue
        found.append(settler.settle(intent, act))
        if act:
            state.close_intent(intent)
    return Reconciled(tuple(found))


def secret_facts(state: StateFile, reconciled: Reconciled) -> SecretFacts:
    """What the planner must know of keys whose secret the sink lacks: stored once, handed off, orphaned."""
    records = state.secret_records()
    return SecretFacts(stored=frozenset(records),
                       handed_off=frozenset(k for k, r in records.items() if r.handed_off_at),
                       orphaned=reconciled.orphaned)


@dataclass(frozen=True)
class HandOff:
    """The secrets a hand-off recorded: cloud id → fingerprint (never a secret)."""

    state_file: Path
    recorded: tuple[tuple[str, str], ...]


def record_handoff(state_dir: Path | None = None, secrets_dir: Path | None = None) -> HandOff:
    """Mark every secret the sink holds now as handed off (by cloud id and fingerprint) in the state file,
    under the state dir's lock: a later plan that finds them missing from a sink (the next CI job's
    empty one) warns instead of reporting them lost."""
    from provision.engine.flow import state_paths  # flow imports this module

    state_root, secrets = state_paths(state_dir, secrets_dir)
    note = lock_state_dir(state_root, command_line())
    if note:
        print(note, file=sys.stderr)
    state = StateFile(state_root / "state.json")
    held = SecretSink(secrets).held()
    state.record_handoffs(held)
    return HandOff(state.path, tuple(sorted(held.items())))

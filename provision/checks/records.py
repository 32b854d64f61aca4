"""A revocation's record, on either cloud: why the manifest allows it (:func:`check_manifest`, the one rule),
what was done and proven (:class:`RevokeRecord`), written as JSON to the records directory and printed.
Cloud-neutral: each cloud's revoke (``checks/revoke.py``, ``checks/huawei/revoke.py``) fills it in.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from provision.checks.results import Credential, Proof
from provision.clock import iso, now
from provision.desired.live import Live
from provision.desired.resources import MemberSpec
from provision.engine.flow import Prepared
from provision.errors import ProvisionError
from provision.manifest.marks import dotted
from provision.plan.checklist import manual_step
from provision.plan.diff import Action, Change
from provision.providers.common.delete_steps import ALREADY_GONE, DONE, MANUAL, Step
from provision.state.secrets import SecretSink
from provision.state.statefile import StateFile

RECORD_VERSION = 1


@dataclass(frozen=True)
class RevokeRecord:
    """What was done and proven: printed, and written as JSON to the records directory. No secret."""

    user: str
    manifest: str
    why: str
    operator: str  # $USER of whoever ran it
    caller: str  # the ARN the tool signed as ("" if STS did not say)
    started_at: str
    finished_at: str
    delete_user: bool
    steps: tuple[Step, ...]
    checklist: tuple[str, ...]
    credentials: tuple[dict[str, Any], ...]  # kind, ids, fingerprint, whether it was dropped from the sink
    proofs: tuple[Proof, ...]
    console_removals: tuple[str, ...] = ()  # workspaces whose console removal of the user was asked for
    path: Path | None = None  # where the record was written

    @property
    def ok(self) -> bool:
        """Every proof holds and no step failed."""
        return all(p.holds for p in self.proofs) and not any(s.error for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        """The JSON record."""
        return {
            "version": RECORD_VERSION, "user": self.user, "manifest": self.manifest, "why": self.why,
            "operator": self.operator, "caller": self.caller, "started_at": self.started_at,
            "finished_at": self.finished_at, "delete_user": self.delete_user, "ok": self.ok,
            "steps": [{"step": s.step, "result": s.result} for s in self.steps],
            "checklist": list(self.checklist), "console_removals": list(self.console_removals),
            "credentials": list(self.credentials),
            "proofs": [asdict(p) for p in self.proofs],
        }


def check_manifest(prepared: Prepared, user: str, now: datetime, *, delete_user: bool = False) -> str:
    """Why the manifest allows revoking ``user`` (and deleting it, with ``delete_user``); a ProvisionError
    naming the exact edit when it does not. Every cloud's revoke asks this one rule."""
    manifest = prepared.manifest
    index = next((i for i, u in enumerate(manifest.users) if u.name == user), None)
    source = prepared.source.manifest
    if index is None:
        raise ProvisionError(f"{source}: user {user!r} is not declared under users: revoke only takes back "
                             "access the manifest manages")
    declared = manifest.users[index]
    if declared.state == "absent":
        why = "the manifest declares it state: absent"
    elif user in prepared.desired.expired:
        assert declared.expires_at is not None
        why = f"its expires_at {iso(declared.expires_at)} has passed"
    else:
        path = ("users", index, "expires_at") if declared.expires_at else ("users", index)
        origin = manifest.locate(path)
        where = f"{origin.file}:{origin.line}" if origin else str(source)
        raise ProvisionError(
            f"{source}: the manifest still grants {user} its access, so the next apply would give it back. "
            f"Make the manifest revoke it first, then run revoke again:\n"
            f"  {where}: set {dotted(('users', index, 'expires_at'))} to {iso(now)} (or earlier): keeps the "
            "user, strips every access (plan shows the revocation too)\n"
            f"  or set users[{index}].state: absent and remove the API keys issued to {user} and its "
            "workspace members (apply --allow-destroy then deletes the user)")
    if delete_user and declared.protect:
        raise ProvisionError(f"{user} is declared protect: true: drop --delete-user (its access is still "
                             "revoked) or remove protect from the manifest")
    return why


def write_record(record: RevokeRecord, directory: Path) -> RevokeRecord:
    """Write ``revoke-<user>-<UTC>.json`` (``-N`` added if that second is taken); the record with its path."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = record.started_at.replace("-", "").replace(":", "")
    for n in range(1000):
        path = directory / f"revoke-{record.user}-{stamp}{f'-{n}' if n else ''}.json"
        try:
            with path.open("x") as fh:
                json.dump(record.to_dict(), fh, indent=2)
                fh.write("\n")
        except FileExistsError:
            continue
        return replace(record, path=path)
    raise ProvisionError(f"{directory}: too many revocation records for {record.user} in one second")


_MARK = {DONE: "✓", ALREADY_GONE: "·", MANUAL: "☐"}


def step_line(step: Step) -> str:
    """``✓ delete login profile: done``."""
    return f"{_MARK.get(step.outcome, '✗')} {step.step}: {step.result}"


def render_record(record: RevokeRecord) -> str:
    """The proofs, the console checklist, where the record is, and the verdict. No secret."""
    lines = [f"proofs for {record.user}:"]
    for p in record.proofs:
        via = f" [{p.credential}]" if p.credential else ""
        lines.append(f"  {'✓' if p.holds else '✗ FAILED'} {p.claim}: {p.observed}{via}")
    if record.checklist:
        lines.append("console steps left (membership has no API):")
        lines += [f"  [ ] {item}" for item in record.checklist]
    if record.path is not None:
        lines.append(f"record: {record.path}")
    failed = [p for p in record.proofs if not p.holds]
    verdict = (f"revoke: {record.user}'s access is gone ({len(record.proofs)} proofs hold)" if record.ok else
               f"revoke: NOT proven: {len(failed)} of {len(record.proofs)} proofs failed"
               + (", and some steps failed" if any(s.error for s in record.steps) else ""))
    return "\n".join([*lines, verdict])


@dataclass(frozen=True)
class Membership:
    """A workspace the user may be a member of: removing it is a console step (no API exists)."""

    workspace: str
    workspace_id: str | None
    checklist: str  # the console step, in words an operator can follow


def console_memberships(prepared: Prepared, state: StateFile, user: str, why: str,
                        spec_type: type[MemberSpec]) -> tuple[Membership, ...]:
    """Workspaces the manifest makes ``user`` a member of, where its membership was confirmed, or whose
    removal is pending already; each removal's console step ends with the ``membership confirm --removed``
    that ends it. ``spec_type`` is the cloud's console-only membership (a Bailian membership, a ModelArts
    Studio role)."""
    known = {ws for (ws, member) in state.confirmations() if member == user}
    known |= {ws for (ws, member) in state.pending_removals() if member == user}
    # a removal an earlier revoke asked for that is no longer pending was confirmed done (--removed)
    done = asked_removals(state.path.parent / "records", user) - known
    workspaces = known | {ws.name for ws in prepared.manifest.workspaces
                          if any(m.user == user for m in ws.members) and ws.name not in done}
    found = []
    for workspace in sorted(workspaces):
        spec = spec_type(workspace=workspace, user=user)
        change = Change(spec.key, Action.MANUAL, f"revoke: {why}", live=Live(spec, managed=True))
        ws_id = state.workspace_id(workspace)
        step = manual_step(change, ws_id, prepared.source.command_args())
        found.append(Membership(workspace, ws_id, step.line()))
    return tuple(found)


def asked_removals(directory: Path, user: str) -> set[str]:
    """The workspaces earlier revocation records of ``user`` asked to remove it from in the console."""
    asked: set[str] = set()
    for path in directory.glob(f"revoke-{user}-*.json"):
        try:
            asked.update(str(ws) for ws in json.loads(path.read_text()).get("console_removals", []))
        except (OSError, ValueError, AttributeError):
            continue  # an unreadable record asks for nothing
    return asked


class Revoked(Protocol):
    """What a cloud's revoke plan tells the record: whose access, why, and what it captured and found."""

    @property
    def user(self) -> str: ...
    @property
    def why(self) -> str: ...
    @property
    def delete_user(self) -> bool: ...
    @property
    def memberships(self) -> tuple[Membership, ...]: ...
    @property
    def credentials(self) -> tuple[Credential, ...]: ...


def write_revocation(plan: Revoked, prepared: Prepared, sink: SecretSink, state: StateFile, *, caller: str,
                     started: datetime, steps: Sequence[Step], proofs: Sequence[Proof],
                     password_proof: str) -> RevokeRecord:
    """The record of a revoke that ran: its steps, the console removals left, each captured credential
    dropped from the sink when its proof held (:func:`drop_if_dead`), the proofs; written to the state
    dir's ``records/``. ``password_proof``: the id of the cloud's proof that the console password is dead."""
    record = RevokeRecord(
        user=plan.user, manifest=str(prepared.source.manifest), why=plan.why,
        operator=os.environ.get("USER") or "unknown", caller=caller, started_at=iso(started),
        finished_at=iso(now()), delete_user=plan.delete_user, steps=tuple(steps),
        checklist=tuple(m.checklist for m in plan.memberships),
        console_removals=tuple(m.workspace for m in plan.memberships),
        credentials=tuple(drop_if_dead(sink, plan.user, c, proofs, password_proof) for c in plan.credentials),
        proofs=tuple(proofs))
    return write_record(record, state.path.parent / "records")


def drop_if_dead(sink: SecretSink, user: str, credential: Credential, proofs: Sequence[Proof],
                 password_proof: str) -> dict[str, Any]:
    """Forget a credential whose proof held (one that still works stays in the sink); its record entry.
    ``password_proof``: the id of the cloud's proof that the console password is dead."""
    proof_id = {"access-key": f"access-key/{credential.id}", "console-password": password_proof,
                "api-key": f"api-key/{credential.workspace}/{credential.key_name}"}[credential.kind]
    dead = any(p.id == proof_id and p.holds for p in proofs)
    if credential.kind == "access-key":
        if dead:
            sink.forget_access_key(user, credential.id)
        held = sink.access_key_secret(user, credential.id) is not None
    elif credential.kind == "api-key":
        if dead:
            sink.forget_api_key(user, credential.workspace, credential.key_name)
        held = sink.api_key(user, credential.workspace, credential.key_name) is not None
    else:
        if dead:
            sink.forget_password(user)
        held = sink.password(user) is not None
    return {**credential.to_dict(), "dropped_from_sink": not held}

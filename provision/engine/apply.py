"""Run a Plan: a DAG of changes (parents first, deletes children first), bounded concurrency, a summary.

A failed change fails only itself: its dependents are skipped ("skipped: ram.user/alice failed") while
independent resources go on. Manual changes become checklist items and never call an API; refused and
no-op changes are not executed (a refused one still fails the apply: the account keeps what the manifest
says must go). On Ctrl-C nothing new starts; the changes in flight finish and are reported before the
interrupt goes on. Providers are idempotent, so an interrupted apply resumes by re-planning.
"""

from __future__ import annotations

import heapq
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from types import FrameType
from typing import Any, Protocol

from provision.desired.kinds import Kind, Spec
from provision.errors import EXIT_ERROR, EXIT_OK
from provision.plan.diff import Action, Change, InSync, Plan


class Executor(Protocol):
    """What apply needs of a provider: run one change, return a message without secrets."""

    def execute(self, change: Change) -> str: ...


class AppliedRecorder(Protocol):
    """Where apply records what it made (the state file's ``applied``), for drift detection next time."""

    def record_applied(self, spec: Spec) -> None: ...

    def forget_applied(self, key: str) -> None: ...


class Status(StrEnum):
    DONE = "done"
    IN_SYNC = "in sync"  # the provider found nothing to do (InSync): reported as such, never as done
    FAILED = "failed"
    SKIPPED = "skipped"
    MANUAL = "manual"
    REFUSED = "refused"


_BLOCKING = (Status.FAILED, Status.SKIPPED)
_PAST = {Action.CREATE: "created", Action.UPDATE: "updated", Action.DELETE: "deleted"}
_MARK = {Status.DONE: "✓", Status.IN_SYNC: "=", Status.FAILED: "✗", Status.SKIPPED: "-", Status.MANUAL: "☐",
         Status.REFUSED: "!"}


@dataclass(frozen=True)
class Outcome:
    """What happened to one change. ``message`` never holds a secret (providers return fingerprints)."""

    key: str
    action: str
    status: Status
    message: str
    seconds: float = 0.0

    def line(self) -> str:
        """One progress line: ``✓ created ram.user/alice (0.4s)``."""
        mark = _MARK[self.status]
        if self.status is Status.DONE:
            verb = _PAST.get(Action(self.action), self.action)
            detail = _detail(self.message, f"{verb} {self.key}", f"{self.key}:")
            return f"{mark} {verb} {self.key} ({self.seconds:.1f}s){f': {detail}' if detail else ''}"
        if self.status is Status.IN_SYNC:
            detail = _detail(self.message, self.key, f"{self.key}:")
            return f"{mark} {self.key}: {detail} ({self.seconds:.1f}s)"
        if self.status is Status.FAILED:
            detail = _detail(self.message, f"{self.key}:")
            return f"{mark} failed to {self.action} {self.key} ({self.seconds:.1f}s): {detail}"
        return f"{mark} {self.status} {self.key}: {_detail(self.message, f'{self.status}:')}"


def _detail(message: str, *echoes: str) -> str:
    """What a provider's message adds to the progress line (it often repeats the verb and the key)."""
    text = message.strip()
    for echo in echoes:
        text = text.removeprefix(echo).strip().removeprefix(":").strip()
    if text.startswith("(") and text.endswith(")") and text.count("(") == 1:
        text = text[1:-1]
    return text


OnEvent = Callable[[Outcome], None]


@dataclass
class ApplySummary:
    """The result of an apply: done / failed / skipped / manual (checklist) / refused outcomes."""

    done: list[Outcome] = field(default_factory=list)
    in_sync: list[Outcome] = field(default_factory=list)  # changes the account turned out not to need
    failed: list[Outcome] = field(default_factory=list)
    skipped: list[Outcome] = field(default_factory=list)
    manual: list[Outcome] = field(default_factory=list)
    refused: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    fixes: dict[str, str] = field(default_factory=dict)  # a refused change's key -> what lets it through

    @property
    def ok(self) -> bool:
        """Every change ran and nothing was refused: the account now matches the manifest."""
        return not self.failed and not self.skipped and not self.refused

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.ok else EXIT_ERROR

    def refusal(self) -> str | None:
        """One line naming the refused deletions and what lets each through; None if none was refused."""
        if not self.refused:
            return None
        what = "; ".join(f"{o.key} ({o.message}: {self.fixes.get(o.key, 'see the plan')})"
                         for o in self.refused)
        return f"{len(self.refused)} deletion(s) refused, the account still holds them: {what}"

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``--json``)."""

        def rows(items: list[Outcome]) -> list[dict[str, Any]]:
            return [{**asdict(o), "status": str(o.status), "seconds": round(o.seconds, 3)} for o in items]

        return {"ok": self.ok, "seconds": round(self.seconds, 3), "done": rows(self.done),
                "in_sync": rows(self.in_sync), "failed": rows(self.failed), "skipped": rows(self.skipped),
                "manual": rows(self.manual),
                "refused": rows(self.refused)}

    def counts(self) -> str:
        """``3 done, 1 failed, 2 skipped, 1 manual``."""
        parts = [f"{len(self.done)} done", f"{len(self.failed)} failed", f"{len(self.skipped)} skipped"]
        if self.in_sync:
            parts.insert(1, f"{len(self.in_sync)} already in sync")
        if self.manual:
            parts.append(f"{len(self.manual)} manual")
        if self.refused:
            parts.append(f"{len(self.refused)} refused")
        return ", ".join(parts)


def dependencies(changes: list[Change]) -> dict[str, set[str]]:
    """Key → keys of the changes it waits for: creates/updates wait for their parents' creates/updates
    and for the deletion that would take them away (:meth:`Spec.cleared_by`), deletes wait for their
    children's deletes."""
    by_key = {c.key: c for c in changes}
    deps: dict[str, set[str]] = {c.key: set() for c in changes}
    for c in changes:
        clearing = by_key.get(c.spec.cleared_by() or "")
        if c.action is not Action.DELETE and clearing is not None and clearing.action is Action.DELETE:
            deps[c.key].add(clearing.key)
        for parent in c.spec.parents():
            other = by_key.get(parent)
            if other is None:
                continue
            if c.action is not Action.DELETE and other.action is not Action.DELETE:
                deps[c.key].add(parent)
            elif c.action is Action.DELETE and other.action is Action.DELETE:
                deps[parent].add(c.key)  # the parent goes after its child
    return deps


def _outcome(change: Change, status: Status, message: str, seconds: float = 0.0) -> Outcome:
    return Outcome(change.key, str(change.action), status, message, seconds)


def apply_plan(plan: Plan, providers: Mapping[Kind, Executor], *, concurrency: int = 8,
               on_event: OnEvent | None = None, state: AppliedRecorder | None = None) -> ApplySummary:
    """Execute the plan's create/update/delete changes as a DAG with at most ``concurrency`` in flight."""
    emit: OnEvent = on_event or (lambda _o: None)
    started = time.monotonic()
    summary = ApplySummary()
    for c in plan.changes:
        if c.action is Action.MANUAL:
            summary.manual.append(_outcome(c, Status.MANUAL, c.reason))
        elif c.action is Action.REFUSED:
            summary.refused.append(_outcome(c, Status.REFUSED, c.reason))
            if c.refusal is not None:
                summary.fixes[c.key] = c.refusal.fix
    run = _Run(plan.actionable, providers, summary, emit, state, max(1, concurrency))
    run.go()
    summary.seconds = time.monotonic() - started
    return summary


class _Run:
    """The scheduler: submits ready changes, collects results, skips dependents of failures.

    Its bookkeeping is proportional to the changes, not to their square: each change counts the parents
    it still waits for; a parent that finishes readies the children it was the last wait of, and one
    that fails or is skipped marks its children for skipping. Both queues are taken in plan order."""

    def __init__(self, todo: list[Change], providers: Mapping[Kind, Executor], summary: ApplySummary,
                 emit: OnEvent, state: AppliedRecorder | None, concurrency: int) -> None:
        self.by_key = {c.key: c for c in todo}
        self.deps = dependencies(todo)
        # plan order: parents first, deletes children first
        self.order = {c.key: i for i, c in enumerate(todo)}
        self.pending = set(self.order)
        self.providers, self.summary, self.emit, self.state = providers, summary, emit, state
        self.concurrency = concurrency
        self.status: dict[str, Status] = {}
        self.root_cause: dict[str, str] = {}  # failed or skipped key → the failed key behind it
        self.running: dict[Future[str], tuple[Change, float]] = {}
        self.unmet = {key: len(waits) for key, waits in self.deps.items()}  # parents not done yet
        self.children: dict[str, list[str]] = {}
        for key, waits in self.deps.items():
            for parent in waits:
                self.children.setdefault(parent, []).append(key)
        self.ready = [(i, key) for key, i in self.order.items() if not self.unmet[key]]  # a heap
        heapq.heapify(self.ready)
        self.blocked: list[tuple[int, str]] = []  # a heap: changes a failed or skipped parent blocks

    def go(self) -> None:
        stop = threading.Event()
        with _interrupt_sets(stop), ThreadPoolExecutor(max_workers=self.concurrency,
                                                       thread_name_prefix="apply") as pool:
            try:
                while (self.pending or self.running) and not stop.is_set():
                    if not self._submit_ready(pool) and not self.running:
                        # unreachable for a plan from diff (parents are acyclic), but never spin
                        for key in sorted(self.pending, key=self.order.__getitem__):
                            self.pending.remove(key)
                            self._record(self.by_key[key], Status.FAILED, "dependency cycle")
                        break
                    if self.running:
                        done, _ = wait(self.running, timeout=_POLL_S, return_when=FIRST_COMPLETED)
                        for future in done:
                            self._collect(future)
                if stop.is_set():
                    raise KeyboardInterrupt
            except BaseException:
                self._drain()
                raise

    def _drain(self) -> None:
        """On an interrupt: start nothing more, and report (and record) every change already in flight
        once it finishes, so the user sees everything that was done before the run stopped."""
        for future in list(self.running):
            if future.cancel():
                del self.running[future]
        wait(self.running)
        for future in list(self.running):
            self._collect(future)

    def _submit_ready(self, pool: ThreadPoolExecutor) -> bool:
        """Skip what a failure blocks and submit what is ready; True if anything moved."""
        moved = False
        while self.blocked:
            _, key = heapq.heappop(self.blocked)
            if key not in self.pending:
                continue
            self.pending.remove(key)
            blocked = sorted(d for d in self.deps[key] if self.status.get(d) in _BLOCKING)
            cause = self.root_cause[blocked[0]]
            self.root_cause[key] = cause
            self._record(self.by_key[key], Status.SKIPPED, f"skipped: {cause} failed")
            moved = True
        while self.ready and len(self.running) < self.concurrency:
            _, key = heapq.heappop(self.ready)
            if key not in self.pending:
                continue
            self.pending.remove(key)
            moved = True
            change = self.by_key[key]
            provider = self.providers.get(Kind(change.kind))
            if provider is None:
                self._record(change, Status.FAILED, f"no provider for {change.kind}")
            else:
                self.running[pool.submit(self._execute, provider, change)] = (change, time.monotonic())
        return moved

    def _execute(self, provider: Executor, change: Change) -> str:
        """In a worker: run the change, then record it as applied (the state's durable write joins the
        other workers' in one group commit, and the scheduler never waits for a disk)."""
        message = provider.execute(change)
        if self.state is not None:
            _remember(self.state, change)
        return message

    def _collect(self, future: Future[str]) -> None:
        change, started = self.running.pop(future)
        seconds = time.monotonic() - started  # submitted only when a worker is free: no queueing
        try:
            message = future.result()
        except Exception as exc:  # one change failing must not stop the others
            self._record(change, Status.FAILED, str(exc) or type(exc).__name__, seconds)
            return
        self._record(change, Status.IN_SYNC if isinstance(message, InSync) else Status.DONE, message, seconds)

    def _record(self, change: Change, status: Status, message: str, seconds: float = 0.0) -> None:
        self.status[change.key] = status
        if status is Status.FAILED:
            self.root_cause[change.key] = change.key
        for child in self.children.get(change.key, ()):
            if status in _BLOCKING:
                heapq.heappush(self.blocked, (self.order[child], child))
            else:
                self.unmet[child] -= 1
                if not self.unmet[child]:
                    heapq.heappush(self.ready, (self.order[child], child))
        outcome = _outcome(change, status, message, seconds)
        {Status.DONE: self.summary.done, Status.IN_SYNC: self.summary.in_sync,
         Status.FAILED: self.summary.failed, Status.SKIPPED: self.summary.skipped}[status].append(outcome)
        self.emit(outcome)


_POLL_S = 0.1  # how often the scheduler looks at the Ctrl-C flag while changes are in flight


@contextmanager
def _interrupt_sets(stop: threading.Event) -> Iterator[None]:
    """While changes run, Ctrl-C (SIGINT) only sets ``stop``; the scheduler then starts nothing more and
    drains what is in flight. A KeyboardInterrupt raised at an arbitrary point of the scheduler could land
    inside ``concurrent.futures.wait`` while it holds some futures' locks, and the workers finishing those
    futures would then block for ever (an apply that never exits). A second Ctrl-C interrupts at once.
    Only the main thread can take signals: elsewhere (an apply run from a thread) nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    # Which Ctrl-C this is, kept lock-free: a second one can land inside the first one's stop.set(), which
    # holds the Event's lock before its flag is up; asking stop.is_set() there would call set() again and
    # wait on that lock for ever.
    interrupted: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        if interrupted:
            raise KeyboardInterrupt
        interrupted.append(signum)
        stop.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _remember(state: AppliedRecorder, change: Change) -> None:
    if change.action is Action.DELETE:
        state.forget_applied(change.key)
    elif change.desired is not None:
        state.record_applied(change.desired)

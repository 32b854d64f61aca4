"""The apply engine on fake providers: ordering, concurrency, failure isolation, manual/refused, summary."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
from dataclasses import dataclass

import pytest

from provision.desired.kinds import Kind, Spec
from provision.desired.live import Live
from provision.desired.resources import AttachmentSpec, LoginProfileSpec, MemberSpec, PolicySpec, UserSpec
from provision.engine.apply import ApplySummary, Outcome, Status, apply_plan, dependencies
from provision.errors import EXIT_ERROR, CloudCallError
from provision.plan.diff import Action, Change, InSync, Plan, Refusal


class FakeProvider:
    """Records when each change ran; fails the keys it is told to; sleeps to make overlap observable."""

    def __init__(self, fail: frozenset[str] = frozenset(), delay: float = 0.0) -> None:
        self.fail, self.delay = fail, delay
        self.lock = threading.Lock()
        self.spans: dict[str, tuple[float, float]] = {}
        self.in_flight = 0
        self.max_in_flight = 0

    def execute(self, change: Change) -> str:
        start = time.monotonic()
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            time.sleep(self.delay)
            if change.key in self.fail:
                raise CloudCallError(change.key, "CreateUser", "InternalError", 500, "boom")
            return f"{change.action}d {change.key}"  # created / updated / deleted
        finally:
            with self.lock:
                self.in_flight -= 1
                self.spans[change.key] = (start, time.monotonic())

    @property
    def order(self) -> list[str]:
        return sorted(self.spans, key=lambda k: self.spans[k][0])

    def providers(self) -> dict[Kind, FakeProvider]:
        return {kind: self for kind in Kind}


class Recorder:
    def __init__(self) -> None:
        self.applied: dict[str, Spec] = {}
        self.forgotten: list[str] = []

    def record_applied(self, spec: Spec) -> None:
        self.applied[spec.key] = spec

    def forget_applied(self, key: str) -> None:
        self.forgotten.append(key)


def create(spec: Spec) -> Change:
    return Change(spec.key, Action.CREATE, "missing", desired=spec)


def delete(spec: Spec) -> Change:
    return Change(spec.key, Action.DELETE, "declared absent", live=Live(spec, managed=True))


@dataclass(frozen=True)
class Chained(Spec):
    """A spec with arbitrary parents, to build deeper chains than the real kinds have."""

    kind = Kind.GRANT
    label: str
    after: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.label

    def parents(self) -> tuple[str, ...]:
        return self.after


def test_creates_wait_for_their_parents() -> None:
    user = UserSpec("alice")
    policy = PolicySpec("p1", document="{}")
    attach = AttachmentSpec("alice", "p1", "Custom")
    login = LoginProfileSpec("alice")
    fake = FakeProvider(delay=0.02)
    plan = Plan([create(login), create(attach), create(user), create(policy)])

    summary = apply_plan(plan, fake.providers())

    assert summary.ok and len(summary.done) == 4
    for child, parents in ((login.key, [user.key]), (attach.key, [user.key, policy.key])):
        for parent in parents:
            assert fake.spans[child][0] >= fake.spans[parent][1], f"{child} started before {parent} ended"


def test_deletes_wait_for_their_children() -> None:
    user = UserSpec("alice")
    children = [LoginProfileSpec("alice"), AttachmentSpec("alice", "AliyunBailianDataReadOnlyAccess")]
    fake = FakeProvider(delay=0.02)
    plan = Plan([delete(user)] + [delete(c) for c in children])

    apply_plan(plan, fake.providers())

    assert fake.order[-1] == user.key
    assert all(fake.spans[user.key][0] >= fake.spans[c.key][1] for c in children)


def test_no_dependency_between_a_delete_and_an_unrelated_create() -> None:
    deps = dependencies([delete(UserSpec("old")), create(UserSpec("new")), create(LoginProfileSpec("new"))])
    assert deps == {"ram.user/old": set(), "ram.user/new": set(), "ram.login_profile/new": {"ram.user/new"}}


def test_concurrency_bound_is_never_exceeded_and_is_used() -> None:
    fake = FakeProvider(delay=0.03)
    plan = Plan([create(UserSpec(f"u{i}")) for i in range(12)])

    summary = apply_plan(plan, fake.providers(), concurrency=3)

    assert len(summary.done) == 12
    assert fake.max_in_flight == 3


def test_concurrency_one_runs_in_plan_order() -> None:
    fake = FakeProvider()
    keys = [f"u{i}" for i in range(6)]
    apply_plan(Plan([create(UserSpec(k)) for k in keys]), fake.providers(), concurrency=1)
    assert fake.order == [f"ram.user/{k}" for k in keys]
    assert fake.max_in_flight == 1


def test_failure_skips_dependents_while_independent_resources_complete() -> None:
    alice, bob = UserSpec("alice"), UserSpec("bob")
    attach = AttachmentSpec("alice", "AliyunBailianDataReadOnlyAccess")
    plan = Plan([create(alice), create(bob), create(LoginProfileSpec("alice")),
                 create(LoginProfileSpec("bob")), create(attach)])
    fake = FakeProvider(fail=frozenset({alice.key}))

    summary = apply_plan(plan, fake.providers())

    assert [o.key for o in summary.failed] == [alice.key]
    assert "InternalError" in summary.failed[0].message
    assert sorted(o.key for o in summary.skipped) == [attach.key, "ram.login_profile/alice"]
    assert all(o.message == "skipped: ram.user/alice failed" for o in summary.skipped)
    assert sorted(o.key for o in summary.done) == ["ram.login_profile/bob", "ram.user/bob"]
    assert set(fake.spans) == {alice.key, bob.key, "ram.login_profile/bob"}  # skipped ones never ran
    assert summary.exit_code == EXIT_ERROR


def test_skip_names_the_root_failure_down_a_chain() -> None:
    a, b, c = Chained("a"), Chained("b", ("modelstudio.grant/a",)), Chained("c", ("modelstudio.grant/b",))
    fake = FakeProvider(fail=frozenset({a.key}))
    summary = apply_plan(Plan([create(a), create(b), create(c)]), fake.providers())
    assert {o.key: o.message for o in summary.skipped} == {b.key: "skipped: modelstudio.grant/a failed",
                                                          c.key: "skipped: modelstudio.grant/a failed"}


def test_failed_child_delete_keeps_its_parent() -> None:
    user, login = UserSpec("alice"), LoginProfileSpec("alice")
    fake = FakeProvider(fail=frozenset({login.key}))
    summary = apply_plan(Plan([delete(login), delete(user)]), fake.providers())
    assert [o.key for o in summary.skipped] == [user.key]
    assert user.key not in fake.spans


def test_manual_changes_become_checklist_items_and_never_execute() -> None:
    member = MemberSpec("ws-delivery", "alice", role="guest")
    reason = "manual: add alice as guest in the console"
    plan = Plan([Change(member.key, Action.MANUAL, reason, desired=member)])
    fake = FakeProvider()
    events: list[Outcome] = []

    summary = apply_plan(plan, fake.providers(), on_event=events.append)

    assert fake.spans == {} and events == []
    assert [(o.key, o.status, o.message) for o in summary.manual] == [
        (member.key, Status.MANUAL, reason)]
    assert summary.ok


def test_refused_and_noop_changes_are_never_executed() -> None:
    user = UserSpec("alice", protect=True)
    plan = Plan([Change(user.key, Action.REFUSED, "refused: protect", live=Live(user, managed=True)),
                 Change("ram.user/bob", Action.NOOP, "in sync", desired=UserSpec("bob"))])
    fake = FakeProvider()

    summary = apply_plan(plan, fake.providers())

    assert fake.spans == {}
    assert [o.key for o in summary.refused] == [user.key]
    assert summary.done == []


def test_a_refused_deletion_fails_the_apply_naming_what_lets_it_through() -> None:
    guarded, protected = UserSpec("alice"), UserSpec("bob", protect=True)
    plan = Plan([Change(guarded.key, Action.REFUSED, "needs --allow-destroy",
                        live=Live(guarded, managed=True), refusal=Refusal.NEEDS_ALLOW_DESTROY),
                 Change(protected.key, Action.REFUSED, "protect: true", live=Live(protected, managed=True),
                        refusal=Refusal.PROTECTED),
                 create(UserSpec("carol"))])

    summary = apply_plan(plan, FakeProvider().providers())

    assert [o.key for o in summary.done] == ["ram.user/carol"]  # the rest is applied
    assert summary.exit_code == EXIT_ERROR and summary.to_dict()["ok"] is False
    refusal = summary.refusal()
    assert refusal is not None and refusal.startswith("2 deletion(s) refused")
    assert "ram.user/alice (needs --allow-destroy: re-run with --allow-destroy)" in refusal
    assert "ram.user/bob (protect: true: remove protect: true first" in refusal
    assert apply_plan(Plan([create(UserSpec("dave"))]), FakeProvider().providers()).refusal() is None


def test_successful_changes_are_recorded_and_deletes_forgotten() -> None:
    good, bad, gone = UserSpec("alice", display_name="Alice"), UserSpec("bob"), UserSpec("carol")
    recorder = Recorder()
    fake = FakeProvider(fail=frozenset({bad.key}))
    apply_plan(Plan([create(good), create(bad), delete(gone)]), fake.providers(), state=recorder)
    assert recorder.applied == {good.key: good}
    assert recorder.forgotten == [gone.key]


def test_one_progress_event_per_finished_change() -> None:
    events: list[Outcome] = []
    plan = Plan([create(UserSpec("alice")), create(UserSpec("bob"))])
    apply_plan(plan, FakeProvider(fail=frozenset({"ram.user/bob"})).providers(), on_event=events.append)
    lines = sorted(e.line() for e in events)
    assert len(lines) == 2
    assert re.fullmatch(r"✓ created ram\.user/alice \(\d+\.\ds\)", lines[0])
    assert lines[1].startswith("✗ failed to create ram.user/bob (") and "InternalError" in lines[1]


def test_progress_line_keeps_only_what_the_provider_message_adds() -> None:
    def line(message: str) -> str:
        return Outcome("ram.access_keys/bob", "create", Status.DONE, message, 0.25).line()

    assert line("created ram.access_keys/bob (secret sha256:1a2b in the sink)") == \
        "✓ created ram.access_keys/bob (0.2s): secret sha256:1a2b in the sink"
    assert line("ram.access_keys/bob: created LTAI1 (secret sha256:1a2b)") == \
        "✓ created ram.access_keys/bob (0.2s): created LTAI1 (secret sha256:1a2b)"
    assert line("created ram.access_keys/bob") == "✓ created ram.access_keys/bob (0.2s)"
    updated = Outcome("modelstudio.api_key/ws/main", "update", Status.DONE,
                      "updated modelstudio.api_key/ws/main: rotated (value sha256:1a2b)", 0.25)
    assert updated.line() == "✓ updated modelstudio.api_key/ws/main (0.2s): rotated (value sha256:1a2b)"
    failed = Outcome("ram.user/bob", "create", Status.FAILED, "ram.user/bob: CreateUser failed with X", 1.0)
    assert failed.line() == "✗ failed to create ram.user/bob (1.0s): CreateUser failed with X"
    skipped = Outcome("ram.login_profile/bob", "create", Status.SKIPPED, "skipped: ram.user/bob failed")
    assert skipped.line() == "- skipped ram.login_profile/bob: ram.user/bob failed"


def test_a_kind_without_provider_fails_only_that_change() -> None:
    fake = FakeProvider()
    providers = {Kind.USER: fake}
    summary = apply_plan(Plan([create(UserSpec("alice")), create(PolicySpec("p"))]), providers)
    assert [o.key for o in summary.done] == ["ram.user/alice"]
    assert summary.failed[0].message == "no provider for ram.policy"


def test_summary_json_has_every_outcome_list() -> None:
    plan = Plan([create(UserSpec("alice")), create(UserSpec("bob")), create(LoginProfileSpec("bob"))])
    summary = apply_plan(plan, FakeProvider(fail=frozenset({"ram.user/bob"})).providers())

    data = json.loads(json.dumps(summary.to_dict()))

    assert data["ok"] is False
    assert [r["key"] for r in data["done"]] == ["ram.user/alice"]
    assert [r["key"] for r in data["failed"]] == ["ram.user/bob"]
    assert data["skipped"] == [{"key": "ram.login_profile/bob", "action": "create", "status": "skipped",
                                "message": "skipped: ram.user/bob failed", "seconds": 0.0}]
    assert data["manual"] == [] and data["refused"] == []
    assert summary.counts() == "1 done, 1 failed, 1 skipped"


def test_an_interrupt_propagates() -> None:
    class Interrupting(FakeProvider):
        def execute(self, change: Change) -> str:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        apply_plan(Plan([create(UserSpec("alice"))]), Interrupting().providers())


def test_an_interrupt_still_reports_and_records_every_change_already_in_flight() -> None:
    release, all_running = threading.Event(), threading.Barrier(3)

    class Slow(FakeProvider):
        def execute(self, change: Change) -> str:
            all_running.wait(10)
            if change.key != "ram.user/alice":
                assert release.wait(10)  # finishes only after the interrupt
            return super().execute(change)

    events: list[Outcome] = []

    def on_event(outcome: Outcome) -> None:
        events.append(outcome)
        if outcome.key == "ram.user/alice":
            release.set()
            raise KeyboardInterrupt  # Ctrl-C lands in the main thread while bob and carol run

    recorder = Recorder()
    plan = Plan([create(UserSpec(n)) for n in ("alice", "bob", "carol")] + [create(LoginProfileSpec("bob"))])
    with pytest.raises(KeyboardInterrupt):
        apply_plan(plan, Slow().providers(), on_event=on_event, state=recorder, concurrency=3)

    assert sorted(e.key for e in events) == ["ram.user/alice", "ram.user/bob", "ram.user/carol"]
    assert all(e.status is Status.DONE for e in events)
    # recorded too, and nothing new was started
    assert set(recorder.applied) == {"ram.user/alice", "ram.user/bob", "ram.user/carol"}


def test_ctrl_c_stops_starting_changes_and_drains_the_one_in_flight() -> None:
    """SIGINT during an apply only sets a flag (a KeyboardInterrupt inside concurrent.futures.wait could
    leave a future's lock held and hang the apply): the change in flight finishes and is reported,
    nothing more starts, then the KeyboardInterrupt comes, and the previous SIGINT handler is back."""
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach the main thread only")
    started: list[str] = []

    class CtrlC(FakeProvider):
        def execute(self, change: Change) -> str:
            started.append(change.key)
            if change.key == "ram.user/alice":
                os.kill(os.getpid(), signal.SIGINT)  # the operator's Ctrl-C, while alice runs
                time.sleep(0.3)  # still in flight when the main thread sees the signal
            return super().execute(change)

    events: list[Outcome] = []
    before = signal.getsignal(signal.SIGINT)
    plan = Plan([create(UserSpec(n)) for n in ("alice", "bob", "carol")])
    with pytest.raises(KeyboardInterrupt):
        apply_plan(plan, CtrlC().providers(), on_event=events.append, concurrency=1)
    assert started == ["ram.user/alice"]
    assert [(e.key, e.status) for e in events] == [("ram.user/alice", Status.DONE)]
    assert signal.getsignal(signal.SIGINT) is before


def test_a_second_ctrl_c_inside_the_first_ones_handler_interrupts_without_touching_stop_again() -> None:
    """Two Ctrl-C close together: the second handler runs while the first is still inside stop.set(),
    holding the Event's lock. It must raise KeyboardInterrupt, not call set() again (that waited on the
    lock the first one held, and the apply would have hung for ever)."""
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach the main thread only")
    from provision.engine.apply import _interrupt_sets

    entered: list[str] = []

    def ctrl_c() -> None:  # what the interpreter does when SIGINT arrives: call the installed handler
        handler = signal.getsignal(signal.SIGINT)
        assert callable(handler)
        handler(signal.SIGINT, None)

    class Stop(threading.Event):
        def set(self) -> None:
            entered.append("set")
            if len(entered) == 1:  # the second signal arrives mid-set, as a nested handler call
                ctrl_c()
            super().set()

    stop = Stop()
    with _interrupt_sets(stop):
        with pytest.raises(KeyboardInterrupt):
            ctrl_c()
    assert entered == ["set"]


def test_empty_plan_is_ok() -> None:
    summary = apply_plan(Plan([]), {})
    assert isinstance(summary, ApplySummary) and summary.ok and summary.to_dict()["done"] == []


def test_a_change_the_provider_found_already_done_is_reported_in_sync_not_done() -> None:
    class AlreadyThere(FakeProvider):
        def execute(self, change: Change) -> str:
            if change.key == "ram.user/alice":
                return InSync("ram.user/alice already in sync")
            return super().execute(change)

    events: list[Outcome] = []
    plan = Plan([create(UserSpec("alice")), create(LoginProfileSpec("alice"))])
    summary = apply_plan(plan, AlreadyThere().providers(), on_event=events.append)

    assert summary.ok and [o.key for o in summary.in_sync] == ["ram.user/alice"]
    assert [o.key for o in summary.done] == ["ram.login_profile/alice"]  # its child still ran
    line = next(o for o in events if o.key == "ram.user/alice").line()
    assert line.startswith("= ram.user/alice: already in sync") and "created" not in line
    assert summary.counts() == "1 done, 1 already in sync, 0 failed, 0 skipped"

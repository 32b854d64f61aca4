"""Drift of children and of removals the tool asked for, on plain data: what the tool made (the state
file's ``applied``) tells a change made outside the tool from one the manifest asks for."""

from __future__ import annotations

from collections.abc import Mapping

from provision.desired.kinds import Spec
from provision.desired.live import Live, MemberFacts, Proof
from provision.desired.model import Desired
from provision.desired.resources import (
    AccessKeysSpec,
    AttachmentSpec,
    GrantSpec,
    MemberSpec,
    UserSpec,
    WorkspaceSpec,
)
from provision.plan.diff import (
    DRIFT_ADDED,
    DRIFT_DELETED,
    Action,
    Change,
    diff,
)

ALICE = UserSpec("alice", display_name="Alice")
KEYS = AccessKeysSpec("alice", count=1)
READ = AttachmentSpec("alice", "AliyunBailianDataReadOnlyAccess")
ADMIN = AttachmentSpec("alice", "AdministratorAccess")
WS = WorkspaceSpec("ws-delivery")
APPLIED: Mapping[str, Spec] = {s.key: s for s in (ALICE, KEYS, READ, WS)}


def live(spec: Spec) -> Live:
    return Live(spec=spec, managed=True)


def change_of(desired: Desired, lives: list[Live], key: str,
              applied: Mapping[str, Spec] | None = APPLIED) -> Change:
    return next(c for c in diff(desired, lives, applied=applied).changes if c.key == key)


def test_a_policy_attached_outside_the_tool_is_a_drift_delete() -> None:
    lives = [live(ALICE), live(AccessKeysSpec("alice", count=1, key_ids=("AK1",))), live(READ), live(ADMIN)]

    change = change_of(Desired(present=(ALICE, KEYS, READ)), lives, ADMIN.key)

    assert (change.action, change.reason, change.drift) == (Action.DELETE, DRIFT_ADDED, True)


def test_a_child_the_tool_made_and_the_manifest_dropped_is_an_ordinary_delete() -> None:
    lives = [live(ALICE), live(READ)]

    change = change_of(Desired(present=(ALICE,)), lives, READ.key)

    assert (change.action, change.reason, change.drift) == (
        Action.DELETE, "not declared under ram.user/alice", False)


def test_without_a_record_of_what_was_applied_an_undeclared_child_is_not_called_drift() -> None:
    for applied in (None, {}):
        change = change_of(Desired(present=(ALICE,)), [live(ALICE), live(ADMIN)], ADMIN.key, applied)
        assert (change.reason, change.drift) == ("not declared under ram.user/alice", False)


def test_a_resource_the_tool_made_that_was_deleted_outside_is_a_drift_create() -> None:
    grant = GrantSpec("ws-delivery", "qwen-plus")
    desired = Desired(present=(ALICE, READ, WS, grant))

    plan = diff(desired, [live(ALICE), live(WS)], applied=APPLIED)

    by_key = {c.key: c for c in plan.changes}
    assert (by_key[READ.key].action, by_key[READ.key].reason, by_key[READ.key].drift) == (
        Action.CREATE, DRIFT_DELETED, True)
    assert (by_key[grant.key].reason, by_key[grant.key].drift) == ("not found", False)  # never applied
    assert plan.summary().drift == 1


def test_the_children_of_a_parent_deleted_outside_are_plain_creates_under_the_drifted_parent() -> None:
    plan = diff(Desired(present=(ALICE, READ)), [], applied=APPLIED)

    by_key = {c.key: c for c in plan.changes}
    assert (by_key[ALICE.key].reason, by_key[ALICE.key].drift) == (DRIFT_DELETED, True)
    assert (by_key[READ.key].reason, by_key[READ.key].drift) == ("not found", False)


def test_an_extra_access_key_without_its_secret_is_deleted_first_so_no_rotation_is_advised() -> None:
    extra = AccessKeysSpec("alice", count=2, key_ids=("AK1", "AK2"), missing_secret=("AK2",))

    plan = diff(Desired(present=(ALICE, KEYS)), [live(ALICE), live(extra)], applied=APPLIED)

    change = next(c for c in plan.changes if c.key == KEYS.key)
    assert (change.action, change.reason, change.drift) == (Action.UPDATE, "drift: count", True)
    assert plan.warnings == []


def test_a_kept_access_key_without_its_secret_still_gets_the_rotation_advice() -> None:
    lost = AccessKeysSpec("alice", count=2, key_ids=("AK1", "AK2"), missing_secret=("AK1", "AK2"))

    plan = diff(Desired(present=(ALICE, KEYS)), [live(ALICE), live(lost)], applied=APPLIED)

    note = "secret of AK2 missing from the secrets sink: rotate with --rotate-missing-secrets"
    assert plan.warnings == [f"ram.access_keys/alice: {note}"]


def test_a_pending_console_removal_is_a_manual_step_that_says_why_it_was_asked_for() -> None:
    why = "revoked: its expires_at 2000-01-01T00:00:00Z has passed; pending since 2026-12-01T00:00:00Z"
    pending = MemberFacts(Proof.PENDING, pending=why)
    member = Live(MemberSpec("ws-delivery", "bob"), managed=True, member=pending)

    change = change_of(Desired(present=(WS,)), [live(WS), member], member.key)

    assert (change.action, change.desired) == (Action.MANUAL, None)
    assert change.reason == f"manual: remove bob from ws-delivery ({why})"

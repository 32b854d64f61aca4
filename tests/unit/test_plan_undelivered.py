"""The planner's view of keys whose secret the sink lacks, from what the state file knows (pure)."""

from __future__ import annotations

import pytest

from provision.desired.live import Live
from provision.desired.model import Desired
from provision.desired.resources import AccessKeysSpec, UserSpec
from provision.plan.diff import Action, SecretFacts, diff

ALICE = UserSpec("alice")
LOST = AccessKeysSpec("alice", count=1, key_ids=("LTAI1",), missing_secret=("LTAI1",))
NOTE = "secret of LTAI1 missing from the secrets sink: rotate with --rotate-missing-secrets"


def plan_with(facts: SecretFacts, rotate: bool = False) -> tuple[str, list[str], list[str], bool]:
    plan = diff(Desired(present=(ALICE, AccessKeysSpec("alice", count=1))),
                [Live(ALICE, managed=True), Live(LOST, managed=True)], secrets=facts, rotate_missing=rotate)
    change = next(c for c in plan.changes if c.key == LOST.key)
    return change.reason, plan.warnings, plan.undelivered, plan.delivered


@pytest.mark.parametrize("facts", [SecretFacts(), SecretFacts(stored=frozenset({"LTAI1"}),
                                                              handed_off=frozenset({"LTAI1"}))],
                         ids=["older-than-the-records", "handed-off"])
def test_a_secret_handed_off_or_of_unknown_history_is_a_warning(facts: SecretFacts) -> None:
    assert plan_with(facts) == (NOTE, [f"{LOST.key}: {NOTE}"], [], True)


def test_a_secret_the_tool_stored_and_nobody_handed_off_is_not_delivered() -> None:
    reason, warnings, undelivered, delivered = plan_with(SecretFacts(stored=frozenset({"LTAI1"})))
    assert (reason, warnings, delivered) == (
        "not delivered: secret lost, rotate with --rotate-missing-secrets", [], False)
    assert undelivered == [f"{LOST.key}: secret of LTAI1 missing from the secrets sink, and no hand-off of "
                           "it was recorded (the secret is lost): rotate with --rotate-missing-secrets"]


def test_an_orphan_of_an_interrupted_apply_is_left_to_its_intent() -> None:
    assert plan_with(SecretFacts(orphaned=frozenset({"LTAI1"}))) == ("in sync", [], [], True)


def test_rotation_asked_for_covers_lost_secrets_too() -> None:
    plan = diff(Desired(present=(ALICE, AccessKeysSpec("alice", count=1))),
                [Live(ALICE, managed=True), Live(LOST, managed=True)],
                secrets=SecretFacts(stored=frozenset({"LTAI1"})), rotate_missing=True)
    change = next(c for c in plan.changes if c.key == LOST.key)
    assert (change.action, change.rotate, plan.undelivered) == (Action.UPDATE, True, [])

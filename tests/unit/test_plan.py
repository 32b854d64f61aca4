"""The planner's rules, each with the reason it gives, on plain data (no emulator, no SDK)."""

from __future__ import annotations

import pytest

from provision.desired.kinds import Spec
from provision.desired.live import Live, MemberFacts, Proof
from provision.desired.model import Desired
from provision.desired.resources import (
    AccessKeysSpec,
    ApiKeySpec,
    AttachmentSpec,
    EndpointSpec,
    GrantSpec,
    LoginProfileSpec,
    MemberSpec,
    PolicySpec,
    UserSpec,
    WorkspaceSpec,
)
from provision.plan.diff import ADOPT, LOOK_ALIKE, Action, Change, FieldChange, Plan, diff

ALICE = UserSpec("alice", display_name="Alice")
WS = WorkspaceSpec("ws-delivery")


def live(spec: Spec, managed: bool = True, cloud_id: str = "", proven_by: str = "") -> Live:
    member = MemberFacts(Proof(proven_by)) if proven_by else None
    return Live(spec=spec, managed=managed, cloud_id=cloud_id, member=member)


def changes(plan: Plan) -> dict[str, Change]:
    return {c.key: c for c in plan.changes}


def only(plan: Plan, key: str) -> Change:
    return changes(plan)[key]


# --- present resources --------------------------------------------------------------------------------


def test_missing_resource_is_created_because_not_found() -> None:
    change = only(diff(Desired(present=(ALICE,)), []), "ram.user/alice")
    assert (change.action, change.reason, change.desired) == (Action.CREATE, "not found", ALICE)


def test_equal_resource_is_a_noop_in_sync() -> None:
    change = only(
        diff(Desired(present=(ALICE,)), [live(UserSpec("alice", "Alice", email="a@x"))]), "ram.user/alice"
    )
    assert (change.action, change.reason) == (Action.NOOP, "in sync")  # email is not declared: not compared


def test_differing_field_without_applied_record_is_an_update_that_says_differs() -> None:
    change = only(diff(Desired(present=(ALICE,)), [live(UserSpec("alice", "Al"))]), "ram.user/alice")
    assert (change.action, change.reason, change.drift) == (Action.UPDATE, "differs: display_name", False)
    assert change.fields == (FieldChange("display_name", "Al", "Alice"),)


def test_field_changed_outside_the_tool_is_drift() -> None:
    plan = diff(Desired(present=(ALICE,)), [live(UserSpec("alice", "Hacked"))], applied={ALICE.key: ALICE})
    change = only(plan, "ram.user/alice")
    assert (change.action, change.reason, change.drift) == (Action.UPDATE, "drift: display_name", True)


def test_field_changed_in_the_manifest_is_an_intended_update_not_drift() -> None:
    plan = diff(
        Desired(present=(ALICE,)),
        [live(UserSpec("alice", "Old"))],
        applied={ALICE.key: UserSpec("alice", "Old")},
    )
    change = only(plan, "ram.user/alice")
    assert (change.action, change.reason, change.drift) == (Action.UPDATE, "update: display_name", False)


def test_drift_and_intended_update_on_one_resource_are_both_named() -> None:
    desired = UserSpec("alice", display_name="Alice", email="new@x")
    plan = diff(
        Desired(present=(desired,)),
        [live(UserSpec("alice", "Hacked", "old@x"))],
        applied={desired.key: UserSpec("alice", "Alice", "old@x")},
    )
    change = only(plan, "ram.user/alice")
    assert (change.reason, change.drift) == ("drift: display_name; update: email", True)


def test_list_fields_compare_regardless_of_order() -> None:
    key = ApiKeySpec("ws-delivery", "main", allowed_models=("qwen-plus", "qwen-max"))
    plan = diff(Desired(present=(WS, key)), [live(WS), live(replace_models(key, ("qwen-max", "qwen-plus")))])
    assert only(plan, key.key).reason == "in sync"


def replace_models(spec: ApiKeySpec, models: tuple[str, ...]) -> ApiKeySpec:
    return ApiKeySpec(spec.workspace, spec.key_name, allowed_models=models)


LOST_KEY = AccessKeysSpec("alice", count=1, key_ids=("LTAI1",), missing_secret=("LTAI1",))
LOST_KEY_NOTE = "secret of LTAI1 missing from the secrets sink: rotate with --rotate-missing-secrets"


def test_access_keys_with_a_secret_missing_from_the_sink_are_reported_not_rotated() -> None:
    plan = diff(Desired(present=(ALICE, AccessKeysSpec("alice", count=1))), [live(ALICE), live(LOST_KEY)])

    change = only(plan, LOST_KEY.key)
    assert (change.action, change.reason, change.rotate) == (Action.NOOP, LOST_KEY_NOTE, False)
    assert plan.warnings == [f"ram.access_keys/alice: {LOST_KEY_NOTE}"]
    assert not plan.has_changes


def test_access_keys_with_a_secret_missing_from_the_sink_are_rotated_when_asked() -> None:
    desired = AccessKeysSpec("alice", count=1)
    plan = diff(Desired(present=(ALICE, desired)), [live(ALICE), live(LOST_KEY)], rotate_missing=True)

    change = only(plan, desired.key)
    assert (change.action, change.reason, change.rotate) == (
        Action.UPDATE,
        "rotate: secret of LTAI1 missing from the secrets sink",
        True,
    )
    assert plan.warnings == []


def test_an_update_of_keys_with_a_lost_secret_says_it_does_not_rotate_them() -> None:
    desired = AccessKeysSpec("alice", count=2)
    plan = diff(Desired(present=(ALICE, desired)), [live(ALICE), live(LOST_KEY)])

    change = only(plan, desired.key)
    assert (change.action, change.reason, change.rotate) == (
        Action.UPDATE, f"differs: count; {LOST_KEY_NOTE}", False)
    assert plan.warnings == [f"ram.access_keys/alice: {LOST_KEY_NOTE}"]


def test_api_key_with_a_secret_missing_from_the_sink_is_reported_not_rotated() -> None:
    desired = ApiKeySpec("ws-delivery", "main")
    current = ApiKeySpec("ws-delivery", "main", api_key_id="k1", missing_secret=True)
    plan = diff(Desired(present=(WS, desired)), [live(WS), live(current)])

    change = only(plan, desired.key)
    note = ("secret of API key ws-delivery/main missing from the secrets sink: rotate with "
            "--rotate-missing-secrets")
    assert (change.action, change.reason) == (Action.NOOP, note)
    assert plan.warnings == [f"modelstudio.api_key/ws-delivery/main: {note}"]


def test_api_key_with_a_secret_missing_from_the_sink_is_rotated_when_asked() -> None:
    desired = ApiKeySpec("ws-delivery", "main")
    current = ApiKeySpec("ws-delivery", "main", api_key_id="k1", missing_secret=True)
    change = only(diff(Desired(present=(WS, desired)), [live(WS), live(current)], rotate_missing=True),
                  desired.key)
    assert (change.action, change.rotate) == (Action.UPDATE, True)
    assert change.reason == "rotate: secret of API key ws-delivery/main missing from the secrets sink"


def test_only_expired_plan_leaves_out_the_warning_of_a_lost_secret_it_does_not_show() -> None:
    desired, current = expired_alice()
    bob_keys = AccessKeysSpec("bob", count=1, key_ids=("LTAI9",), missing_secret=("LTAI9",))
    desired = Desired(present=(*desired.present, AccessKeysSpec("bob", count=1)), expired=desired.expired)

    full = diff(desired, [*current, live(bob_keys)])
    revocation = diff(desired, [*current, live(bob_keys)], only_expired=True)

    assert [w for w in full.warnings if "ram.access_keys/bob" in w]
    assert "ram.access_keys/bob" not in changes(revocation) and revocation.warnings == []


# --- unmanaged look-alikes and adoption ---------------------------------------------------------------


def test_unmanaged_look_alike_is_not_touched_and_listed() -> None:
    profile = LoginProfileSpec("alice", password_reset_required=True)
    plan = diff(Desired(present=(ALICE, profile)), [live(UserSpec("alice", "Other"), managed=False)])
    assert only(plan, ALICE.key).action is Action.NOOP
    assert only(plan, ALICE.key).reason == LOOK_ALIKE
    assert plan.unmanaged == [ALICE.key]
    assert (only(plan, profile.key).action, only(plan, profile.key).reason) == (
        Action.NOOP,
        "parent is unmanaged",
    )
    assert not plan.has_changes


def test_adopt_takes_an_unmanaged_look_alike_under_management() -> None:
    desired = Desired(present=(ALICE,), adopt=frozenset({ALICE.key}))
    change = only(diff(desired, [live(UserSpec("alice", "Other"), managed=False)]), ALICE.key)
    assert (change.action, change.reason) == (Action.UPDATE, ADOPT)
    assert change.fields == (FieldChange("display_name", "Other", "Alice"),)


def test_unmanaged_resource_the_manifest_does_not_mention_is_ignored() -> None:
    plan = diff(
        Desired(),
        [live(UserSpec("root-admin"), managed=False), live(LoginProfileSpec("root-admin"), managed=False)],
    )
    assert plan.changes == [] and plan.unmanaged == [] and plan.warnings == []


def test_managed_resource_missing_from_the_manifest_is_reported_never_deleted() -> None:
    bob = UserSpec("bob")
    plan = diff(Desired(), [live(bob), live(LoginProfileSpec("bob"))])
    assert plan.warnings == ["ram.user/bob is managed by provision but not declared: not touched"]
    assert only(plan, bob.key).action is Action.NOOP
    assert only(plan, "ram.login_profile/bob").reason == "parent ram.user/bob is not declared: not touched"
    assert not plan.has_changes


# --- children no longer declared ----------------------------------------------------------------------


def test_undeclared_children_of_a_managed_parent_are_deleted_with_the_reason() -> None:
    att = AttachmentSpec("alice", "AliyunBailianDataReadOnlyAccess")
    grant = GrantSpec("ws-delivery", "qwen-plus")
    key = ApiKeySpec("ws-delivery", "old")
    plan = diff(
        Desired(present=(ALICE, WS)),
        [live(ALICE), live(att), live(LoginProfileSpec("alice")), live(WS), live(grant), live(key)],
    )
    for child, parent in ((att, ALICE), (LoginProfileSpec("alice"), ALICE), (grant, WS), (key, WS)):
        change = only(plan, child.key)
        assert (change.action, change.reason) == (Action.DELETE, f"not declared under {parent.key}")


def test_undeclared_access_keys_become_an_update_of_count_to_zero() -> None:
    keys = AccessKeysSpec("alice", count=2, key_ids=("LTAI1", "LTAI2"))
    change = only(diff(Desired(present=(ALICE,)), [live(ALICE), live(keys)]), keys.key)
    assert (change.action, change.reason) == (Action.UPDATE, "not declared under ram.user/alice")
    assert change.fields == (FieldChange("count", 2, 0),)
    assert change.desired == AccessKeysSpec("alice", count=0)


def test_unmarked_api_key_in_a_managed_workspace_is_not_touched() -> None:
    key = ApiKeySpec("ws-delivery", "handmade")
    change = only(diff(Desired(present=(WS,)), [live(WS), live(key, managed=False)]), key.key)
    assert (change.action, change.reason) == (Action.NOOP, "unmanaged: not touched")


# --- expiry -------------------------------------------------------------------------------------------


def expired_alice() -> tuple[Desired, list[Live]]:
    user = UserSpec("alice", display_name="Alice", expires_at="2026-01-31T00:00:00Z")
    keys = AccessKeysSpec("alice", count=1)
    api_key = ApiKeySpec("ws-delivery", "alice-key", issued_to="alice")
    desired = Desired(
        present=(
            user,
            keys,
            AttachmentSpec("alice", "P"),
            WS,
            api_key,
            UserSpec("bob"),
            LoginProfileSpec("bob"),
            MemberSpec("ws-delivery", "alice", "guest"),
        ),
        expired=frozenset({"alice"}),
    )
    current = [
        live(user),
        live(AccessKeysSpec("alice", count=1, key_ids=("LTAI1",))),
        live(AttachmentSpec("alice", "P")),
        live(LoginProfileSpec("alice")),
        live(WS),
        live(ApiKeySpec("ws-delivery", "alice-key", api_key_id="k1")),
        live(UserSpec("bob")),
        live(MemberSpec("ws-delivery", "alice", "guest"), proven_by="probe"),
    ]
    return desired, current


def test_expired_user_is_kept_but_stripped_of_every_access() -> None:
    desired, current = expired_alice()
    plan = diff(desired, current)
    reason = "expired: alice expired at 2026-01-31T00:00:00Z"
    assert only(plan, "ram.user/alice").action is Action.NOOP
    for key in (
        "ram.attachment/alice/System:P",
        "ram.login_profile/alice",
        "modelstudio.api_key/ws-delivery/alice-key",
    ):
        assert (only(plan, key).action, only(plan, key).reason) == (Action.DELETE, reason)
    keys = only(plan, "ram.access_keys/alice")
    assert (keys.action, keys.reason, keys.fields) == (Action.UPDATE, reason, (FieldChange("count", 1, 0),))
    member = only(plan, "modelstudio.member/ws-delivery/alice")
    assert (member.action, member.reason) == (
        Action.MANUAL,
        f"manual: remove alice from ws-delivery ({reason})",
    )


def test_only_expired_keeps_just_the_expired_users_changes() -> None:
    desired, current = expired_alice()
    plan = diff(desired, current, only_expired=True)
    assert {c.key for c in plan.changes} == {
        "ram.user/alice",
        "ram.access_keys/alice",
        "ram.attachment/alice/System:P",
        "ram.login_profile/alice",
        "modelstudio.api_key/ws-delivery/alice-key",
        "modelstudio.member/ws-delivery/alice",
    }


def test_only_expired_leaves_out_an_expired_users_changes_that_revoke_nothing() -> None:
    desired, current = expired_alice()
    drifted = [live(UserSpec("alice", display_name="Renamed")) if lv.key == "ram.user/alice" else lv
               for lv in current]
    assert only(diff(desired, drifted), "ram.user/alice").action is Action.UPDATE  # a full plan fixes it

    plan = diff(desired, drifted, only_expired=True)

    assert "ram.user/alice" not in changes(plan)
    assert {c.key: c.action for c in plan.actionable} == {
        "ram.access_keys/alice": Action.UPDATE,
        "ram.attachment/alice/System:P": Action.DELETE,
        "ram.login_profile/alice": Action.DELETE,
        "modelstudio.api_key/ws-delivery/alice-key": Action.DELETE,
    }
    assert only(plan, "ram.access_keys/alice").desired == AccessKeysSpec("alice", count=0)
    assert only(plan, "modelstudio.member/ws-delivery/alice").desired is None  # a removal


def test_expired_user_that_does_not_exist_is_not_created() -> None:
    desired, _ = expired_alice()
    plan = diff(desired, [])
    assert only(plan, "ram.user/alice").action is Action.NOOP
    assert only(plan, "ram.user/alice").reason.endswith(": not created")
    assert not any("alice" in c.key and c.action is not Action.NOOP for c in plan.changes)


# --- membership (manual) ------------------------------------------------------------------------------


def test_membership_not_yet_proven_is_a_manual_add() -> None:
    member = MemberSpec("ws-delivery", "alice", "guest")
    change = only(diff(Desired(present=(ALICE, WS, member)), [live(ALICE), live(WS)]), member.key)
    assert (change.action, change.reason) == (
        Action.MANUAL,
        "manual: add alice to workspace ws-delivery as guest in the console",
    )


def test_membership_with_another_role_is_a_manual_role_change() -> None:
    member = MemberSpec("ws-delivery", "alice", "admin")
    current = live(MemberSpec("ws-delivery", "alice", "guest"), proven_by="confirmation")
    change = only(diff(Desired(present=(ALICE, WS, member)), [live(ALICE), live(WS), current]), member.key)
    assert change.action is Action.MANUAL and change.reason.startswith("manual: change role of alice")
    assert change.fields == (FieldChange("role", "guest", "admin"),)


def test_proven_membership_is_in_sync_and_says_how_it_was_proven() -> None:
    member = MemberSpec("ws-delivery", "alice", "guest")
    for proof, reason in (("probe", "in sync (proven by probe)"), ("confirmation", "in sync (confirmed)")):
        current = [live(ALICE), live(WS), live(member, proven_by=proof)]
        plan = diff(Desired(present=(ALICE, WS, member)), current)
        assert (only(plan, member.key).action, only(plan, member.key).reason) == (Action.NOOP, reason)


def test_proven_undeclared_membership_is_a_manual_removal() -> None:
    member = MemberSpec("ws-delivery", "alice", "guest")
    change = only(diff(Desired(present=(ALICE, WS)), [live(ALICE), live(WS), live(member)]), member.key)
    assert (change.action, change.reason) == (Action.MANUAL, "manual: remove alice from ws-delivery")
    assert not diff(Desired(present=(ALICE, WS)), [live(ALICE), live(WS), live(member)]).has_changes


# --- top-level resources declared absent --------------------------------------------------------------


BOB_CASCADE = ("deactivate access key LTAI1", "delete access key LTAI1", "delete login profile",
               "detach policy System:AliyunBailianDataReadOnlyAccess", "remove from group devs",
               "unbind MFA device mfa-bob", "delete MFA device mfa-bob", "delete user")


def doomed_bob() -> list[Live]:
    return [
        Live(UserSpec("bob"), managed=True, cascade=BOB_CASCADE),
        live(AccessKeysSpec("bob", count=2, key_ids=("LTAI1", "LTAI2"))),
        live(LoginProfileSpec("bob")),
        live(AttachmentSpec("bob", "AliyunBailianDataReadOnlyAccess")),
        live(WS),
        live(MemberSpec("ws-delivery", "bob", "guest")),
    ]


def test_absent_user_without_allow_destroy_is_refused() -> None:
    change = only(diff(Desired(present=(WS,), absent=(UserSpec("bob"),)), doomed_bob()), "ram.user/bob")
    assert (change.action, change.reason) == (Action.REFUSED, "needs --allow-destroy")
    assert change.cascade[-1] == "delete user"


def test_protected_user_is_refused_even_with_allow_destroy() -> None:
    desired = Desired(present=(WS,), absent=(UserSpec("bob", protect=True),))
    change = only(diff(desired, doomed_bob(), allow_destroy=True), "ram.user/bob")
    assert (change.action, change.reason) == (Action.REFUSED, "protect: true")


def test_absent_user_delete_shows_the_steps_its_provider_described() -> None:
    plan = diff(Desired(present=(WS,), absent=(UserSpec("bob"),)), doomed_bob(), allow_destroy=True)
    change = only(plan, "ram.user/bob")
    assert (change.action, change.reason) == (Action.DELETE, "state: absent")
    assert change.cascade == BOB_CASCADE  # the provider's steps, as it described them: apply runs them
    assert only(plan, "ram.login_profile/bob").reason == "deleted with ram.user/bob"
    assert only(plan, "modelstudio.member/ws-delivery/bob").action is Action.MANUAL


def test_children_of_a_refused_delete_are_left_alone() -> None:
    plan = diff(Desired(present=(WS,), absent=(UserSpec("bob"),)), doomed_bob())
    change = only(plan, "ram.login_profile/bob")
    assert (change.action, change.reason) == (
        Action.NOOP,
        "parent ram.user/bob is not deleted (needs --allow-destroy)",
    )
    assert not plan.has_changes


def test_absent_workspace_endpoint_and_policy_cascades() -> None:
    endpoint = EndpointSpec("dashscope-ep", "cn-beijing", "vpc-1")
    current = [
        Live(WS, managed=True, cascade=("delete API key main", "delete workspace")),
        live(GrantSpec("ws-delivery", "*")),
        live(ApiKeySpec("ws-delivery", "main")),
        Live(endpoint, managed=True, cloud_id="ep-123", cascade=("delete endpoint ep-123",)),
        Live(PolicySpec("p"), managed=True, cascade=("delete policy",)),
        live(ALICE),
        live(AttachmentSpec("alice", "p", "Custom")),
    ]
    desired = Desired(
        present=(ALICE, AttachmentSpec("alice", "p", "Custom")), absent=(WS, endpoint, PolicySpec("p"))
    )
    plan = diff(desired, current, allow_destroy=True)
    assert only(plan, WS.key).cascade == ("delete API key main", "delete workspace")
    assert only(plan, endpoint.key).cascade == ("delete endpoint ep-123",)
    assert only(plan, "ram.policy/p").cascade == ("delete policy",)


def test_absent_resource_that_is_gone_or_unmanaged_is_not_touched() -> None:
    desired = Desired(absent=(UserSpec("bob"), UserSpec("carol")))
    plan = diff(desired, [live(UserSpec("carol"), managed=False)], allow_destroy=True)
    assert (only(plan, "ram.user/bob").action, only(plan, "ram.user/bob").reason) == (
        Action.NOOP,
        "already absent",
    )
    assert only(plan, "ram.user/carol").reason == "unmanaged: not touched"
    assert plan.unmanaged == ["ram.user/carol"]


# --- order --------------------------------------------------------------------------------------------


def test_creates_come_parents_first() -> None:
    specs = (
        AttachmentSpec("alice", "p", "Custom"),
        AccessKeysSpec("alice", count=1),
        LoginProfileSpec("alice"),
        ALICE,
        PolicySpec("p", document="{}"),
        GrantSpec("ws-delivery", "*"),
        WS,
    )
    keys = [c.key for c in diff(Desired(present=specs), []).changes]
    assert keys == [
        "ram.policy/p",
        "ram.user/alice",
        "ram.login_profile/alice",
        "ram.access_keys/alice",
        "ram.attachment/alice/Custom:p",
        "modelstudio.workspace/ws-delivery",
        "modelstudio.grant/ws-delivery/*",
    ]


def test_deletes_come_children_first_after_the_creates() -> None:
    desired = Desired(present=(ALICE, UserSpec("new")), absent=(PolicySpec("p"),))
    plan = diff(
        desired,
        [live(ALICE), live(PolicySpec("p")), live(AttachmentSpec("alice", "p", "Custom"))],
        allow_destroy=True,
    )
    actions = [(c.action, c.key) for c in plan.changes if c.action is not Action.NOOP]
    assert actions == [
        (Action.CREATE, "ram.user/new"),
        (Action.DELETE, "ram.attachment/alice/Custom:p"),
        (Action.DELETE, "ram.policy/p"),
    ]


def test_diff_of_the_manifest_against_itself_is_all_in_sync() -> None:
    specs = (
        ALICE,
        AccessKeysSpec("alice", count=0),
        WS,
        GrantSpec("ws-delivery", "*"),
        ApiKeySpec("ws-delivery", "main", allowed_models=()),
    )
    plan = diff(Desired(present=specs), [live(s) for s in specs])
    assert {(c.action, c.reason) for c in plan.changes} == {(Action.NOOP, "in sync")}


def test_duplicate_live_keys_are_warned_about() -> None:
    plan = diff(Desired(present=(WS,)), [live(WS, cloud_id="a"), live(WS, cloud_id="b")])
    assert plan.warnings == [
        "modelstudio.workspace/ws-delivery: several live resources share this key (a, b): "
        "only the first is considered"
    ]


def test_a_change_gives_its_spec_as_the_class_its_handler_expects_and_refuses_another() -> None:
    from provision.desired.resources import GrantSpec

    created = Change("ram.user/alice", Action.CREATE, "declared", desired=UserSpec("alice", "Alice"))
    assert created.spec_as(UserSpec).display_name == "Alice"
    assert created.live_as(UserSpec) is None
    with pytest.raises(TypeError, match=r"ram.user/alice: a GrantSpec was expected, not a UserSpec"):
        created.spec_as(GrantSpec)
    deleted = Change("ram.user/bob", Action.DELETE, "absent", live=Live(UserSpec("bob", "Bob"), True, "u-2"))
    assert deleted.live_as(UserSpec) == UserSpec("bob", "Bob")
    with pytest.raises(TypeError, match="ram.user/bob"):
        deleted.live_as(GrantSpec)


def test_closing_the_one_click_grant_plans_the_declared_models_again_after_it() -> None:
    from provision.desired.resources import ALL_MODELS, GrantSpec, WorkspaceSpec
    from provision.engine.apply import dependencies

    ws, plus = WorkspaceSpec("ws"), GrantSpec("ws", "qwen-plus")
    live = [Live(ws, True, "ws-1"), Live(GrantSpec("ws", ALL_MODELS), True),
            Live(plus, True)]  # OPEN was clicked in the console: every model reads as granted
    plan = diff(Desired(present=(ws, plus)), live)

    by_key = {c.key: c for c in plan.changes}
    star = f"modelstudio.grant/ws/{ALL_MODELS}"
    assert (by_key[star].action, by_key[plus.key].action) == (Action.DELETE, Action.CREATE)
    assert by_key[plus.key].reason == f"granted again: deleting {star} revokes it"
    assert dependencies(plan.actionable)[plus.key] == {star}
    kept = diff(Desired(present=(ws, GrantSpec("ws", ALL_MODELS), plus)), live)  # "*" declared: no CLOSE
    assert {c.key: c.action for c in kept.changes}[plus.key] is Action.NOOP

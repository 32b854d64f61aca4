"""Planner properties over random manifests and random live accounts of managed resources (hypothesis)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import fake_cloud
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provision.desired.kinds import Spec
from provision.desired.live import Live
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
    Zone,
)
from provision.plan.diff import Action, Plan, diff
from provision.plan.io import plan_from_dict, plan_to_dict

USERS = ("alice", "bob", "carol")
POLICIES = ("p1", "p2")
WORKSPACES = ("ws1", "ws2")
ENDPOINTS = ("ep1",)
MODELS = ("*", "qwen-plus", "qwen-max")
ZONES = (Zone("cn-beijing-a", "vsw-a"), Zone("cn-beijing-b", "vsw-b"))

maybe_text = st.sampled_from((None, "A", "B"))
maybe_bool = st.sampled_from((None, True, False))


def subset(draw: st.DrawFn, items: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(i for i in items if draw(st.booleans()))


def models(draw: st.DrawFn) -> tuple[str, ...] | None:
    return draw(st.sampled_from((None, (), ("qwen-plus",), ("qwen-max", "qwen-plus"))))


@st.composite
def account(draw: st.DrawFn, for_live: bool) -> list[Spec]:
    """A consistent set of specs: children only under parents of the same set."""
    users, policies = subset(draw, USERS), subset(draw, POLICIES)
    workspaces, endpoints = subset(draw, WORKSPACES), subset(draw, ENDPOINTS)
    specs: list[Spec] = [
        PolicySpec(p, document=draw(st.sampled_from(('{"v":1}', '{"v":2}', None)))) for p in policies
    ]
    for u in users:
        specs.append(UserSpec(u, display_name=draw(maybe_text), email=draw(maybe_text)))
        if draw(st.booleans()):
            specs.append(LoginProfileSpec(u, password_reset_required=draw(maybe_bool)))
        if draw(st.booleans()):
            count = draw(st.integers(0, 2))
            key_ids = tuple(f"LTAI{u}{i}" for i in range(count)) if for_live else ()
            missing = subset(draw, key_ids) if for_live else ()
            specs.append(AccessKeysSpec(u, count=count, key_ids=key_ids, missing_secret=missing))
        specs += [AttachmentSpec(u, "ReadOnly")] if draw(st.booleans()) else []
        specs += [AttachmentSpec(u, p, "Custom") for p in subset(draw, policies)]
    for w in workspaces:
        specs.append(WorkspaceSpec(w, workspace_id=f"id-{w}" if for_live else None))
        specs += [GrantSpec(w, m) for m in subset(draw, MODELS)]
        for name in subset(draw, ("main", "ci")):
            issued_to = None if for_live else draw(st.sampled_from((None, *users)))
            specs.append(
                ApiKeySpec(
                    w,
                    name,
                    allowed_models=models(draw),
                    issued_to=issued_to,
                    missing_secret=for_live and draw(st.booleans()),
                )
            )
        specs += [MemberSpec(w, u, draw(st.sampled_from(("guest", "admin")))) for u in subset(draw, users)]
    for e in endpoints:
        zones = draw(st.sampled_from((None, ZONES[:1], ZONES)))
        specs.append(
            EndpointSpec(e, "cn-beijing", "vpc-1", zones=zones, service_name="com.aliyuncs.dashscope")
        )
    return specs


@dataclass(frozen=True)
class Case:
    desired: Desired
    live: list[Live]
    allow_destroy: bool
    rotate_missing: bool

    def plan(self, live: list[Live]) -> Plan:
        return diff(self.desired, live, allow_destroy=self.allow_destroy, rotate_missing=self.rotate_missing)


def absent_specs(draw: st.DrawFn, taken: set[str]) -> tuple[Spec, ...]:
    """Top-level resources not in the manifest's present set, each declared absent by chance."""
    protect = st.booleans()
    candidates = (
        [UserSpec(u, protect=draw(protect)) for u in USERS]
        + [PolicySpec(p, protect=draw(protect)) for p in POLICIES]
        + [WorkspaceSpec(w, protect=draw(protect)) for w in WORKSPACES]
        + [EndpointSpec(e, "cn-beijing", "vpc-1", protect=draw(protect)) for e in ENDPOINTS]
    )
    return tuple(s for s in candidates if s.key not in taken and draw(st.booleans()))


@st.composite
def cases(draw: st.DrawFn) -> Case:
    present = draw(account(for_live=False))
    absent = absent_specs(draw, {s.key for s in present})
    users = tuple(s.user for s in present if isinstance(s, UserSpec))
    expired = frozenset(u for u in users if draw(st.booleans()))
    live = [Live(spec=s, managed=True, cloud_id=f"id-{s.key}") for s in draw(account(for_live=True))]
    desired = Desired(present=tuple(present), absent=absent, expired=expired)
    return Case(desired, live, draw(st.booleans()), draw(st.booleans()))


fast = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@fast
@given(cases())
def test_applying_the_plan_leaves_nothing_to_do(case: Case) -> None:
    first = case.plan(case.live)
    after = fake_cloud.apply(first, case.live)
    second = case.plan(after)
    assert second.actionable == [], [(c.key, c.action, c.reason) for c in second.actionable]


@fast
@given(cases())
def test_without_the_switch_nothing_rotates_and_no_lost_secret_passes_for_in_sync(case: Case) -> None:
    plan = diff(case.desired, case.live, allow_destroy=case.allow_destroy)
    assert not [c.key for c in plan.changes if c.rotate]
    assert not [c.key for c in plan.changes if c.reason == "in sync" and c.live is not None
                and getattr(c.live.spec, "missing_secret", None)]
    reported = sorted(c.key for c in plan.changes if "rotate with --rotate-missing-secrets" in c.reason)
    assert reported == sorted(w.split(": ", 1)[0] for w in plan.warnings if "rotate with" in w)


@fast
@given(cases())
def test_the_switch_changes_only_the_changes_of_keys_whose_secret_is_lost(case: Case) -> None:
    plain = diff(case.desired, case.live, allow_destroy=case.allow_destroy)
    rotating = diff(case.desired, case.live, allow_destroy=case.allow_destroy, rotate_missing=True)
    differ = [b for a, b in zip(plain.changes, rotating.changes, strict=True) if a != b]
    assert all(c.rotate and c.action is Action.UPDATE and c.reason.startswith("rotate: ") for c in differ)
    assert [c for c in rotating.changes if c.rotate] == differ


@fast
@given(account(for_live=False))
def test_diff_against_a_live_copy_of_the_manifest_holds_only_reasoned_noops(specs: list[Spec]) -> None:
    plan = diff(Desired(present=tuple(specs)), [Live(spec=s, managed=True) for s in specs])
    assert all(c.action is Action.NOOP and c.reason for c in plan.changes)
    assert {c.key for c in plan.changes} == {s.key for s in specs}


def assert_ordered(plan: Plan, live: list[Live]) -> None:
    position = {c.key: i for i, c in enumerate(plan.changes)}
    existing = {lv.key for lv in live}
    for i, change in enumerate(plan.changes):
        if change.action is Action.CREATE:
            for parent in change.spec.parents():
                assert parent in existing or (
                    parent in position
                    and position[parent] < i
                    and plan.changes[position[parent]].action is Action.CREATE
                ), (change.key, parent)
        if change.action is Action.DELETE:
            for other in plan.changes[i + 1 :]:
                assert not (other.action is Action.DELETE and change.key in other.spec.parents()), (
                    change.key,
                    other.key,
                )


@fast
@given(cases())
def test_creates_follow_their_parents_and_deletes_precede_them(case: Case) -> None:
    assert_ordered(diff(case.desired, case.live, allow_destroy=case.allow_destroy), case.live)


@fast
@given(cases())
def test_plan_file_round_trips_exactly(case: Case) -> None:
    plan = diff(case.desired, case.live, allow_destroy=case.allow_destroy, manifest="m.yaml")
    data = json.loads(json.dumps(plan_to_dict(plan)))
    assert plan_from_dict(data) == plan


@fast
@given(cases())
def test_only_expired_plan_is_the_expired_users_part_of_the_full_plan(case: Case) -> None:
    full = diff(case.desired, case.live, allow_destroy=case.allow_destroy)
    revocation = diff(case.desired, case.live, allow_destroy=case.allow_destroy, only_expired=True)
    assert all(c in full.changes for c in revocation.changes)
    issued = {s.key: s.issued_to for s in case.desired.present if isinstance(s, ApiKeySpec)}
    for change in revocation.changes:
        api_key = change.kind == "modelstudio.api_key"
        owner = issued.get(change.key) if api_key else getattr(change.spec, "user", None)
        assert owner in case.desired.expired, change.key
        if change.action is Action.UPDATE:  # the only update that revokes: access keys down to zero
            assert change.desired == AccessKeysSpec(user=owner, count=0), change.key
        assert change.action is not Action.CREATE and change.action is not Action.REFUSED, change.key
        assert change.action is not Action.MANUAL or change.desired is None, change.key

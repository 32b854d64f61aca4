"""An in-memory cloud for planner properties: applies a Plan's changes to a list of live resources.

It does what a correct provider would: creates and updates leave the live spec equal to the desired one
(live-only fields filled, secrets held again only where the change rotates or creates keys, adopted
resources marked), a top-level delete
takes its children with it (memberships go only with their workspace: removing a user's memberships is a
console step), and no-ops, manual steps and refused deletes change nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields, replace

from provision.desired.kinds import Kind, Spec
from provision.desired.live import Live
from provision.desired.resources import AccessKeysSpec, ApiKeySpec
from provision.plan.diff import Action, Change, Plan


def apply(plan: Plan, live: Sequence[Live]) -> list[Live]:
    """The live resources after every actionable change of ``plan`` ran successfully."""
    state = {lv.key: lv for lv in live}
    for change in plan.changes:
        if change.action in (Action.CREATE, Action.UPDATE):
            state[change.key] = _written(change)
        elif change.action is Action.DELETE:
            for key in _with_descendants(change.key, state):
                state.pop(key, None)  # like the providers: already gone counts as deleted
    return list(state.values())


def _written(change: Change) -> Live:
    """The live resource a create or update leaves: declared fields as desired, secrets of new or rotated
    keys held; a key kept without rotation keeps its lost secret."""
    assert change.desired is not None
    spec = change.desired
    if change.live is not None:  # undeclared fields keep their live values
        before = change.live.spec
        spec = replace(
            before,
            **{
                f.name: getattr(spec, f.name)
                for f in fields(spec)
                if f.name in spec.compared and getattr(spec, f.name) is not None
            },
        )
    if isinstance(spec, AccessKeysSpec):
        spec = _reconcile_keys(spec, change.rotate)
    if isinstance(spec, ApiKeySpec):
        spec = replace(spec, missing_secret=spec.missing_secret and not change.rotate)
    cloud_id = change.live.cloud_id if change.live is not None else f"id-{spec.key}"
    return Live(spec=spec, managed=True, cloud_id=cloud_id)


def _reconcile_keys(spec: AccessKeysSpec, rotate: bool) -> AccessKeysSpec:
    """What the RAM provider leaves: extra keys trimmed (keys whose secret the sink lacks first), missing
    ones created (their secrets stored), and with ``rotate`` every lost secret replaced by a new key."""
    count = spec.count if spec.count is not None else len(spec.key_ids)
    lost = [] if rotate else [k for k in spec.missing_secret if k in spec.key_ids]
    keep = [k for k in spec.key_ids if k not in lost] + lost  # trimming drops the lost ones first
    keep = keep[:count]
    n = 0
    while len(keep) < count:
        candidate = f"LTAI{spec.user}new{n}"
        n += 1
        if candidate not in keep and candidate not in spec.key_ids:
            keep.append(candidate)
    return replace(spec, count=count, key_ids=tuple(keep),
                   missing_secret=tuple(k for k in lost if k in keep))


def _with_descendants(key: str, state: dict[str, Live]) -> list[str]:
    """``key`` and every live resource below it, except memberships of a deleted user (console only)."""
    doomed = [key]
    for lv in state.values():
        spec: Spec = lv.spec
        if spec.kind is Kind.MEMBER and key.startswith(f"{Kind.USER}/"):
            continue
        if key in spec.parents():
            doomed += _with_descendants(lv.key, state)
    return doomed

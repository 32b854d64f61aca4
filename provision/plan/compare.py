"""How the planner compares one declared spec with its live twin: lists as sets, intended change or drift,
and which lost secrets stay behind. Pure: no I/O, no SDK, no output library."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from provision.desired.kinds import Spec
from provision.desired.resources import AccessKeysSpec, ApiKeySpec


def norm(value: Any) -> Any:
    """Lists compare as sets: the cloud does not keep their order."""
    return tuple(sorted(value, key=repr)) if isinstance(value, tuple) else value


def field_reason(last: Spec | None, changed: Sequence[tuple[str, Any]]) -> tuple[str, bool]:
    """Why the ``(field, desired value)`` pairs differ from live: "drift: f" where the desired value is what
    the tool last applied (``last``), "update: f" where the manifest changed, "differs: f" with no record;
    and whether any field drifted."""
    names = [name for name, _ in changed]
    if last is None:
        return f"differs: {', '.join(names)}", False
    drifted = [name for name, after in changed if norm(getattr(last, name)) == norm(after)]
    intended = [n for n in names if n not in drifted]
    parts = ([f"drift: {', '.join(drifted)}"] if drifted else []) + (
        [f"update: {', '.join(intended)}"] if intended else [])
    return "; ".join(parts), bool(drifted)


def missing_secrets(live: Spec, desired: Spec) -> tuple[str, ...]:
    """The cloud ids of the managed keys that stay and whose secret the sink lacks. Extra AccessKeys are
    deleted lost-secret first, so those need no rotation."""
    if isinstance(live, AccessKeysSpec) and live.missing_secret:
        wanted = desired.count if isinstance(desired, AccessKeysSpec) else None
        extras = max(0, len(live.key_ids) - wanted) if wanted is not None else 0
        return live.missing_secret[extras:]
    if isinstance(live, ApiKeySpec) and live.missing_secret:
        return (live.api_key_id or "",)
    return ()


def lost_secret(live: Spec, desired: Spec, ids: Sequence[str] | None = None) -> str:
    """Which managed keys that stay (of ``ids``, default all) have no secret in the sink ("secret of LTAI…
    missing from the secrets sink"), or ""."""
    kept = [i for i in missing_secrets(live, desired) if ids is None or i in ids]
    if not kept:
        return ""
    if isinstance(live, ApiKeySpec):
        return f"secret of API key {live.name} missing from the secrets sink"
    return f"secret of {', '.join(kept)} missing from the secrets sink"


def dead_in_sink(live: Spec) -> str:
    """Why apply touches a user's keys when the secrets sink holds keys the cloud no longer lists (deleted
    outside provision): the sink forgets them, and its default pair moves to a live key; or ""."""
    if isinstance(live, AccessKeysSpec) and live.dead_in_sink:
        return f"the secrets sink forgets {', '.join(live.dead_in_sink)}: deleted outside provision"
    return ""

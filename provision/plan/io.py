"""The plan file: a Plan as JSON-safe data and back, and a fingerprint of the live state it was made against.

The JSON form is the source the text and markdown views render from, and what ``apply`` reads from a saved
plan; ``live_fingerprint`` lets apply refuse a plan made against a live state that has since changed.
No field whose name suggests a secret is ever written (there should be none; this module enforces it).
"""

from __future__ import annotations

import hashlib
import json
import re
import types
import typing
from collections.abc import Sequence
from dataclasses import asdict, fields, is_dataclass, replace
from typing import Any

from provision.desired.kinds import Kind, Spec
from provision.desired.live import Live, MemberFacts, Proof
from provision.desired.spec_types import SPEC_TYPES
from provision.plan.changes import Action, Change, FieldChange, Plan, Refusal

FORMAT_VERSION = 1
_SECRET_NAME = re.compile(r"secret|password|token|value", re.IGNORECASE)
# Spec fields whose name trips the secret-name guard but hold no secret (flags, key ids): written under
# another name, so the guard stays a plain rule a reviewer (or a scanner of plan files) can check.
_WIRE_NAMES = {"missing_secret": "needs_rotation", "password_reset_required": "reset_required_at_login"}
_SPEC_NAMES = {wire: name for name, wire in _WIRE_NAMES.items()}

Json = dict[str, Any]


def plan_to_dict(plan: Plan) -> Json:
    """The plan as JSON-safe data: format version, context, changes, warnings and summary counts."""
    return {
        "format_version": FORMAT_VERSION,
        "manifest": plan.manifest,
        "live_fingerprint": plan.live_fingerprint,
        "changes": [_change_to_dict(c) for c in plan.changes],
        "warnings": list(plan.warnings),
        "unmanaged": list(plan.unmanaged),
        "undelivered": list(plan.undelivered),
        "summary": asdict(plan.summary()),
    }


def plan_from_dict(data: Json) -> Plan:
    """Rebuild a Plan written by :func:`plan_to_dict` (specs typed again, tuples and zones restored)."""
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(f"plan file format {version!r} is not supported (expected {FORMAT_VERSION})")
    return Plan(
        changes=[_change_from_dict(c) for c in data["changes"]],
        warnings=list(data["warnings"]),
        unmanaged=list(data["unmanaged"]),
        undelivered=list(data.get("undelivered", [])),
        manifest=data["manifest"],
        live_fingerprint=data["live_fingerprint"],
    )


def live_fingerprint(live: Sequence[Live]) -> str:
    """sha256 of a canonical JSON of the live resources, independent of their order."""
    items = sorted(json.dumps(_live_to_dict(lv), sort_keys=True, separators=(",", ":")) for lv in live)
    return "sha256:" + hashlib.sha256("\n".join(items).encode()).hexdigest()


# --- changes ------------------------------------------------------------------------------------------


def _change_to_dict(change: Change) -> Json:
    return {
        "key": change.key,
        "kind": change.kind,
        "action": change.action.value,
        "reason": change.reason,
        "drift": change.drift,
        "rotate": change.rotate,
        "expired": change.expired,
        "refusal": change.refusal.value if change.refusal is not None else None,
        "fields": [
            {"field": f.field, "before": _encode(f.before), "after": _encode(f.after)}
            for f in change.fields
            if _allowed(_wire_name(f.field))
        ],
        "cascade": list(change.cascade),
        "desired": _spec_to_dict(change.desired) if change.desired is not None else None,
        "live": _live_to_dict(change.live) if change.live is not None else None,
    }


def _change_from_dict(data: Json) -> Change:
    spec_type = SPEC_TYPES[Kind(data["kind"])]
    hints = _hints(spec_type)
    return Change(
        key=data["key"],
        action=Action(data["action"]),
        reason=data["reason"],
        desired=_spec_from_dict(data["desired"]) if data["desired"] is not None else None,
        live=_live_from_dict(data["live"]) if data["live"] is not None else None,
        fields=tuple(_field_from_dict(hints, f) for f in data["fields"]),
        drift=data["drift"],
        cascade=tuple(data["cascade"]),
        rotate=data.get("rotate", False),  # absent from plans saved before --rotate-missing-secrets
        expired=data.get("expired", ""),  # absent from plans saved before withheld access was listed
        refusal=Refusal(data["refusal"]) if data.get("refusal") else None,
    )


def _field_from_dict(hints: dict[str, Any], data: Json) -> FieldChange:
    hint = hints.get(data["field"], Any)
    return FieldChange(data["field"], _decode(hint, data["before"]), _decode(hint, data["after"]))


def _live_to_dict(live: Live) -> Json:
    return {
        "managed": live.managed,
        "cloud_id": live.cloud_id,
        "cascade": list(live.cascade),
        "member": asdict(live.member) if live.member is not None else None,
        "duplicates": live.duplicates,
        "spec": _spec_to_dict(live.spec),
    }


def _live_from_dict(data: Json) -> Live:
    member = data.get("member")  # absent from plans saved before memberships were typed
    return Live(
        spec=_typed_details(_spec_from_dict(data["spec"]), data.get("details", ())),
        managed=data["managed"],
        cloud_id=data["cloud_id"],
        cascade=tuple(data.get("cascade", ())),  # absent from plans saved before providers described it
        member=MemberFacts(**{**member, "proven_by": Proof(member["proven_by"])}) if member else None,
        duplicates=int(data.get("duplicates", 0)),
    )


def _typed_details(spec: Spec, details: Sequence[Sequence[str]]) -> Spec:
    """A plan saved before a live resource's read-only facts were typed carried them as ``details``, string
    pairs (a user's ``groups`` comma-joined): each one its spec has a field for fills that field; a name
    suggesting a secret is never read."""
    names = {f.name for f in fields(spec)}
    hints = _hints(type(spec))
    found: dict[str, Any] = {}
    for name, text in details:
        if name in names and _allowed(name):
            many = typing.get_origin(hints[name]) is tuple
            found[name] = tuple(v for v in text.split(",") if v) if many else text
    return replace(spec, **found) if found else spec


# --- specs --------------------------------------------------------------------------------------------


def _spec_to_dict(spec: Spec) -> Json:
    out: Json = {"kind": spec.kind.value}
    for f in fields(spec):
        name = _wire_name(f.name)
        if _allowed(name):
            out[name] = _encode(getattr(spec, f.name))
    return out


def _spec_from_dict(data: Json) -> Spec:
    spec_type = SPEC_TYPES[Kind(data["kind"])]
    hints = _hints(spec_type)
    values = {_SPEC_NAMES.get(k, k): v for k, v in data.items() if k != "kind"}
    return spec_type(**{name: _decode(hints[name], value) for name, value in values.items()})


def _wire_name(name: str) -> str:
    return _WIRE_NAMES.get(name, name)


def _allowed(name: str) -> bool:
    """False for a name that suggests a secret: such a field is never written."""
    return _SECRET_NAME.search(name) is None


def _encode(value: Any) -> Any:
    """Tuples become lists and nested dataclasses (Zone) objects; scalars pass through."""
    if isinstance(value, tuple):
        return [_encode(v) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in fields(value)}
    return value


def _decode(hint: Any, value: Any) -> Any:
    """The inverse of :func:`_encode`, guided by the spec field's type (``tuple[Zone, ...] | None``)."""
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return _decode(inner[0], value)
    if origin is tuple:
        return tuple(_decode(typing.get_args(hint)[0], v) for v in value)
    if isinstance(hint, type) and is_dataclass(hint):
        item_hints = _hints(hint)
        return hint(**{k: _decode(item_hints[k], v) for k, v in value.items()})
    return value


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def spec_to_dict(spec: Spec) -> Json:
    """One spec in the plan file's JSON form (the state file stores last-applied specs this way too)."""
    return _spec_to_dict(spec)


def spec_from_dict(data: Json) -> Spec:
    """The spec :func:`spec_to_dict` wrote."""
    return _spec_from_dict(data)

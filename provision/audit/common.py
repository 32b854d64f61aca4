"""What both clouds' audits share: cloud dates read and written, a key's age in days, and the drift entries a
plan's changes make (``collect.py`` builds the Alibaba access map with them, ``huawei.py`` the Huawei one)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from provision.audit.model import DriftEntry, FieldDiff
from provision.desired.kinds import Spec
from provision.desired.resources import ApiKeySpec
from provision.engine.flow import PlanResult
from provision.plan.diff import Action


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str | None) -> datetime | None:
    """A cloud date (``2026-01-01T00:00:00Z``), None when empty or unreadable."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def days_since(text: str | None, now: datetime) -> int | None:
    """Whole days from ``text`` to ``now`` (never negative); None when there is no date."""
    moment = parse_time(text)
    return max(0, int((now - moment).total_seconds() // 86400)) if moment else None


def drift_entries(result: PlanResult, expired: frozenset[str], applied: Mapping[str, Spec],
                  issued_to: Mapping[tuple[str, str], str]) -> Iterable[DriftEntry]:
    """Where the account differs from the manifest: declared fields that differ, access added by hand
    under a managed parent, top-level resources declared absent but present, and resources the tool
    applied that are gone. Expired users' leftovers are left to BAILIAN-007 and -012."""
    for change in result.plan.changes:
        if _owner(change.spec, issued_to) in expired:
            continue
        live_managed = change.live is not None and change.live.managed
        if change.action is Action.UPDATE and change.fields and live_managed:
            fields = tuple(FieldDiff(f.field, _text(f.before), _text(f.after)) for f in change.fields)
            yield DriftEntry(change.key, change.reason, fields, change.drift)
        elif change.action is Action.DELETE and change.desired is None:
            yield DriftEntry(change.key, f"in the account, not in the manifest ({change.reason})")
        elif change.action is Action.REFUSED and change.live is not None:
            yield DriftEntry(change.key, f"declared state: absent, still in the account ({change.reason})")
        elif change.action is Action.CREATE and change.key in applied:
            yield DriftEntry(change.key, "applied by provision earlier, now missing from the account",
                             drift=True)


def _owner(spec: Spec, issued_to: Mapping[tuple[str, str], str]) -> str | None:
    """The user a resource belongs to (an API key: the user it is issued to, by name when the live key
    does not say)."""
    if isinstance(spec, ApiKeySpec):
        return spec.issued_to or issued_to.get((spec.workspace, spec.key_name))
    return spec.holder()


def _text(value: Any) -> str:
    if value is None:
        return "(not set)"
    if isinstance(value, tuple | list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return repr(value) if isinstance(value, str) else str(value)

"""The one clock of plan, apply, verify and revoke: ``PROVISION_NOW`` when set, else the real UTC time.

``PROVISION_NOW`` (ISO-8601, e.g. ``2026-12-01T00:00:00Z``) is for reproducible runs and tests: expiry
(``expires_at``), revocation records and membership confirmations are all judged and stamped by it.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from provision.errors import ProvisionError

NOW_ENV = "PROVISION_NOW"


def now() -> datetime:
    """The current time as an aware UTC datetime: ``PROVISION_NOW`` if set, else the system clock."""
    raw = os.environ.get(NOW_ENV, "").strip()
    return parse_time(raw, NOW_ENV) if raw else datetime.now(UTC)


def parse_time(text: str, source: str) -> datetime:
    """An ISO-8601 time (``Z`` or an offset; naive means UTC) as an aware UTC datetime; the error names
    ``source`` (an option or a variable)."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ProvisionError(f"{source} {text!r}: expected an ISO-8601 time such as "
                             "2026-06-30T00:00:00Z") from None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def iso(moment: datetime) -> str:
    """``2026-12-01T00:00:00Z``: how records and the state file write a time."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

"""What the manifest asks for (:class:`Desired`: present, absent, adopted, expired and withheld specs) and
what the account says is wrong with a desired spec (:class:`SpecProblem`). Pure.
"""

from __future__ import annotations

from dataclasses import dataclass

from provision.desired.kinds import Spec
from provision.desired.resources import UserSpec


@dataclass(frozen=True)
class Desired:
    """What the manifest asks for: resources to be present, top-level ones declared absent, adoptions.

    ``absent`` holds top-level specs (user, policy, workspace, endpoint) declared ``state: absent``;
    deleting them needs ``--allow-destroy`` and is refused for ``protect``. An expired user stays in
    ``present`` stripped of every access (keys, login, policies, API keys): the diff revokes the rest.
    ``adopt`` holds keys of existing unmanaged resources the manifest takes under management.
    ``expired`` holds user names past ``expires_at`` (the plan gives them the reason "expired").
    ``manifest`` is the manifest's name: a resource whose marker names another manifest is not ours.
    ``withheld`` holds what the manifest declares for expired users (login, attachments, API keys issued
    to them, memberships): never created, removed when present, listed by the plan with the reason.
    """

    present: tuple[Spec, ...] = ()
    absent: tuple[Spec, ...] = ()
    adopt: frozenset[str] = frozenset()
    expired: frozenset[str] = frozenset()
    manifest: str = ""  # the manifest's name: written into ownership markers; others' resources are not ours
    withheld: tuple[Spec, ...] = ()

    def expiry(self, user: str) -> str:
        """When an expired user's access ended: ``alice expired at 2026-01-31T00:00:00Z``."""
        at = next((s.expires_at for s in self.present if isinstance(s, UserSpec) and s.user == user), None)
        return f"{user} expired at {at or '?'}"

    def revoked(self) -> dict[str, str]:
        """The users whose access the manifest takes away, and why: expired, or declared absent."""
        why = {user: self.expiry(user) for user in self.expired}
        why.update({s.user: f"{s.user} is declared absent" for s in self.absent if isinstance(s, UserSpec)})
        return why


@dataclass(frozen=True)
class SpecProblem:
    """What the account says is wrong with a desired spec (an unknown model, a vSwitch in another VPC).

    ``field`` and ``value`` name the offending spec field and value, so the manifest entry can be found.
    """

    key: str
    field: str
    value: str
    message: str

"""Console-only workspace memberships, for every cloud: a console checklist, a probe and confirmations.

Alibaba Cloud's workspace membership (guest/admin) and Huawei Cloud's ModelArts Studio roles have no
public API. A membership is live when an operator confirmed it (``provision membership confirm``) or, where
the cloud's probe proves it (``probe_proves``), when the member's own credentials from the secrets sink
pass the probe; a probe that says "not a member" overrules a confirmation. The probe cannot tell the role:
a probe-proven member carries the confirmed role, else the declared one, and says so in its details. A
membership the manifest no longer wants (an expired, absent or undeclared member) is kept in the state file
as a pending console removal once shown, because revoking the user's keys ends the probe: it stays listed
until ``membership confirm --removed`` or a probe disproves it. Each cloud's provider
(``providers/alibaba/membership.py``, ``providers/huawei/studio_roles.py``) adds its probe.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from provision.desired.kinds import Kind
from provision.desired.live import Live, MemberFacts, Proof
from provision.desired.model import Desired
from provision.desired.resources import MemberSpec, UserSpec, WorkspaceSpec
from provision.errors import ProvisionError
from provision.plan.checklist import manual_step
from provision.plan.diff import Action, Change, Plan
from provision.state.records import Confirmation
from provision.state.secrets import SecretSink
from provision.state.statefile import StateFile

ROLES = ("guest", "admin")


class Probe(StrEnum):
    MEMBER = "member"
    NOT_MEMBER = "not a member"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ProbeResult:
    outcome: Probe
    reason: str
    code: str = ""  # the cloud's error code when the probe call failed (verify diagnoses it)


def confirm_member(state: StateFile, workspace: str, user: str, role: str, by: str,
                   at: datetime | None = None) -> Confirmation:
    """Record an operator's confirmation that ``user`` is ``role`` in ``workspace`` (done in the console)."""
    if role not in ROLES:
        raise ProvisionError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if not by.strip():
        raise ProvisionError("say who confirms (--by NAME)")
    return state.confirm(workspace, user, role, by.strip(), at)


class ConsoleMembership:
    """Reads console-only memberships (probe, confirmations, pending removals); 'executing' one only yields
    its checklist item. A cloud gives its spec type (``spec``), its :meth:`probe`, and whether a passing
    probe proves the membership itself (``probe_proves``: on Alibaba Cloud it does; on Huawei Cloud it
    proves only the API-applied grant, so a Studio role is live only once confirmed, and the probe can only
    overrule a confirmation)."""

    kinds: tuple[Kind, ...] = (Kind.MEMBER,)
    spec: type[MemberSpec] = MemberSpec
    probe_proves: bool = True

    def __init__(self, sink: SecretSink, state: StateFile, workers: int = 8) -> None:
        self.sink = sink
        self.state = state
        self.workers = workers

    def read(self, desired: Desired) -> list[Live]:
        """Per declared member: the probe (ListPublishedAgent signed with the member's own key), else the
        confirmation. Members the manifest does not declare (any more) are listed too, for their removal
        step: confirmed ones, pending removals, and expired or absent users whose probe passes on a declared
        workspace; each is recorded as a pending removal until confirmed or disproven by the probe."""
        declared = [s for s in desired.present if isinstance(s, MemberSpec) and s.kind in self.kinds]
        named = {(s.workspace, s.user) for s in declared}
        leftovers = sorted(self._undeclared(desired) - named)
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            proven = list(pool.map(self._prove, declared))
            proven += pool.map(lambda pair: self._leftover(desired, *pair), leftovers)
        return [live for live in proven if live is not None]

    def _undeclared(self, desired: Desired) -> set[tuple[str, str]]:
        """(workspace, user) pairs that may hold a membership the manifest does not declare."""
        recorded = self.state.workspace_ids()
        found = {pair for pair in self.state.confirmations() if pair[0] in recorded}
        found |= set(self.state.pending_removals())
        # Only users losing their access are probed on every declared workspace: a probe is a use of the
        # member's key, and the audit's "unused key" finding must not be masked by the tool's own calls.
        workspaces = [s.workspace for s in desired.present if isinstance(s, WorkspaceSpec)]
        leaving = [*desired.expired, *(s.user for s in desired.absent if isinstance(s, UserSpec))]
        probed = [user for user in leaving if self.sink.access_keys(user)]
        return found | {(workspace, user) for workspace in workspaces for user in probed}

    def _prove(self, spec: MemberSpec) -> Live | None:
        confirmation = self.state.confirmation(spec.workspace, spec.user)
        result = self.probe(spec.workspace, spec.user)
        if result.outcome is Probe.MEMBER and self.probe_proves:
            role = confirmation.role if confirmation else spec.role
            note = "as confirmed" if confirmation else "as declared: the probe cannot tell guest from admin"
            return Live(self.spec(workspace=spec.workspace, user=spec.user, role=role), managed=True,
                        member=MemberFacts(Proof.PROBE, probe=result.reason, role=note))
        if result.outcome is not Probe.NOT_MEMBER and confirmation is not None:
            live = self.spec(workspace=spec.workspace, user=spec.user, role=confirmation.role)
            seen = result.reason if result.outcome is Probe.MEMBER else f"unknown: {result.reason}"
            return Live(live, managed=True, member=_confirmed(confirmation, seen))
        return None  # not a member (the probe overrides a stale confirmation), or nothing proves it

    def _leftover(self, desired: Desired, workspace: str, user: str) -> Live | None:
        """A membership the manifest does not declare, as the probe, a confirmation or a pending removal
        shows it; a shown one is recorded as a pending removal (it must survive the user's keys), one the
        probe disproves is cleared."""
        result = self.probe(workspace, user)
        if result.outcome is Probe.NOT_MEMBER:
            self.state.clear_removal(workspace, user)
            return None  # the probe wins over a stale confirmation or pending removal
        confirmation = self.state.confirmation(workspace, user)
        spec = self.spec(workspace=workspace, user=user, role=confirmation.role if confirmation else None)
        pending = self.state.pending_removal(workspace, user)
        if result.outcome is Probe.MEMBER and self.probe_proves:
            live = Live(spec, managed=True, member=MemberFacts(Proof.PROBE, probe=result.reason))
        elif confirmation is not None:
            live = Live(spec, managed=True, member=_confirmed(confirmation, f"unknown: {result.reason}"))
        elif pending is not None:
            asked = f"{pending.why}; pending since {pending.since}"
            facts = MemberFacts(Proof.PENDING, probe=f"unknown: {result.reason}", pending=asked)
            live = Live(spec, managed=True, member=facts)
        else:
            return None
        self.state.record_removal(workspace, user, _removal_reason(desired, user))
        return live

    def overruled(self, workspace: str, user: str, *, member: bool) -> str | None:
        """What the probe says when it contradicts an operator's word that ``user`` is (``member``) or is
        no longer a member of ``workspace``; None when it agrees or cannot tell (no AccessKey, no policy)."""
        result = self.probe(workspace, user)
        if member and result.outcome is Probe.NOT_MEMBER:
            return (f"the probe with {user}'s AccessKey says not a member ({result.code}), and the probe "
                    "wins; check the console")
        if not member and result.outcome is Probe.MEMBER:
            return (f"the probe with {user}'s AccessKey says {user} is still a member of workspace "
                    f"{workspace} ({result.reason}), and the probe wins: remove it in the console first")
        return None

    def probe(self, workspace: str, user: str) -> ProbeResult:
        """Whether ``user`` reaches ``workspace``, asked with its own credentials (each cloud's call)."""
        raise NotImplementedError

    def execute(self, change: Change) -> str:
        """Never calls an API: returns the console checklist step for the change, as one line."""
        if change.action is not Action.MANUAL:
            raise ProvisionError(f"{change.key}: membership has no API; only manual steps exist")
        spec = change.spec_as(MemberSpec)
        return manual_step(change, self.state.workspace_id(spec.workspace)).line()


def membership_of(providers: Mapping[Kind, object]) -> ConsoleMembership:
    """The console-membership provider among a cloud's providers."""
    found = next((p for p in providers.values() if isinstance(p, ConsoleMembership)), None)
    if found is None:
        raise ProvisionError("this cloud has no console-only memberships")
    return found


def overruled_confirmations(plan: Plan, provider: ConsoleMembership) -> dict[str, str]:
    """Change key → why a console step a plan still lists was confirmed in vain (the probe disagrees)."""
    notes: dict[str, str] = {}
    for change in plan.manual:
        spec = change.spec
        if change.desired is None or not isinstance(spec, MemberSpec):
            continue
        c = provider.state.confirmation(spec.workspace, spec.user)
        overruled = provider.overruled(spec.workspace, spec.user, member=True) if c is not None else None
        if c is not None and overruled is not None:
            confirmed = f"confirmed as {c.role} by {c.confirmed_by} at {c.confirmed_at}"
            notes[change.key] = f"{confirmed}, but {overruled}"
    return notes


def _removal_reason(desired: Desired, user: str) -> str:
    """Why a membership the manifest does not declare is to be removed (kept with the pending removal)."""
    if user in desired.expired:
        return f"expired: {desired.expiry(user)}"
    if any(isinstance(s, UserSpec) and s.user == user for s in desired.absent):
        return f"{user} is declared state: absent"
    return "not declared a member"


def _confirmed(confirmation: Confirmation, probe: str) -> MemberFacts:
    c = confirmation
    return MemberFacts(Proof.CONFIRMATION, probe=probe,
                       confirmed=f"{c.role} by {c.confirmed_by} at {c.confirmed_at}")

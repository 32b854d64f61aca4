"""Workspace membership (guest/admin): no public API, so a console checklist, a probe and confirmations.

A membership is proven live when the member's own AccessKey (from the secrets sink) can call bailian
``ListPublishedAgent`` on the workspace, or when an operator confirmed it (``provision membership confirm``).
The probe cannot tell guest from admin: a probe-proven member carries the confirmed role, else the
declared one, and says so in its details. A membership the manifest no longer wants (an expired, absent or
undeclared member) is kept in the state file as a pending console removal once shown, because revoking the
user's keys ends the probe: it stays listed until ``membership confirm --removed`` or a probe disproves it.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from alibabacloud_bailian20231229 import models as bailian

from provision.desired.resources import (
    Desired,
    Kind,
    Live,
    MemberFacts,
    MemberSpec,
    Proof,
    UserSpec,
    WorkspaceSpec,
)
from provision.errors import ProvisionError
from provision.plan.checklist import manual_step
from provision.plan.diff import Action, Change, Plan
from provision.providers.alibaba.base import Clients
from provision.providers.alibaba.calls import CallError
from provision.providers.alibaba.modelstudio import find_workspaces
from provision.providers.lookup import provider_of
from provision.state.secrets import SecretSink
from provision.state.statefile import Confirmation, StateFile

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


class MembershipProvider:
    """Reads memberships (probe, confirmations, pending removals); 'executing' one only yields its checklist
    item."""

    kinds: tuple[Kind, ...] = (Kind.MEMBER,)

    def __init__(self, clients: Clients, sink: SecretSink, state: StateFile, workers: int = 8) -> None:
        self.clients = clients
        self.sink = sink
        self.state = state
        self.workers = workers

    def read(self, desired: Desired) -> list[Live]:
        """Per declared member: the probe (ListPublishedAgent signed with the member's own key), else the
        confirmation. Members the manifest does not declare (any more) are listed too, for their removal
        step: confirmed ones, pending removals, and expired or absent users whose probe passes on a declared
        workspace; each is recorded as a pending removal until confirmed or disproven by the probe."""
        declared = [s for s in desired.present if isinstance(s, MemberSpec)]
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
        if result.outcome is Probe.MEMBER:
            role = confirmation.role if confirmation else spec.role
            note = "as confirmed" if confirmation else "as declared: the probe cannot tell guest from admin"
            return Live(MemberSpec(workspace=spec.workspace, user=spec.user, role=role), managed=True,
                        member=MemberFacts(Proof.PROBE, probe=result.reason, role=note))
        if result.outcome is Probe.UNKNOWN and confirmation is not None:
            live = MemberSpec(workspace=spec.workspace, user=spec.user, role=confirmation.role)
            return Live(live, managed=True, member=_confirmed(confirmation, result))
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
        spec = MemberSpec(workspace=workspace, user=user, role=confirmation.role if confirmation else None)
        pending = self.state.pending_removal(workspace, user)
        if result.outcome is Probe.MEMBER:
            live = Live(spec, managed=True, member=MemberFacts(Proof.PROBE, probe=result.reason))
        elif confirmation is not None:
            live = Live(spec, managed=True, member=_confirmed(confirmation, result))
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
        """Call bailian ListPublishedAgent on the workspace with ``user``'s own AccessKey from the sink."""
        keys = self.sink.access_keys(user)
        if not keys:
            return ProbeResult(Probe.UNKNOWN, f"no AccessKey of {user} in the secrets sink")
        workspace_id = self.state.workspace_id(workspace)
        if workspace_id is None:
            found = find_workspaces(self.clients, workspace)
            if not found:
                return ProbeResult(Probe.UNKNOWN, f"workspace {workspace} not found")
            workspace_id = str(found[0].workspace_id)
        access_key_id, secret = sorted(keys.items())[0]
        as_member = self.clients.for_access_key(access_key_id, secret)
        request = bailian.ListPublishedAgentRequest(page_no=1, page_size=1)
        try:
            as_member.call(f"{Kind.MEMBER}/{workspace}/{user}", "ListPublishedAgent",
                           lambda: as_member.bailian().list_published_agent(workspace_id, request))
        except CallError as err:
            if err.code == "Workspace.AccessDenied":
                return ProbeResult(Probe.NOT_MEMBER, f"{err.code} for {user}'s AccessKey", err.code)
            return ProbeResult(Probe.UNKNOWN, f"the probe failed with {err.code}", err.code)
        return ProbeResult(Probe.MEMBER, f"ListPublishedAgent succeeded with {user}'s AccessKey")

    def execute(self, change: Change) -> str:
        """Never calls an API: returns the console checklist step for the change, as one line."""
        if change.action is not Action.MANUAL:
            raise ProvisionError(f"{change.key}: membership has no API; only manual steps exist")
        spec = change.spec
        assert isinstance(spec, MemberSpec)
        return manual_step(change, self.state.workspace_id(spec.workspace)).line()


def membership_of(providers: Mapping[Kind, object]) -> MembershipProvider:
    """The membership provider among the providers ``build_providers`` made."""
    return provider_of(providers, Kind.MEMBER, MembershipProvider)


def overruled_confirmations(plan: Plan, provider: MembershipProvider) -> dict[str, str]:
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


def _confirmed(confirmation: Confirmation, probe: ProbeResult) -> MemberFacts:
    c = confirmation
    return MemberFacts(Proof.CONFIRMATION, probe=f"unknown: {probe.reason}",
                       confirmed=f"{c.role} by {c.confirmed_by} at {c.confirmed_at}")

"""Workspace membership (guest/admin): no public API, so a console checklist, a probe and confirmations.

A membership is proven live when the member's own AccessKey (from the secrets sink) can call bailian
``ListPublishedAgent`` on the workspace, or when an operator confirmed it (``provision membership confirm``).
The probe cannot tell guest from admin: a probe-proven member carries the confirmed role, else the
declared one, and says so in its details.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from alibabacloud_bailian20231229 import models as bailian

from provision.checklist import manual_step
from provision.errors import ProvisionError
from provision.plan import DETAIL_PROVEN, Action, Change
from provision.providers.base import Clients
from provision.providers.calls import CallError
from provision.providers.modelstudio import find_workspaces
from provision.resources import Desired, Kind, Live, MemberSpec
from provision.secrets import SecretSink
from provision.statefile import Confirmation, StateFile

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
    """Reads memberships (probe, confirmations); 'executing' one only yields its checklist item."""

    kinds: tuple[Kind, ...] = (Kind.MEMBER,)

    def __init__(self, clients: Clients, sink: SecretSink, state: StateFile, workers: int = 8) -> None:
        self.clients = clients
        self.sink = sink
        self.state = state
        self.workers = workers

    def read(self, desired: Desired) -> list[Live]:
        """Per declared member: the probe (ListPublishedAgent signed with the member's own key), else the
        confirmation; confirmed members no longer declared are listed too (for the removal step)."""
        declared = [s for s in desired.present if isinstance(s, MemberSpec)]
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            proven = [live for live in pool.map(self._prove, declared) if live is not None]
        named = {(s.workspace, s.user) for s in declared}
        recorded = self.state.workspace_ids()
        for (workspace, user), confirmation in sorted(self.state.confirmations().items()):
            if (workspace, user) not in named and workspace in recorded:
                spec = MemberSpec(workspace=workspace, user=user, role=confirmation.role)
                proven.append(Live(spec, managed=True, details=_confirmed(confirmation)))
        return proven

    def _prove(self, spec: MemberSpec) -> Live | None:
        confirmation = self.state.confirmation(spec.workspace, spec.user)
        result = self.probe(spec.workspace, spec.user)
        if result.outcome is Probe.MEMBER:
            role = confirmation.role if confirmation else spec.role
            note = "as confirmed" if confirmation else "as declared: the probe cannot tell guest from admin"
            return Live(MemberSpec(workspace=spec.workspace, user=spec.user, role=role), managed=True,
                        details=((DETAIL_PROVEN, "probe"), ("probe", result.reason), ("role", note)))
        if result.outcome is Probe.UNKNOWN and confirmation is not None:
            live = MemberSpec(workspace=spec.workspace, user=spec.user, role=confirmation.role)
            return Live(live, managed=True,
                        details=(*_confirmed(confirmation), ("probe", f"unknown: {result.reason}")))
        return None  # not a member (the probe overrides a stale confirmation), or nothing proves it

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


def _confirmed(confirmation: Confirmation) -> tuple[tuple[str, str], ...]:
    c = confirmation
    return ((DETAIL_PROVEN, "confirmation"),
            ("confirmed", f"{c.role} by {c.confirmed_by} at {c.confirmed_at}"))

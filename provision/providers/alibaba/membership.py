"""Workspace membership (guest/admin): no public API, so a console checklist, a probe and confirmations
(the rules of every cloud: ``providers/membership.py``).

A membership is proven live when the member's own AccessKey (from the secrets sink) can call bailian
``ListPublishedAgent`` on the workspace, or when an operator confirmed it (``provision membership confirm``).
The probe cannot tell guest from admin: a probe-proven member carries the confirmed role, else the
declared one, and says so in its details. A membership the manifest no longer wants (an expired, absent or
undeclared member) is kept in the state file as a pending console removal once shown, because revoking the
user's keys ends the probe: it stays listed until ``membership confirm --removed`` or a probe disproves it.
"""

from __future__ import annotations

from alibabacloud_bailian20231229 import models as bailian

from provision.desired.kinds import Kind
from provision.providers.alibaba.base import Clients
from provision.providers.alibaba.calls import CallError
from provision.providers.alibaba.modelstudio import find_workspaces
from provision.providers.membership import (
    ROLES,
    ConsoleMembership,
    Probe,
    ProbeResult,
    confirm_member,
    membership_of,
    overruled_confirmations,
)
from provision.state.secrets import SecretSink
from provision.state.statefile import StateFile

__all__ = ["ROLES", "MembershipProvider", "Probe", "ProbeResult", "confirm_member", "membership_of",
           "overruled_confirmations"]


class MembershipProvider(ConsoleMembership):
    """Workspace memberships, proven by the member's own AccessKey calling bailian ``ListPublishedAgent``."""

    def __init__(self, clients: Clients, sink: SecretSink, state: StateFile, workers: int = 8) -> None:
        super().__init__(sink, state, workers)
        self.clients = clients

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

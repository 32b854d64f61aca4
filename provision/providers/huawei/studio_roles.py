"""ModelArts Studio roles (a ``members`` entry's ``role``): no API, so console steps with the checklist,
``membership confirm`` and probe of every cloud (``providers/membership.py``). The member's access to the
workspace is its INTERNAL grant, applied by API (``workspaces.py``).

The probe asks ModelArts ``validate_authorization`` on the workspace, signed with the member's own AK/SK
from the secrets sink, for ``modelarts:workspace:get``: "allow" means the member reaches the workspace; a
"deny" is "not a member" only when the workspace's grants (read with the tool's key) do not list the user
(else its identity policies refused the action: unknown). Reaching the workspace says nothing of the Studio
role, so a role is live only once confirmed (``probe_proves`` is off); the probe can overrule a confirmation.
"""

from __future__ import annotations

from huaweicloudsdkmodelarts.v1 import (
    AuthRequests,
    ValidateAuthorizationRequest,
    ValidateAuthorizationRequestBody,
)

from provision.desired.huawei import StudioRoleSpec
from provision.desired.kinds import Kind
from provision.providers.huawei.clients import HuaweiCallError, HuaweiClients
from provision.providers.huawei.read_modelarts import read_workspace, read_workspaces
from provision.providers.membership import ConsoleMembership, Probe, ProbeResult
from provision.state.secrets import SecretSink
from provision.state.statefile import StateFile

PROBE_ACTION = "modelarts:workspace:get"


class StudioRoleProvider(ConsoleMembership):
    """Studio roles: confirmed by an operator, overruled by the probe when the member cannot reach the
    workspace."""

    kinds: tuple[Kind, ...] = (Kind.STUDIO_ROLE,)
    spec = StudioRoleSpec
    probe_proves = False

    def __init__(self, clients: HuaweiClients, sink: SecretSink, state: StateFile, workers: int = 8) -> None:
        super().__init__(sink, state, workers)
        self.clients = clients

    def probe(self, workspace: str, user: str) -> ProbeResult:
        """``validate_authorization`` on the workspace with ``user``'s own AK/SK from the sink."""
        keys = self.sink.access_keys(user)
        if not keys:
            return ProbeResult(Probe.UNKNOWN, f"no access key of {user} in the secrets sink")
        workspace_id = self.state.workspace_id(workspace) or next(
            (w.workspace_id for w in read_workspaces(self.clients) if w.name == workspace), None)
        if workspace_id is None:
            return ProbeResult(Probe.UNKNOWN, f"workspace {workspace} not found")
        access_key_id, secret = sorted(keys.items())[0]
        as_member = self.clients.for_key(access_key_id, secret)
        asked = [AuthRequests(action_id="probe", action=PROBE_ACTION)]
        body = ValidateAuthorizationRequestBody(requests=asked)
        try:
            answer = as_member.call(
                f"{Kind.STUDIO_ROLE}/{workspace}/{user}", "ValidateAuthorization",
                lambda: as_member.modelarts().validate_authorization(
                    ValidateAuthorizationRequest(workspace_id=workspace_id, body=body)))
        except HuaweiCallError as err:
            return ProbeResult(Probe.UNKNOWN, f"the probe failed with {err.code}", err.code)
        verdicts = [str(r.verdict).lower() for r in answer.results or ()]
        if verdicts == ["allow"]:
            return ProbeResult(Probe.MEMBER, f"validate_authorization allows {PROBE_ACTION} for {user}'s key")
        shown = read_workspace(self.clients, workspace_id)
        if shown is not None and not any(g.user_name == user for g in shown.grants):
            return ProbeResult(Probe.NOT_MEMBER, f"{user} is not granted on workspace {workspace}", "denied")
        return ProbeResult(Probe.UNKNOWN, f"validate_authorization denies {PROBE_ACTION} to {user}'s key, "
                                          "though the workspace grants it: check its identity policies")

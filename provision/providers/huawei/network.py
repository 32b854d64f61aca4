"""VPC endpoints to the MaaS endpoint services (VPCEP) and guardrails (Organizations SCPs).

An endpoint has no name of its own: the tool tags it ``provision-name=<name>`` besides its ownership tags,
and waits for it to be ``accepted``. Nothing of an endpoint can be changed in place: a change replaces it.
An SCP is created with ``${endpoint:NAME}`` replaced by the endpoint's id, attached to the delivery
account (the SCP policy type is enabled on the organization's root first), and read back with the ids
turned into references again, so a plan compares it with the manifest's document.
"""

from __future__ import annotations

import time
from functools import partial

from huaweicloudsdkorganizations.v1 import (
    AttachPolicyRequest,
    CreatePolicyReqBody,
    CreatePolicyRequest,
    DeletePolicyRequest,
    DetachPolicyRequest,
    EnablePolicyTypeRequest,
    ListRootsRequest,
    PolicyTachReqBody,
    PolicyTypeReqBody,
    UpdatePolicyReqBody,
    UpdatePolicyRequest,
)
from huaweicloudsdkvpcep.v1 import (
    CreateEndpointRequest,
    CreateEndpointRequestBody,
    DeleteEndpointRequest,
    TagList,
)

from provision.desired.huawei import ScpSpec, VpcepEndpointSpec, scp_content, scp_document
from provision.desired.kinds import Kind
from provision.desired.live import Live
from provision.desired.model import Desired
from provision.errors import ProvisionError
from provision.plan.diff import Action, Change
from provision.providers.common.markers import Owner
from provision.providers.common.policies import PollPolicy
from provision.providers.huawei.base import (
    TAG_NAME,
    WriteAhead,
    create,
    marked,
    owner_tags,
    removed,
    unmarked,
)
from provision.providers.huawei.clients import HuaweiClients
from provision.providers.huawei.read import VpcEndpoint, read_endpoints, read_scps
from provision.state.statefile import StateFile

SCP_TYPE = "service_control_policy"
READY = "accepted"
FAILED = ("failed", "rejected")
_SETTLING = ("deleting",)
_POLL = PollPolicy(timeout_s=300.0)


def endpoint_names(endpoints: tuple[VpcEndpoint, ...], manifest: str) -> dict[str, VpcEndpoint]:
    """The tool's endpoints of this manifest by their ``provision-name`` tag (endpoints being deleted left
    out)."""
    found = {}
    for e in endpoints:
        name = dict(e.tags).get(TAG_NAME)
        if name and e.status not in _SETTLING and Owner.from_tags(e.tags).ours(manifest):
            found[name] = e
    return found


class VpcepProvider:
    """VPC endpoints to MaaS endpoint services."""

    kinds: tuple[Kind, ...] = (Kind.VPCEP_ENDPOINT,)

    def __init__(self, clients: HuaweiClients, manifest: str, poll: PollPolicy = _POLL,
                 state: StateFile | None = None) -> None:
        self.clients = clients
        self.manifest = manifest
        self.state = state  # write-ahead intents of endpoint creates
        self.interval_s = poll.interval_s
        self.timeout_s = poll.timeout_s

    def read(self, desired: Desired) -> list[Live]:
        lives = []
        for name, e in endpoint_names(read_endpoints(self.clients), desired.manifest).items():
            lives.append(Live(VpcepEndpointSpec(
                endpoint=name, vpc_id=e.vpc_id, subnet_id=e.subnet_id or None, service_id=e.service_id,
                enable_dns=bool(e.domains), endpoint_id=e.endpoint_id,
                domain=e.domains[0] if e.domains else None, status=e.status), True, e.endpoint_id))
        return lives

    def execute(self, change: Change) -> str:
        spec = change.spec
        if not isinstance(spec, VpcepEndpointSpec):
            raise ProvisionError(f"{change.key}: not a VPC endpoint")
        old = change.live.cloud_id if change.live is not None else ""
        if change.action is Action.DELETE:
            return f"deleted VPC endpoint {spec.endpoint} ({self._delete(change.key, old)})"
        if change.action is Action.UPDATE:
            if change.live is not None and not change.live.managed:
                raise ProvisionError(f"{change.key}: a VPC endpoint cannot be adopted (its tags cannot be "
                                     "written): delete it, or leave it out of the manifest")
            self._delete(change.key, old)
            self._wait(change.key, old, gone=True)
        endpoint_id = self._create(change.key, spec)
        status = self._wait(change.key, endpoint_id)
        verb = "replaced" if change.action is Action.UPDATE else "created"
        return f"{verb} VPC endpoint {spec.endpoint} ({endpoint_id}, {status})"

    def _create(self, key: str, spec: VpcepEndpointSpec) -> str:
        tags = [TagList(key=k, value=v) for k, v in [*owner_tags(self.manifest), (TAG_NAME, spec.endpoint)]]
        body = CreateEndpointRequestBody(endpoint_service_id=spec.service_id, vpc_id=spec.vpc_id,
                                         subnet_id=spec.subnet_id, enable_dns=bool(spec.enable_dns),
                                         tags=tags,
                                         description=marked(f"provision endpoint {spec.endpoint}",
                                                            self.manifest))

        def find() -> str | None:
            mine = endpoint_names(read_endpoints(self.clients), self.manifest).get(spec.endpoint)
            return mine.endpoint_id if mine is not None else None

        ahead: WriteAhead[str] | None = None if self.state is None else WriteAhead(
            self.state, Kind.VPCEP_ENDPOINT, spec.endpoint, lambda _: None,  # tagged by the create itself
            owner=self.manifest)
        return create(self.clients, key, "CreateEndpoint", lambda: str(
            self.clients.vpcep().create_endpoint(CreateEndpointRequest(body=body)).id), find, ahead)

    def _delete(self, key: str, endpoint_id: str) -> str:
        return removed(self.clients, key, "DeleteEndpoint", lambda: self.clients.vpcep().delete_endpoint(
            DeleteEndpointRequest(vpc_endpoint_id=endpoint_id)))

    def _wait(self, key: str, endpoint_id: str, *, gone: bool = False) -> str:
        """Poll until the endpoint is accepted (or, with ``gone``, no longer listed)."""
        deadline = time.monotonic() + self.timeout_s
        while True:
            found = next((e for e in read_endpoints(self.clients) if e.endpoint_id == endpoint_id), None)
            if gone and found is None:
                return "gone"
            if found is not None and not gone:
                if found.status == READY:
                    return found.status
                if found.status in FAILED:
                    raise ProvisionError(f"{key}: the endpoint {endpoint_id} is {found.status}: check the "
                                         "endpoint service (its whitelist, your application for it)")
            if time.monotonic() > deadline:
                raise ProvisionError(f"{key}: endpoint {endpoint_id} still not "
                                     f"{'gone' if gone else READY} after {self.timeout_s:.0f} s: "
                                     "re-run apply")
            time.sleep(self.interval_s)


class ScpProvider:
    """Guardrails: SCPs attached to the delivery account."""

    kinds: tuple[Kind, ...] = (Kind.SCP,)

    def __init__(self, clients: HuaweiClients, manifest: str) -> None:
        self.clients = clients
        self.manifest = manifest

    def _endpoint_ids(self) -> dict[str, str]:
        return {name: e.endpoint_id for name, e in endpoint_names(read_endpoints(self.clients),
                                                                   self.manifest).items()}

    def read(self, desired: Desired) -> list[Live]:
        names = {s.policy for s in (*desired.present, *desired.absent) if isinstance(s, ScpSpec)}
        scps = [s for s in read_scps(self.clients) if not s.builtin]
        if not scps:
            return []
        ids = self._endpoint_ids()
        account = self.clients.domain_id
        lives = []
        for scp in scps:
            description, owner = unmarked(scp.description)
            managed = owner.ours(desired.manifest)
            if scp.name not in names and not managed:
                continue
            attached = any(a.entity_id == account for a in scp.attachments)
            lives.append(Live(ScpSpec(policy=scp.name, document=scp_document(scp.content, ids),
                                      description=description or None, attached=attached), managed,
                              scp.policy_id))
        return lives

    def execute(self, change: Change) -> str:
        spec = change.spec
        if not isinstance(spec, ScpSpec):
            raise ProvisionError(f"{change.key}: not a guardrail")
        orgs = self.clients.organizations
        account = self.clients.domain_id
        if change.action is Action.DELETE:
            policy_id = change.live.cloud_id if change.live is not None else ""
            removed(self.clients, change.key, "DetachPolicy", lambda: orgs().detach_policy(
                DetachPolicyRequest(policy_id=policy_id, body=PolicyTachReqBody(entity_id=account))))
            result = removed(self.clients, change.key, "DeletePolicy",
                             lambda: orgs().delete_policy(DeletePolicyRequest(policy_id=policy_id)))
            return f"deleted guardrail {spec.policy} ({result})"
        content = scp_content(spec.document or "", self._endpoint_ids())
        unresolved = [name for name in spec.endpoints if f"${{endpoint:{name}}}" in content]
        if unresolved:
            raise ProvisionError(f"{change.key}: the document names endpoint(s) {', '.join(unresolved)} "
                                 "that do "
                                 "not exist yet: declare them under endpoints")
        description = marked(spec.description, self.manifest)
        if change.action is Action.CREATE:
            self._enable_scps()
            body = CreatePolicyReqBody(name=spec.policy, description=description, type=SCP_TYPE,
                                       content=content)

            def find() -> str | None:
                return next((s.policy_id for s in read_scps(self.clients) if s.name == spec.policy), None)

            policy_id = create(self.clients, change.key, "CreatePolicy", lambda: str(
                orgs().create_policy(CreatePolicyRequest(body=body)).policy.policy_summary.id), find)
        else:
            policy_id = change.live.cloud_id if change.live is not None else ""
            body_u = UpdatePolicyReqBody(content=content, description=description)
            self.clients.call(change.key, "UpdatePolicy", lambda: orgs().update_policy(
                UpdatePolicyRequest(policy_id=policy_id, body=body_u)))
        live = change.live.spec if change.live is not None else None
        if not (isinstance(live, ScpSpec) and live.attached):
            create(self.clients, change.key, "AttachPolicy", lambda: orgs().attach_policy(
                AttachPolicyRequest(policy_id=policy_id,
                                    body=PolicyTachReqBody(entity_id=account))), lambda: True)
        verb = "created and attached" if change.action is Action.CREATE else "updated"
        return f"{verb} guardrail {spec.policy} ({policy_id}) on account {account}"

    def _enable_scps(self) -> None:
        """SCPs take effect only once their policy type is enabled on the organization's root."""
        orgs = self.clients.organizations
        roots = self.clients.call("organizations.root", "ListRoots",
                                  lambda: orgs().list_roots(ListRootsRequest())).roots or []
        for root in roots:
            enabled = any(t.type == SCP_TYPE and t.status == "enabled" for t in root.policy_types or [])
            if not enabled:
                body = PolicyTypeReqBody(policy_type=SCP_TYPE, root_id=str(root.id))
                create(self.clients, "organizations.root", "EnablePolicyType",
                       partial(orgs().enable_policy_type, EnablePolicyTypeRequest(body=body)), lambda: True)

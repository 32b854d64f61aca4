"""ModelArts workspaces (INTERNAL, marked in their description), their grants (the manifest's ``members``,
applied by API) and MaaS API keys (REST only, marked in their description; the secret goes to the sink).

Grants are one list on the workspace that ``update_workspace`` replaces whole: changes to one workspace's
grants are serialised (a lock per workspace), so concurrent applies never lose one.
MaaS keys cannot be changed: a changed whitelist (or owner, or a lost secret with rotation) replaces the key.
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict

from huaweicloudsdkmodelarts.v1 import (
    CreateWorkspaceReq,
    CreateWorkspaceRequest,
    DeleteWorkspaceRequest,
    UpdateWorkspaceReq,
    UpdateWorkspaceRequest,
    ViewWorkspaceResponseGrants,
)

from provision.desired.huawei import INTERNAL, MaasApiKeySpec, ModelArtsGrantSpec, ModelArtsWorkspaceSpec
from provision.desired.kinds import Kind
from provision.desired.live import Live
from provision.desired.model import Desired
from provision.errors import ProvisionError
from provision.plan.diff import Action, Change
from provision.providers.common.delete_steps import ALREADY_GONE, DONE, StepResult
from provision.providers.common.markers import KeyMarker, owns
from provision.providers.common.outcomes import Outcome
from provision.providers.huawei.base import WriteAhead, create, key_description, marked, removed, unmarked
from provision.providers.huawei.clients import HuaweiCallError, HuaweiClients
from provision.providers.huawei.iam import IamProvider
from provision.providers.huawei.read import ApiKey, Workspace, read_api_keys, read_workspace, read_workspaces
from provision.state.secrets import SecretSink, fingerprint
from provision.state.statefile import StateFile

_LABEL = re.compile(r"[^A-Za-z0-9_-]")
_GONE = ("DELETING",)


def label(workspace: str, key_name: str) -> str:
    """The key's MaaS label: unique per account, letters, digits, ``_`` and ``-``, at most 100."""
    return _LABEL.sub("_", f"{workspace}-{key_name}")[:100]


class WorkspaceProvider:
    """Workspaces, their grants and the MaaS API keys declared under them."""

    kinds: tuple[Kind, ...] = (Kind.MA_WORKSPACE, Kind.MA_GRANT, Kind.MAAS_API_KEY)

    def __init__(self, clients: HuaweiClients, sink: SecretSink, state: StateFile, iam: IamProvider,
                 manifest: str) -> None:
        self.clients = clients
        self.sink = sink
        self.state = state
        self.iam = iam
        self.manifest = manifest
        self._locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
        self._ids: dict[str, str] = {}

    # -- read --------------------------------------------------------------------------------------------
    def read(self, desired: Desired) -> list[Live]:
        names = {s.workspace for s in (*desired.present, *desired.absent)
                 if isinstance(s, ModelArtsWorkspaceSpec)}
        lives: list[Live] = []
        for ws in read_workspaces(self.clients):
            if ws.status in _GONE:
                continue
            description, owner = unmarked(ws.description)
            managed = owner.ours(desired.manifest)
            if ws.name not in names and not managed:
                continue
            self._ids[ws.name] = ws.workspace_id
            lives.append(Live(ModelArtsWorkspaceSpec(workspace=ws.name, workspace_id=ws.workspace_id,
                                                     auth_type=ws.visibility, description=description),
                              managed, ws.workspace_id))
            lives.extend(Live(ModelArtsGrantSpec(workspace=ws.name, user=g.user_name, user_id=g.user_id),
                              managed,
                              g.user_id) for g in ws.grants)
        lives.extend(self._keys(desired, names))
        return lives

    def _keys(self, desired: Desired, names: set[str]) -> list[Live]:
        lives = []
        for key in read_api_keys(self.clients):
            marker = KeyMarker.parse(key.description)
            if marker is None or marker.workspace not in names or not owns(desired.manifest, marker.manifest):
                continue
            workspace, key_name, issued_to = marker.workspace, marker.key_name, marker.issued_to
            held = self.sink.api_key(SecretSink.api_key_account(workspace, issued_to), workspace, key_name)
            lives.append(Live(MaasApiKeySpec(workspace=workspace, key_name=key_name,
                                             ip_allow_list=tuple(key.ip_whitelist), issued_to=issued_to,
                                             api_key_id=key.key_id,
                                             missing_secret=held is None or held[0] != key.key_id),
                              True, key.key_id))
        return lives

    # -- execute -----------------------------------------------------------------------------------------
    def execute(self, change: Change) -> str:
        spec = change.spec
        if isinstance(spec, ModelArtsWorkspaceSpec):
            return self._workspace(change, spec)
        if isinstance(spec, ModelArtsGrantSpec):
            return self._grant(change, spec)
        if isinstance(spec, MaasApiKeySpec):
            return self._key(change, spec)
        raise ProvisionError(f"{change.key}: not a ModelArts or MaaS resource")

    def workspace_id(self, name: str) -> str:
        known = self._ids.get(name) or self.state.workspace_id(name)
        if known:
            return known
        found = next((w for w in read_workspaces(self.clients) if w.name == name and w.status not in _GONE),
                     None)
        if found is None:
            raise ProvisionError(f"{Kind.MA_WORKSPACE}/{name}: no workspace of that name: re-run plan")
        self._ids[name] = found.workspace_id
        return found.workspace_id

    def _workspace(self, change: Change, spec: ModelArtsWorkspaceSpec) -> str:
        ma = self.clients.modelarts
        if change.action is Action.CREATE:
            body = CreateWorkspaceReq(name=spec.workspace, description=marked("", self.manifest),
                                      auth_type=spec.auth_type or INTERNAL, grants=[])

            def find() -> str | None:
                return next((w.workspace_id for w in read_workspaces(self.clients)
                             if w.name == spec.workspace and w.status not in _GONE), None)

            def record(made: str) -> None:  # the id is known from the answer (or the look) only
                self._ids[spec.workspace] = made
                self.state.record_workspace(spec.workspace, made)

            workspace_id = create(self.clients, change.key, "CreateWorkspace",
                                  lambda: str(ma().create_workspace(CreateWorkspaceRequest(body=body)).id),
                                  find, WriteAhead(self.state, Kind.MA_WORKSPACE, spec.workspace, record,
                                                   owner=self.manifest))
            return f"created workspace {spec.workspace} ({workspace_id}, {spec.auth_type or INTERNAL})"
        workspace_id = self.workspace_id(spec.workspace)
        if change.action is Action.UPDATE:
            adopt = change.live is not None and not change.live.managed
            live = change.live.spec if change.live is not None else None
            description = live.description if isinstance(live, ModelArtsWorkspaceSpec) else None
            body_u = UpdateWorkspaceReq(auth_type=spec.auth_type or INTERNAL,
                                        **({"description": marked(description or "",
                                                                  self.manifest)} if adopt else {}))
            with self._locks[spec.workspace]:
                self.clients.call(change.key, "UpdateWorkspace", lambda: ma().update_workspace(
                    UpdateWorkspaceRequest(workspace_id=workspace_id, body=body_u)))
            if adopt:
                self.state.record_workspace(spec.workspace, workspace_id)
            return f"{'adopted' if adopt else 'updated'} workspace {spec.workspace}"
        for key in read_api_keys(self.clients):
            marker = KeyMarker.parse(key.description)
            if marker is not None and marker.workspace == spec.workspace and owns(self.manifest,
                                                                                  marker.manifest):
                self._delete_key(change.key, key.key_id)
        result = removed(self.clients, change.key, "DeleteWorkspace",
                         lambda: ma().delete_workspace(DeleteWorkspaceRequest(workspace_id=workspace_id)))
        self.state.forget_workspace(spec.workspace)
        return f"deleted workspace {spec.workspace} ({result})"

    def _grant(self, change: Change, spec: ModelArtsGrantSpec) -> str:
        if change.action is Action.DELETE:
            if self.remove_grant(change.key, spec) is ALREADY_GONE:
                return f"{spec.user} was not granted workspace {spec.workspace} (already gone)"
            return f"removed the grant of {spec.user} on workspace {spec.workspace}"
        with self._locks[spec.workspace]:
            workspace_id, grants = self._grants(change.key, spec.workspace)
            user_id = self.iam.user_id(spec.user)
            if user_id in grants:
                return f"{spec.user} already granted workspace {spec.workspace}"
            self._set_grants(change.key, workspace_id, [*grants, user_id])
        return f"granted {spec.user} on workspace {spec.workspace}"

    def remove_grant(self, key: str, spec: ModelArtsGrantSpec) -> StepResult:
        """Take ``spec.user`` out of the workspace's grants: done, or already gone when it is not in them."""
        with self._locks[spec.workspace]:
            workspace_id, grants = self._grants(key, spec.workspace)
            user_id = spec.user_id or grants.get(spec.user, "")
            if user_id not in grants.values():
                return ALREADY_GONE
            self._set_grants(key, workspace_id, [u for u in grants.values() if u != user_id])
        return DONE

    def _grants(self, key: str, workspace: str) -> tuple[str, dict[str, str]]:
        """The workspace's id and its grants now (user name → user id)."""
        workspace_id = self.workspace_id(workspace)
        current = read_workspace(self.clients, workspace_id)
        if current is None:
            raise ProvisionError(f"{key}: workspace {workspace} is gone: re-run plan")
        return workspace_id, {g.user_name: g.user_id for g in current.grants}

    def _set_grants(self, key: str, workspace_id: str, user_ids: list[str]) -> None:
        body = UpdateWorkspaceReq(grants=[ViewWorkspaceResponseGrants(user_id=u) for u in user_ids])
        self.clients.call(key, "UpdateWorkspace", lambda: self.clients.modelarts().update_workspace(
            UpdateWorkspaceRequest(workspace_id=workspace_id, body=body)))

    def _key(self, change: Change, spec: MaasApiKeySpec) -> str:
        live = change.live.spec if change.live is not None else None
        old_id = live.api_key_id if isinstance(live, MaasApiKeySpec) else None
        account = SecretSink.api_key_account(spec.workspace, spec.issued_to)
        if change.action is Action.DELETE:
            key_id = old_id or change.live.cloud_id if change.live else ""
            result = self.delete_api_key(change.key, spec, key_id)
            return f"deleted API key {spec.name} ({result})"
        if old_id:  # an update replaces the key: MaaS keys cannot be changed
            self._delete_key(change.key, old_id)
            if isinstance(live, MaasApiKeySpec) and live.issued_to != spec.issued_to:
                self.sink.forget_api_key(SecretSink.api_key_account(spec.workspace, live.issued_to),
                                         spec.workspace, spec.key_name)
        key_id, value = self._create_key(change.key, spec, account)
        tag = fingerprint(value)
        return f"{'replaced' if old_id else 'created'} API key {spec.name} ({key_id}, secret {tag} " \
               "in " \
               f"the secrets sink of {account})"

    def _create_key(self, key: str, spec: MaasApiKeySpec, account: str) -> tuple[str, str]:
        """Create the key behind a write-ahead intent, its value to the sink first thing; if its label exists
        with our marker (a create whose answer was lost, so its secret was never seen) that key is deleted
        and created again."""
        whitelist = list(spec.ip_allow_list or ())
        body = {"label": label(spec.workspace, spec.key_name),
                "description": key_description(spec.workspace, spec.key_name, spec.issued_to, self.manifest),
                "allow_all": not whitelist, "ip_whitelist": whitelist}
        path = f"/v2/{self.clients.project_id}/maas/api-auth/api-keys"

        def call() -> tuple[str, str]:
            answer = self.clients.request(key, "CreateMaasApiKey", "modelarts", "POST", path, body)
            return str(answer["id"]), str(answer["api_key"])

        def find() -> tuple[str, str] | None:
            lost = next((k for k in read_api_keys(self.clients) if k.label == body["label"]
                         and KeyMarker.parse(k.description) is not None), None)
            if lost is None:
                return None
            self._delete_key(key, lost.key_id)
            return call()

        def record(made: tuple[str, str]) -> None:
            tag = self.sink.store_api_key(account, spec.workspace, spec.key_name, *made)
            self.state.record_secret(made[0], key, tag)

        return create(self.clients, key, "CreateMaasApiKey", call, find,
                      WriteAhead(self.state, Kind.MAAS_API_KEY, spec.name, record, owner=self.manifest))

    def delete_unheld(self, key: str, key_id: str) -> str:
        """Delete a MaaS key whose value nobody holds (gone = done); its secret record goes with it."""
        self._delete_key(key, key_id)
        self.state.forget_secret(key_id)
        return key_id

    def delete_api_key(self, key: str, spec: MaasApiKeySpec, key_id: str) -> StepResult:
        """Delete the MaaS key ``key_id`` and forget its value in the sink: done, or already gone."""
        result = self._delete_key(key, key_id)
        self.sink.forget_api_key(SecretSink.api_key_account(spec.workspace, spec.issued_to), spec.workspace,
                                 spec.key_name)
        return result

    def _delete_key(self, key: str, key_id: str) -> StepResult:
        path = f"/v1/{self.clients.project_id}/maas/api-auth/api-keys/{key_id}"
        try:
            self.clients.request(key, "DeleteMaasApiKey", "modelarts", "DELETE", path)
        except HuaweiCallError as err:
            if err.outcome is Outcome.GONE:
                return ALREADY_GONE
            raise
        return DONE


def keys_issued_to(keys: tuple[ApiKey, ...], user: str) -> list[tuple[ApiKey, str, str]]:
    """The marked MaaS keys issued to ``user``: (key, workspace, key name)."""
    found = []
    for key in keys:
        marker = KeyMarker.parse(key.description)
        if marker is not None and marker.issued_to == user:
            found.append((key, marker.workspace, marker.key_name))
    return found


def granted(workspaces: tuple[Workspace, ...], user: str) -> list[Workspace]:
    """The workspaces whose grants list ``user``."""
    return [w for w in workspaces if any(g.user_name == user for g in w.grants)]

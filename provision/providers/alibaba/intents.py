"""Settling the write-ahead intents an interrupted apply left open (``state/intents.py``), on Alibaba Cloud.

Each open intent names a create that was sent and whose answer was never recorded. What it made is found
by the resource's name (or marker), leaving out what existed before the create (``Intent.before``):

* an AccessKey or a workspace API key whose secret is not in the sink is unusable: deactivated and
  deleted (the plan then creates its replacement in the same run);
* a workspace is ours (the Model Studio API has no tags; only the state file knows it): its id is
  recorded, no ``adopt`` needed;
* a login profile's password went to the sink before the create: nothing is lost;
* a PrivateLink endpoint carries its marker tags from the create on: it is already managed.

In a plan (``act=False``) nothing is changed or recorded: a workspace is taken as managed for that
process only, and orphaned keys are reported as not delivered.
"""

from __future__ import annotations

from functools import partial

from alibabacloud_modelstudio20260210 import models as ms

from provision.desired.kinds import Kind
from provision.providers.alibaba.base import Clients
from provision.providers.alibaba.modelstudio import find_workspaces
from provision.providers.alibaba.modelstudio_keys import list_api_keys
from provision.providers.alibaba.ram_credentials import Credentials
from provision.providers.common.markers import KeyMarker, owns
from provision.providers.settle import (
    KindSettler,
    settle_login,
    settle_orphans,
    settle_tagged,
    settle_workspace,
)
from provision.state.intents import Intent, Settlement
from provision.state.secrets import SecretSink
from provision.state.statefile import StateFile


class AlibabaSettler(KindSettler):
    """Settles the open intents of every Alibaba kind that records one."""

    def __init__(self, clients: Clients, sink: SecretSink, state: StateFile,
                 credentials: Credentials) -> None:
        self.clients, self.sink, self.state, self.credentials = clients, sink, state, credentials
        super().__init__({Kind.ACCESS_KEYS: self._access_keys, Kind.API_KEY: self._api_key,
                          Kind.WORKSPACE: self._workspace, Kind.LOGIN_PROFILE: self._login_profile,
                          Kind.ENDPOINT: self._endpoint})

    # -- kinds ----------------------------------------------------------------------------------------
    def _access_keys(self, intent: Intent, act: bool) -> Settlement:
        orphans = tuple(self.credentials.unheld_since(intent.name, intent.before))
        return settle_orphans(intent, act, "AccessKey", orphans,
                              lambda key_id: self.credentials.delete_key(intent.name, key_id))

    def _api_key(self, intent: Intent, act: bool) -> Settlement:
        workspace, key_name = intent.name.split("/", 1)
        ws_id = self.state.workspace_id(workspace) or next(
            (str(w.workspace_id) for w in find_workspaces(self.clients, workspace)), "")
        orphans: list[str] = []
        for key in list_api_keys(self.clients, workspace, ws_id) if ws_id else []:
            marker, key_id = KeyMarker.parse(key.description), str(key.api_key_id)
            if marker is None or (marker.workspace, marker.key_name) != (workspace, key_name) or \
                    not owns(intent.owner, marker.manifest) or key_id in intent.before:
                continue
            account = self.sink.api_key_account(workspace, marker.issued_to)
            held = self.sink.api_key(account, workspace, key_name)
            if held is None or held[0] != key_id:
                orphans.append(key_id)
        return settle_orphans(intent, act, "API key", tuple(orphans), partial(self._delete_api_key, intent))

    def _delete_api_key(self, intent: Intent, key_id: str) -> str:
        """DisableApiKey, then DeleteApiKey (gone = done), as for any key nobody can hold."""
        studio = self.clients.modelstudio()
        self.clients.call_or_none(intent.key, "DisableApiKey",
                                  lambda: studio.disable_api_key(key_id, ms.DisableApiKeyRequest()))
        self.clients.call_or_none(intent.key, "DeleteApiKey", lambda: studio.delete_api_key(key_id))
        self.state.forget_secret(key_id)
        return key_id

    def _workspace(self, intent: Intent, act: bool) -> Settlement:
        return settle_workspace(intent, act, self.state, [str(w.workspace_id) for w in find_workspaces(
            self.clients, intent.name) if str(w.workspace_id) not in intent.before])

    def _login_profile(self, intent: Intent, act: bool) -> Settlement:
        return settle_login(intent, act, self.sink.password(intent.name) is not None, "RAM console")

    def _endpoint(self, intent: Intent, act: bool) -> Settlement:
        return settle_tagged(intent)

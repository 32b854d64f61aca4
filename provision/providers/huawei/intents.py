"""Settling the write-ahead intents an interrupted apply left open (``state/intents.py``), on Huawei Cloud.

Each open intent names a create that was sent and whose answer was never recorded. What it made is found
by name or marker, leaving out what existed before the create (``Intent.before``); what is then done is
said the same way as on Alibaba Cloud (``providers/settle.py``):

* an IAM user is tagged by a second call after its create: one the intent made without its tags is ours,
  and is tagged (the plan would otherwise take it for an unmanaged look-alike);
* an IAM AK/SK or a MaaS API key whose secret is not in the sink is unusable: deactivated and deleted
  (the plan then creates its replacement in the same run);
* a ModelArts workspace carrying this manifest's marker is ours: its id is recorded, no ``adopt``;
* a console login profile's password went to the sink before the create: nothing is lost;
* a VPC endpoint carries its marker tags from the create on: it is already managed.

In a plan (``act=False``) nothing is changed or recorded.
"""

from __future__ import annotations

from functools import partial

from provision.desired.kinds import Kind
from provision.errors import ProvisionError
from provision.providers.common.markers import KeyMarker, Owner, owns
from provision.providers.huawei.base import unmarked
from provision.providers.huawei.clients import HuaweiClients
from provision.providers.huawei.iam import IamProvider
from provision.providers.huawei.read import (
    list_users,
    read_api_keys,
    read_user,
    read_workspaces,
)
from provision.providers.huawei.workspaces import WorkspaceProvider
from provision.providers.settle import (
    KindSettler,
    made_by,
    settle_login,
    settle_orphans,
    settle_tagged,
    settle_workspace,
)
from provision.state.intents import Intent, Settlement
from provision.state.secrets import SecretSink
from provision.state.statefile import StateFile

_GONE = ("DELETING",)  # workspace states that no longer count


class HuaweiSettler(KindSettler):
    """Settles the open intents of every Huawei kind that records one."""

    def __init__(self, clients: HuaweiClients, sink: SecretSink, state: StateFile, iam: IamProvider,
                 workspaces: WorkspaceProvider) -> None:
        self.clients, self.sink, self.state = clients, sink, state
        self.iam, self.workspaces = iam, workspaces
        super().__init__({Kind.IAM_USER: self._user, Kind.IAM_ACCESS_KEYS: self._access_keys,
                          Kind.MAAS_API_KEY: self._api_key,
                          Kind.MA_WORKSPACE: self._workspace, Kind.IAM_LOGIN_PROFILE: self._login_profile,
                          Kind.VPCEP_ENDPOINT: self._endpoint})

    # -- kinds ----------------------------------------------------------------------------------------
    def _user(self, intent: Intent, act: bool) -> Settlement:
        """A user is tagged by a second call after its create: one the intent made untagged is ours."""
        found = next((s for s in list_users(self.clients) if s.name == intent.name), None)
        if found is None or found.user_id in intent.before:
            return Settlement(intent.key, "the interrupted create made no IAM user")
        if Owner.from_tags(read_user(self.clients, found.user_id).tags).marked:
            return Settlement(intent.key, f"IAM user {found.user_id} carries its ownership tags")
        if act:
            self.iam.tag(intent.key, found.user_id)
            return Settlement(intent.key, f"tagged IAM user {found.user_id} as managed, {made_by(intent)}")
        return Settlement(intent.key, f"IAM user {found.user_id} was {made_by(intent)} before its ownership "
                                      "tags: apply tags it as managed", undelivered=True)

    def _access_keys(self, intent: Intent, act: bool) -> Settlement:
        try:
            user_id = self.iam.user_id(intent.name)
        except ProvisionError:  # the user is gone: so are its keys
            return settle_orphans(intent, act, "AK/SK", (), str)
        orphans = self.iam.credentials.unheld_since(intent.name, user_id, intent.before)
        return settle_orphans(intent, act, "AK/SK", orphans,
                              partial(self.iam.credentials.delete_unheld, intent.key, user_id))

    def _api_key(self, intent: Intent, act: bool) -> Settlement:
        workspace, key_name = intent.name.split("/", 1)
        orphans: list[str] = []
        for key in read_api_keys(self.clients):
            marker = KeyMarker.parse(key.description)
            if marker is None or (marker.workspace, marker.key_name) != (workspace, key_name) or \
                    not owns(intent.owner, marker.manifest) or key.key_id in intent.before:
                continue
            account = self.sink.api_key_account(workspace, marker.issued_to)
            held = self.sink.api_key(account, workspace, key_name)
            if held is None or held[0] != key.key_id:
                orphans.append(key.key_id)
        return settle_orphans(intent, act, "MaaS API key", orphans,
                              partial(self.workspaces.delete_unheld, intent.key))

    def _workspace(self, intent: Intent, act: bool) -> Settlement:
        made = [w.workspace_id for w in read_workspaces(self.clients)
                if w.name == intent.name and w.status not in _GONE and w.workspace_id not in intent.before
                and unmarked(w.description)[1].ours(intent.owner)]
        return settle_workspace(intent, act, self.state, made)

    def _login_profile(self, intent: Intent, act: bool) -> Settlement:
        return settle_login(intent, act, self.sink.password(intent.name) is not None, "IAM console")

    def _endpoint(self, intent: Intent, act: bool) -> Settlement:
        return settle_tagged(intent)

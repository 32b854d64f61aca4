"""IAM v5: users (tagged ``managed-by=provision``), console login profiles, AK/SKs, policy
attachments and group memberships (custom identity policies: ``iam_policies.py``). Reads go through
``read_iam.py`` (the one reader of IAM facts).

A user's secrets (AK/SK secrets, the initial console password) go to the secrets sink the moment the
cloud shows them; nothing returned or logged holds one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from functools import partial

from huaweicloudsdkiam.v5 import (
    AddUserToGroupReqBody,
    AddUserToGroupV5Request,
    AttachUserPolicyReqBody,
    AttachUserPolicyV5Request,
    CreateUserReqBody,
    CreateUserV5Request,
    DeleteLoginProfileV5Request,
    DeleteUserV5Request,
    DetachUserPolicyReqBody,
    DetachUserPolicyV5Request,
    ListGroupsV5Request,
    RemoveUserFromGroupReqBody,
    RemoveUserFromGroupV5Request,
    Tag,
    TagResourceV5Request,
    Tags,
    UpdateUserReqBody,
    UpdateUserV5Request,
)

from provision.desired.huawei import (
    IamAccessKeysSpec,
    IamAttachmentSpec,
    IamGroupMemberSpec,
    IamLoginProfileSpec,
    IamUserSpec,
)
from provision.desired.kinds import Kind
from provision.desired.live import Live
from provision.desired.model import Desired
from provision.errors import ProvisionError
from provision.plan.diff import Action, Change
from provision.providers.common.delete_steps import Step, StepResult
from provision.providers.common.markers import Owner
from provision.providers.huawei.base import (
    WriteAhead,
    create,
    owner_tags,
    removed,
)
from provision.providers.huawei.clients import HuaweiClients
from provision.providers.huawei.iam_credentials import IamCredentials
from provision.providers.huawei.iam_policies import IamPolicyProvider, detach
from provision.providers.huawei.read_common import each
from provision.providers.huawei.read_iam import (
    User,
    list_users,
    read_user,
    read_user_tags,
)
from provision.state.secrets import SecretSink
from provision.state.statefile import StateFile


class IamProvider:
    """Users and everything hanging on them (the policies' ids come from :class:`IamPolicyProvider`)."""

    kinds: tuple[Kind, ...] = (Kind.IAM_USER, Kind.IAM_LOGIN_PROFILE, Kind.IAM_ACCESS_KEYS,
                               Kind.IAM_ATTACHMENT, Kind.IAM_GROUP_MEMBER)

    def __init__(self, clients: HuaweiClients, sink: SecretSink, manifest: str,
                 policies: IamPolicyProvider, state: StateFile) -> None:
        self.clients = clients
        self.policies = policies
        self.sink = sink
        self.manifest = manifest
        self.state = state  # write-ahead intents (the user's create), secret records
        self.credentials = IamCredentials(clients, sink, state)
        self._user_ids: dict[str, str] = {}
        self._lock = threading.Lock()

    # -- read ------------------------------------------------------------------------------------------------
    def read(self, desired: Desired) -> list[Live]:
        """The declared users (present or absent) with their access, and the declared or managed policies."""
        names = {s.user for s in (*desired.present, *desired.absent) if isinstance(s, IamUserSpec)}
        lives: list[Live] = []
        for user in self.users(names, desired.manifest):
            lives.extend(self.user_lives(user, desired.manifest))
        return lives

    def users(self, names: set[str], manifest: str | None = None) -> list[User]:
        """The named users that exist and, given ``manifest``, the users tagged as managed by it that it
        does not name (the plan reports them as "managed but not declared", as on Alibaba Cloud), each read
        in full. The user list carries no tags: every unnamed user's tags are read (concurrently)."""
        summaries = list_users(self.clients)
        with self._lock:
            self._user_ids.update({s.name: s.user_id for s in summaries})
        wanted = [s for s in summaries if s.name in names]
        if manifest is not None:
            others = [s for s in summaries if s.name not in names]
            found = each(lambda s: read_user_tags(self.clients, s.user_id), others)
            wanted += [s for s, tags in zip(others, found, strict=True)
                       if Owner.from_tags(tags).ours(manifest)]
        return each(lambda s: read_user(self.clients, s.user_id), wanted)

    def user_lives(self, user: User, manifest: str) -> Iterator[Live]:
        """A user and its login profile, key count, direct attachments and groups, as live specs."""
        owner = Owner.from_tags(user.tags)
        managed = owner.ours(manifest)
        name = user.name
        cascade = (*(label for label, _, _ in self.removals(user)), "delete user")
        yield Live(IamUserSpec(user=name, display_name=user.description or None,
                               groups=tuple(g.name for g in user.groups)),
                   managed, user.user_id, cascade=cascade)
        if user.login_profile is not None:
            yield Live(IamLoginProfileSpec(user=name,
                                           password_reset_required=user.login_profile.password_reset_required),
                       managed)
        active = tuple(k.access_key_id for k in user.access_keys if k.status == "active")
        held = self.sink.held_keys(name, active, {k.access_key_id for k in user.access_keys})
        # secrets of keys the account no longer lists (deleted outside the tool): apply makes the sink
        # forget them (the access keys' execute keeps only live keys); a read changes nothing
        yield Live(IamAccessKeysSpec(user=name, count=len(active), key_ids=active,
                                     missing_secret=held.missing if managed else (),
                                     dead_in_sink=held.dead if managed else ()), managed)
        for policy in user.policies:
            if policy.via == "direct":
                kind = "Custom" if policy.policy_type == "custom" else "System"
                yield Live(IamAttachmentSpec(user=name, policy=policy.name, policy_type=kind), managed,
                           policy.policy_id)
        for group in user.groups:
            yield Live(IamGroupMemberSpec(user=name, group=group.name), managed, group.group_id)

    # -- execute -----------------------------------------------------------------------------------------
    def execute(self, change: Change) -> str:
        spec = change.spec
        if isinstance(spec, IamUserSpec):
            return self._user(change, spec)
        if isinstance(spec, IamLoginProfileSpec):
            return self.credentials.login(change, spec, self.user_id(spec.user))
        if isinstance(spec, IamAccessKeysSpec):
            return self.credentials.keys(change, spec, self.user_id(spec.user))
        if isinstance(spec, IamAttachmentSpec):
            return self._attachment(change, spec)
        if isinstance(spec, IamGroupMemberSpec):
            return self._group(change, spec)
        raise ProvisionError(f"{change.key}: not an IAM resource")

    def user_id(self, name: str) -> str:
        with self._lock:
            known = self._user_ids.get(name)
        if known is not None:
            return known
        found = {s.name: s.user_id for s in list_users(self.clients)}
        with self._lock:
            self._user_ids.update(found)
        if name not in found:
            raise ProvisionError(f"{Kind.IAM_USER}/{name}: no such IAM user (deleted outside provision?): "
                                 "re-run plan")
        return found[name]

    def _user(self, change: Change, spec: IamUserSpec) -> str:
        iam = self.clients.iam
        if change.action is Action.CREATE:
            body = CreateUserReqBody(name=spec.user, description=spec.display_name or "", enabled=True)

            def find() -> str | None:
                return next((s.user_id for s in list_users(self.clients) if s.name == spec.user), None)

            def record(made: str) -> None:  # tagged by a second call: a crash before it leaves it unmarked
                with self._lock:
                    self._user_ids[spec.user] = made
                self._tag(change.key, made)

            user_id = create(self.clients, change.key, "CreateUserV5",
                             lambda: str(iam().create_user_v5(CreateUserV5Request(body=body)).user.user_id),
                             find, WriteAhead(self.state, Kind.IAM_USER, spec.user, record,
                                              owner=self.manifest))
            return f"created IAM user {spec.user} ({user_id})"
        user_id = self.user_id(spec.user)
        if change.action is Action.UPDATE:
            if any(f.field == "display_name" for f in change.fields):
                body = UpdateUserReqBody(new_description=spec.display_name or "")
                self.clients.call(change.key, "UpdateUserV5",
                                  lambda: iam().update_user_v5(UpdateUserV5Request(user_id=user_id,
                                                                                   body=body)))
            if change.live is not None and not change.live.managed:
                self._tag(change.key, user_id)
                return f"adopted IAM user {spec.user}"
            return f"updated IAM user {spec.user}"
        steps = self.strip(spec.user, user_id)
        failed = next((s for s in steps if s.outcome is StepResult.FAILED), None)
        if failed is not None:
            raise failed.error or ProvisionError(f"{change.key}: {failed.step} failed ({failed.code})")
        self.clients.call(change.key, "DeleteUserV5",
                          lambda: iam().delete_user_v5(DeleteUserV5Request(user_id=user_id)))
        self.sink.keep_access_keys(spec.user, ())
        self.sink.forget_password(spec.user)
        return f"deleted IAM user {spec.user} ({len(steps)} step(s) before)"

    def tag(self, key: str, user_id: str) -> None:
        """Mark a user as managed by this manifest (the IAM v5 resource tags)."""
        self._tag(key, user_id)

    def _tag(self, key: str, user_id: str) -> None:
        tags = Tags(tags=[Tag(tag_key=k, tag_value=v) for k, v in owner_tags(self.manifest)])
        self.clients.call(key, "TagResourceV5", lambda: self.clients.iam().tag_resource_v5(
            TagResourceV5Request(resource_type="user", resource_id=user_id, body=tags)))

    def removals(self, user: User) -> list[tuple[str, str, Callable[[], object]]]:
        """The steps taking every access of ``user`` away, in the safe order (label, action, call): deactivate
        then delete its AK/SKs, delete its login profile, detach its policies, leave its groups. The one
        list: the plan shows its labels under a delete, and :meth:`strip` runs it."""
        iam, user_id = self.clients.iam, user.user_id
        found: list[tuple[str, str, Callable[[], object]]] = []
        for k in user.access_keys:
            kid = k.access_key_id
            found.append((f"deactivate access key {kid}", "UpdateAccessKeyV5",
                          partial(self.credentials.deactivate, user_id, kid)))
            found.append((f"delete access key {kid}", "DeleteAccessKeyV5",
                          partial(self.credentials.delete_key, user_id, kid)))
        if user.login_profile is not None:
            request = DeleteLoginProfileV5Request(user_id=user_id)
            found.append(("delete login profile", "DeleteLoginProfileV5",
                          lambda: iam().delete_login_profile_v5(request)))
        for policy in user.policies:
            if policy.via == "direct":
                found.append((f"detach policy {policy.policy_type}:{policy.name}", "DetachUserPolicyV5",
                              partial(detach, self.clients, policy.policy_id, user_id)))
        for group in user.groups:
            found.append((f"remove from group {group.name}", "RemoveUserFromGroupV5",
                          partial(self._leave, group.group_id, user_id)))
        return found

    def strip(self, name: str, user_id: str) -> list[Step]:
        """Run :meth:`removals` of the user as the account holds it now. Each step tolerates "already
        gone"; a failed step is reported, and the next ones still run."""
        key = f"{Kind.IAM_USER}/{name}"
        steps: list[Step] = []
        for what, action, call in self.removals(read_user(self.clients, user_id)):
            try:
                steps.append(Step(what, removed(self.clients, key, action, call)))
            except Exception as err:  # noqa: BLE001  (reported in the step; the next steps still run)
                steps.append(Step.failed(what, err))
        return steps

    def _leave(self, group_id: str, user_id: str) -> object:
        body = RemoveUserFromGroupReqBody(user_id=user_id)
        return self.clients.iam().remove_user_from_group_v5(
            RemoveUserFromGroupV5Request(group_id=group_id, body=body))

    def _attachment(self, change: Change, spec: IamAttachmentSpec) -> str:
        user_id = self.user_id(spec.user)
        policy_id = self.policies.policy_id(spec.policy, spec.policy_type)
        iam = self.clients.iam
        if change.action is Action.DELETE:
            result = removed(self.clients, change.key, "DetachUserPolicyV5",
                             lambda: iam().detach_user_policy_v5(
                DetachUserPolicyV5Request(policy_id=policy_id,
                                          body=DetachUserPolicyReqBody(user_id=user_id))))
            return f"detached {spec.policy_type}:{spec.policy} from {spec.user} ({result})"
        create(self.clients, change.key, "AttachUserPolicyV5", lambda: iam().attach_user_policy_v5(
            AttachUserPolicyV5Request(policy_id=policy_id, body=AttachUserPolicyReqBody(user_id=user_id))),
            lambda: True)
        return f"attached {spec.policy_type}:{spec.policy} to {spec.user}"

    def _group(self, change: Change, spec: IamGroupMemberSpec) -> str:
        user_id = self.user_id(spec.user)
        iam = self.clients.iam
        groups = self.clients.marker_pages(
            change.key, "ListGroupsV5", lambda m: iam().list_groups_v5(ListGroupsV5Request(limit=200,
                                                                                           marker=m)),
            lambda r: r.groups)
        group_id = next((str(g.group_id) for g in groups if g.group_name == spec.group), None)
        if group_id is None:
            raise ProvisionError(f"{change.key}: no user group {spec.group!r} in the account: create it in "
                                 "the "
                                 "IAM console, or remove it from users[].groups")
        if change.action is Action.DELETE:
            result = removed(self.clients, change.key, "RemoveUserFromGroupV5",
                             lambda: iam().remove_user_from_group_v5(RemoveUserFromGroupV5Request(
                                 group_id=group_id, body=RemoveUserFromGroupReqBody(user_id=user_id))))
            return f"removed {spec.user} from group {spec.group} ({result})"
        create(self.clients, change.key, "AddUserToGroupV5", lambda: iam().add_user_to_group_v5(
            AddUserToGroupV5Request(group_id=group_id, body=AddUserToGroupReqBody(user_id=user_id))),
            lambda: True)
        return f"added {spec.user} to group {spec.group}"


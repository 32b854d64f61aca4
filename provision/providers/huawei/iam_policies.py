"""IAM v5 custom identity policies (``managed-by=provision manifest=<name>`` at the end of their description):
created, given a new default version when the document changes (the oldest non-default version goes first
when IAM's 5 are used), deleted after detaching them from every user; and the ids of policies by name."""

from __future__ import annotations

import json
import threading
from functools import partial

from huaweicloudsdkiam.v5 import (
    CreatePolicyReqBody,
    CreatePolicyV5Request,
    CreatePolicyVersionReqBody,
    CreatePolicyVersionV5Request,
    DeletePolicyV5Request,
    DeletePolicyVersionV5Request,
    DetachUserPolicyReqBody,
    DetachUserPolicyV5Request,
    ListEntitiesForPolicyV5Request,
    ListPoliciesV5Request,
    ListPolicyVersionsV5Request,
    UpdatePolicyReqBody,
    UpdatePolicyV5Request,
)

from provision.desired.huawei import IamPolicySpec
from provision.desired.kinds import Kind
from provision.desired.live import Live
from provision.desired.model import Desired
from provision.errors import ProvisionError
from provision.plan.diff import Action, Change
from provision.providers.huawei.base import create, marked, removed, unmarked
from provision.providers.huawei.clients import HuaweiClients
from provision.providers.huawei.read_iam import CustomPolicy, read_custom_policies

_VERSIONS = 5  # identity policy versions kept by IAM v5: the oldest non-default goes before a new one


def canonical(document: str) -> str:
    """A policy document as the manifest's canonical JSON (sorted keys, no spaces)."""
    try:
        return json.dumps(json.loads(document), sort_keys=True, separators=(",", ":"))
    except ValueError:
        return document




def detach(clients: HuaweiClients, policy_id: str, user_id: str) -> object:
    """Detach one identity policy from one user (the call; the caller judges its outcome)."""
    body = DetachUserPolicyReqBody(user_id=user_id)
    return clients.iam().detach_user_policy_v5(DetachUserPolicyV5Request(policy_id=policy_id, body=body))


class IamPolicyProvider:
    """Custom identity policies, and the ids of system and custom policies by name."""

    kinds: tuple[Kind, ...] = (Kind.IAM_POLICY,)

    def __init__(self, clients: HuaweiClients, manifest: str) -> None:
        self.clients = clients
        self.manifest = manifest
        self._policy_ids: dict[tuple[str, str], str] = {}  # (policy_type, name) → id
        self._lock = threading.Lock()

    def read(self, desired: Desired) -> list[Live]:
        """The declared custom policies (present or absent) and the ones this manifest manages."""
        policies = {s.policy for s in (*desired.present, *desired.absent) if isinstance(s, IamPolicySpec)}
        lives: list[Live] = []
        for policy in read_custom_policies(self.clients):
            description, owner = unmarked(policy.description)
            if policy.name in policies or owner.ours(desired.manifest):
                lives.append(Live(IamPolicySpec(policy=policy.name, document=canonical(policy.document),
                                                description=description), owner.ours(desired.manifest),
                                  policy.policy_id))
        return lives

    def execute(self, change: Change) -> str:
        if not isinstance(change.spec, IamPolicySpec):
            raise ProvisionError(f"{change.key}: not an identity policy")
        return self._policy(change, change.spec)

    def policy_id(self, name: str, policy_type: str) -> str:
        """The id of a system or custom identity policy, by name."""
        kind = policy_type.lower()
        with self._lock:
            known = self._policy_ids.get((kind, name))
        if known is not None:
            return known
        found = self.clients.marker_pages(
            f"{Kind.IAM_POLICY}/{name}", "ListPoliciesV5",
            lambda m: self.clients.iam().list_policies_v5(ListPoliciesV5Request(policy_type=kind, limit=200,
                                                                                marker=m)),
            lambda r: r.policies)
        with self._lock:
            self._policy_ids.update({(kind, str(p.policy_name)): str(p.policy_id) for p in found})
            known = self._policy_ids.get((kind, name))
        if known is None:
            raise ProvisionError(f"{Kind.IAM_POLICY}/{name}: no {kind} identity policy of that name in the "
                                 "account: check the manifest's policies (system names are the cloud's)")
        return known

    def _policy(self, change: Change, spec: IamPolicySpec) -> str:
        iam = self.clients.iam
        if change.action is Action.CREATE:
            body = CreatePolicyReqBody(policy_name=spec.policy, policy_document=spec.document or "",
                                       description=marked(spec.description, self.manifest))

            def find() -> str | None:
                existing = self._custom(spec.policy)
                return existing.policy_id if existing else None

            policy_id = create(self.clients, change.key, "CreatePolicyV5", lambda: str(
                iam().create_policy_v5(CreatePolicyV5Request(body=body)).policy.policy_id), find)
            with self._lock:
                self._policy_ids[("custom", spec.policy)] = policy_id
            return f"created identity policy {spec.policy} ({policy_id})"
        policy_id = change.live.cloud_id if change.live is not None and change.live.cloud_id else \
            self.policy_id(spec.policy, "custom")
        if change.action is Action.UPDATE:
            changed = {f.field for f in change.fields}
            adopt = change.live is not None and not change.live.managed
            if "description" in changed or adopt:
                body_d = UpdatePolicyReqBody(description=marked(spec.description, self.manifest))
                self.clients.call(change.key, "UpdatePolicyV5", lambda: iam().update_policy_v5(
                    UpdatePolicyV5Request(policy_id=policy_id, body=body_d)))
            if "document" in changed:
                self._new_version(change.key, policy_id, spec.document or "")
            return f"updated identity policy {spec.policy}"
        for entity in self.clients.marker_pages(
                change.key, "ListEntitiesForPolicyV5",
                lambda m: iam().list_entities_for_policy_v5(ListEntitiesForPolicyV5Request(
                    policy_id=policy_id, entity_type="user", marker=m)),
                lambda r: r.policy_users):
            removed(self.clients, change.key, "DetachUserPolicyV5",
                    partial(detach, self.clients, policy_id, str(entity.user_id)))
        removed(self.clients, change.key, "DeletePolicyV5",
                lambda: iam().delete_policy_v5(DeletePolicyV5Request(policy_id=policy_id)))
        return f"deleted identity policy {spec.policy}"

    def _custom(self, name: str) -> CustomPolicy | None:
        return next((p for p in read_custom_policies(self.clients) if p.name == name), None)

    def _new_version(self, key: str, policy_id: str, document: str) -> None:
        """A new default version; the oldest non-default one goes first when IAM's 5 are used."""
        iam = self.clients.iam
        versions = self.clients.call(key, "ListPolicyVersionsV5", lambda: iam().list_policy_versions_v5(
            ListPolicyVersionsV5Request(policy_id=policy_id))).versions or []
        old = sorted((v for v in versions if not v.is_default), key=lambda v: str(v.created_at))
        if len(versions) >= _VERSIONS and old:
            vid = str(old[0].version_id)
            removed(self.clients, key, "DeletePolicyVersionV5", lambda: iam().delete_policy_version_v5(
                DeletePolicyVersionV5Request(policy_id=policy_id, version_id=vid)))
        body = CreatePolicyVersionReqBody(policy_document=document, set_as_default=True)
        self.clients.call(key, "CreatePolicyVersionV5", lambda: iam().create_policy_version_v5(
            CreatePolicyVersionV5Request(policy_id=policy_id, body=body)))

"""RAM custom policies: read (ListPolicies, tags, GetPolicy) and change (create, new version, delete).

A custom policy is managed when it carries the tag ``managed-by=provision`` and, when it has one, the tag
``provision-manifest`` of this manifest (RAM ``TagResources`` accepts ``ResourceType=policy``).
Documents are compared as canonical JSON (sorted keys, no spaces).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from alibabacloud_ram20150501 import models as ram

from provision.desired.kinds import Kind
from provision.desired.live import Live
from provision.desired.model import Desired
from provision.desired.resources import PolicySpec
from provision.plan.diff import Action, Change, InSync
from provision.providers.alibaba.base import Clients
from provision.providers.alibaba.calls import CallError
from provision.providers.alibaba.delete_run import run_delete
from provision.providers.alibaba.delete_steps import run_step
from provision.providers.alibaba.ram_users import ram_items
from provision.providers.common.delete_steps import DeleteStep, labels
from provision.providers.common.markers import marker_tags, owns, same_manifest, tags_owner
from provision.providers.common.outcomes import Outcome
from provision.providers.common.pagers import marker_pager, token_pager

_ROTATE = "DeleteOldestNonDefaultVersionWhenLimitExceeded"  # RAM keeps at most 5 versions


def canonical_document(document: str) -> str:
    """A policy document as canonical JSON (what the manifest side produces); non-JSON is kept as is."""
    try:
        return json.dumps(json.loads(document), sort_keys=True, separators=(",", ":"))
    except ValueError:
        return document


class PolicyManager:
    """The custom-policy part of the RAM provider."""

    def __init__(self, clients: Clients, workers: int = 8, manifest: str = "") -> None:
        self.clients = clients
        self.workers = workers
        self.manifest = manifest  # the owner it judges by and writes into tags

    @property
    def ram(self) -> Any:
        return self.clients.ram()

    def read(self, desired: Desired) -> list[Live]:
        """ListPolicies(Custom), ListTagResources, GetPolicy per declared or managed policy; policies tagged
        for another manifest are left out unless declared (then they read as unmanaged)."""
        same_manifest(self.manifest, desired.manifest, "the custom-policy provider")
        declared = {s.policy for s in (*desired.present, *desired.absent) if isinstance(s, PolicySpec)}
        custom = self.clients.paginate("ram.policy/*", "ListPolicies", marker_pager(
            lambda marker: self.ram.list_policies(ram.ListPoliciesRequest(policy_type="Custom", marker=marker,
                                                                          max_items=1000)),
            lambda body: body.policies.policy if body.policies else None))
        if not custom:
            return []
        tagged = self._ours()
        absent = {s.policy for s in desired.absent if isinstance(s, PolicySpec)}
        names = [p.policy_name for p in custom if p.policy_name in declared or p.policy_name in tagged]

        def live(name: str) -> Live | None:
            spec = self._get(name)
            if spec is None:
                return None
            cascade = labels(self.delete_steps(name)) if name in absent and name in tagged else ()
            return Live(spec, managed=name in tagged, cloud_id=name, cascade=cascade)

        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            return [found for found in pool.map(live, names) if found is not None]

    def delete_steps(self, name: str) -> list[DeleteStep]:
        """The steps deleting a custom policy takes, built from a fresh read (the plan shows their labels,
        apply runs them): detached from each user, group and role (ListEntitiesForPolicy), each
        non-default version deleted (ListPolicyVersions), then DeletePolicy, without CascadingDelete: what
        the plan did not show is never removed."""
        key = f"{Kind.POLICY}/{name}"
        entities = self.clients.call(key, "ListEntitiesForPolicy", lambda: self.ram.list_entities_for_policy(
            ram.ListEntitiesForPolicyRequest(policy_name=name, policy_type="Custom")))
        versions = self.clients.call(key, "ListPolicyVersions", lambda: self.ram.list_policy_versions(
            ram.ListPolicyVersionsRequest(policy_name=name, policy_type="Custom")))

        def step(label: str, action: str, fn: Callable[[], Any]) -> DeleteStep:
            return DeleteStep(label, partial(run_step, self.clients, key, label, action, fn))

        steps = [step(f"detach from user {u.user_name}", "DetachPolicyFromUser", partial(
            self.ram.detach_policy_from_user, ram.DetachPolicyFromUserRequest(
                policy_name=name, policy_type="Custom", user_name=u.user_name)))
            for u in ram_items(entities, "users", "user")]
        steps += [step(f"detach from group {g.group_name}", "DetachPolicyFromGroup", partial(
            self.ram.detach_policy_from_group, ram.DetachPolicyFromGroupRequest(
                policy_name=name, policy_type="Custom", group_name=g.group_name)))
            for g in ram_items(entities, "groups", "group")]
        steps += [step(f"detach from role {r.role_name}", "DetachPolicyFromRole", partial(
            self.ram.detach_policy_from_role, ram.DetachPolicyFromRoleRequest(
                policy_name=name, policy_type="Custom", role_name=r.role_name)))
            for r in ram_items(entities, "roles", "role")]
        steps += [step(f"delete version {v.version_id}", "DeletePolicyVersion", partial(
            self.ram.delete_policy_version, ram.DeletePolicyVersionRequest(
                policy_name=name, version_id=v.version_id)))
            for v in ram_items(versions, "policy_versions", "policy_version") if not v.is_default_version]
        return [*steps, step("delete policy", "DeletePolicy", partial(
            self.ram.delete_policy, ram.DeletePolicyRequest(policy_name=name)))]

    def _ours(self, names: list[str] | None = None) -> set[str]:
        """The policies (of ``names``, default all) tagged as this manifest's: ListTagResources, unfiltered by
        tag so that every tag of a policy comes back [UNVERIFIED: whether a Tag filter narrows the rows]."""
        items = self.clients.paginate("ram.policy/*", "ListTagResources", token_pager(
            lambda token: self.ram.list_tag_resources(ram.ListTagResourcesRequest(
                resource_type="policy", resource_names=names, next_token=token, page_size=100)),
            lambda body: body.tag_resources))
        tags: dict[str, list[tuple[str, str]]] = {}
        for t in items:
            tags.setdefault(t.resource_name, []).append((t.tag_key, t.tag_value))
        owners = {name: tags_owner(pairs) for name, pairs in tags.items()}
        return {name for name, owner in owners.items() if owner is not None and owns(self.manifest, owner)}

    def _tags(self) -> list[tuple[str, str]]:
        return list(marker_tags(self.manifest))

    def _get(self, name: str) -> PolicySpec | None:
        resp = self.clients.call_or_none(f"{Kind.POLICY}/{name}", "GetPolicy", lambda: self.ram.get_policy(
            ram.GetPolicyRequest(policy_name=name, policy_type="Custom")))
        if resp is None:
            return None
        version = resp.body.default_policy_version
        document = (version.policy_document if version else None) or resp.body.policy.policy_document or ""
        return PolicySpec(policy=name, document=canonical_document(document),
                          description=resp.body.policy.description or "")

    def execute(self, change: Change) -> str:
        """CreatePolicy (tagged; 409 → update if managed) / CreatePolicyVersion (default, rotating) and
        UpdatePolicyDescription / the steps of :meth:`delete_steps` (gone = done)."""
        spec = change.spec_as(PolicySpec)
        if change.action is Action.DELETE:
            if self._get(spec.policy) is None:
                return InSync(f"{change.key} already absent")
            return run_delete(change.key, self.delete_steps(spec.policy), change.cascade)
        if change.action is Action.CREATE:
            tags = [ram.CreatePolicyRequestTag(key=k, value=v) for k, v in self._tags()]
            request = ram.CreatePolicyRequest(policy_name=spec.policy, policy_document=spec.document,
                                              description=spec.description, tag=tags)
            try:
                self.clients.call(change.key, "CreatePolicy", lambda: self.ram.create_policy(request))
                return f"created {change.key}"
            except CallError as err:
                if err.outcome is not Outcome.EXISTS or spec.policy not in self._ours([spec.policy]):
                    raise
            return self._update(change.key, spec, managed=True)
        return self._update(change.key, spec, managed=change.live is None or change.live.managed)

    def _update(self, key: str, spec: PolicySpec, managed: bool) -> str:
        current = self._get(spec.policy)
        if current is None:
            raise CallError(key, "GetPolicy", "EntityNotExist.Policy", 404, "the policy disappeared",
                            "re-run plan")
        done = []
        if spec.document is not None and spec.document != current.document:
            self.clients.call(key, "CreatePolicyVersion", lambda: self.ram.create_policy_version(
                ram.CreatePolicyVersionRequest(policy_name=spec.policy, policy_document=spec.document,
                                               set_as_default=True, rotate_strategy=_ROTATE)))
            done.append("new default version")
        if spec.description is not None and spec.description != current.description:
            describe = ram.UpdatePolicyDescriptionRequest(policy_name=spec.policy,
                                                          new_description=spec.description)
            self.clients.call(key, "UpdatePolicyDescription",
                              lambda: self.ram.update_policy_description(describe))
            done.append("description")
        if not managed:
            self.clients.call(key, "TagResources", lambda: self.ram.tag_resources(ram.TagResourcesRequest(
                resource_type="policy", resource_names=[spec.policy],
                tag=[ram.TagResourcesRequestTag(key=k, value=v) for k, v in self._tags()])))
            done.append("adopted")
        return f"updated {key}: {', '.join(done)}" if done else InSync(f"{key} already in sync")

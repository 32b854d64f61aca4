"""RAM custom policies: read (ListPolicies, tags, GetPolicy) and change (create, new version, delete).

A custom policy is managed when it carries the tag ``managed-by=provision`` and, when it has one, the tag
``provision-manifest`` of this manifest (RAM ``TagResources`` accepts ``ResourceType=policy``).
Documents are compared as canonical JSON (sorted keys, no spaces).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from alibabacloud_ram20150501 import models as ram

from provision.desired.resources import Desired, Kind, Live, PolicySpec
from provision.plan.diff import Action, Change, InSync
from provision.providers.alibaba.base import Clients
from provision.providers.alibaba.calls import CallError
from provision.providers.common.markers import marker_tags, owns, tags_owner
from provision.providers.common.outcomes import Outcome
from provision.providers.common.pagers import marker_pager, token_pager

_ROTATE = "DeleteOldestNonDefaultVersionWhenLimitExceeded"  # RAM keeps at most 5 versions


# What DeletePolicy with CascadingDelete does, in one call: the plan's cascade of a custom policy.
DELETE_POLICY = ("delete policy (CascadingDelete: detached from every user and group first)",)


def canonical_document(document: str) -> str:
    """A policy document as canonical JSON (what the manifest side produces); non-JSON is kept as is."""
    try:
        return json.dumps(json.loads(document), sort_keys=True, separators=(",", ":"))
    except ValueError:
        return document


class PolicyManager:
    """The custom-policy part of the RAM provider."""

    def __init__(self, clients: Clients, workers: int = 8) -> None:
        self.clients = clients
        self.workers = workers
        self.manifest = ""  # the manifest of the last read: the owner written into tags

    @property
    def ram(self) -> Any:
        return self.clients.ram()

    def read(self, desired: Desired) -> list[Live]:
        """ListPolicies(Custom), ListTagResources, GetPolicy per declared or managed policy; policies tagged
        for another manifest are left out unless declared (then they read as unmanaged)."""
        self.manifest = desired.manifest
        declared = {s.policy for s in (*desired.present, *desired.absent) if isinstance(s, PolicySpec)}
        custom = self.clients.paginate("ram.policy/*", "ListPolicies", marker_pager(
            lambda marker: self.ram.list_policies(ram.ListPoliciesRequest(policy_type="Custom", marker=marker,
                                                                          max_items=1000)),
            lambda body: body.policies.policy if body.policies else None))
        if not custom:
            return []
        tagged = self._ours()
        names = [p.policy_name for p in custom if p.policy_name in declared or p.policy_name in tagged]
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            found = list(pool.map(self._get, names))
        return [Live(spec, managed=spec.policy in tagged, cloud_id=spec.policy, cascade=DELETE_POLICY)
                for spec in found if spec]

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
        UpdatePolicyDescription / DeletePolicy(CascadingDelete) (gone = done)."""
        spec = change.spec
        assert isinstance(spec, PolicySpec)
        if change.action is Action.DELETE:
            gone = self.clients.call_or_none(change.key, "DeletePolicy", lambda: self.ram.delete_policy(
                ram.DeletePolicyRequest(policy_name=spec.policy, cascading_delete=True))) is None
            return InSync(f"{change.key} already absent") if gone else f"deleted {change.key}"
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

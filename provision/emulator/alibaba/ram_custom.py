"""RAM rules for policies: custom policies and their versions, attachments, tags, and the
effective documents of a user that the authorizer evaluates.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from provision.emulator.alibaba.ram_policies import SYSTEM_POLICIES, parse_document, system_policy
from provision.emulator.alibaba.ram_state import (
    Attachment,
    CustomPolicy,
    Group,
    PolicyType,
    PolicyVersion,
    RamState,
    User,
    check_length,
    check_name,
    check_new,
    ram_error,
    ram_state,
)
from provision.emulator.wire import CloudError, Ctx
from provision.emulator.world import World

MAX_VERSIONS = 5
MAX_CUSTOM_POLICIES = 1500  # current quota page [UNVERIFIED]
MAX_TAGS = 20  # per resource [UNVERIFIED]
ROTATE_OLDEST = "DeleteOldestNonDefaultVersionWhenLimitExceeded"
Holder = Literal["User", "Group"]


@dataclass(frozen=True)
class PolicyView:
    """A system or custom policy as the read APIs show it (document = its default version)."""

    policy_type: PolicyType
    policy_name: str
    description: str
    default_version: str
    create_date: str
    update_date: str
    document: str
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class VersionView:
    version_id: str
    document: str
    create_date: str
    is_default: bool


def check_policy_type(value: str | None) -> PolicyType:
    """``System`` / ``Custom``, else ``InvalidParameter.PolicyType`` (400)."""
    if value == "System":
        return "System"
    if value == "Custom":
        return "Custom"
    raise ram_error("InvalidParameter.PolicyType", 'The parameter - "PolicyType" is incorrect.')


def _no_policy() -> CloudError:
    return ram_error("EntityNotExist.Policy", "The policy does not exist.")


def get_custom(ctx: Ctx, name: str) -> CustomPolicy:
    """The custom policy or ``EntityNotExist.Policy`` (404)."""
    policy = ram_state(ctx).policies.get(name)
    if policy is None:
        raise _no_policy()
    return policy


def _default_doc(policy: CustomPolicy) -> str:
    return next(v.document for v in policy.versions if v.version_id == policy.default_version)


def _custom_view(p: CustomPolicy) -> PolicyView:
    return PolicyView("Custom", p.policy_name, p.description, p.default_version, p.create_date,
                      p.update_date, _default_doc(p), dict(p.tags))


def get_policy(ctx: Ctx, ptype: PolicyType, name: str) -> PolicyView:
    """GetPolicy: a system or custom policy, or ``EntityNotExist.Policy`` (404)."""
    if ptype == "Custom":
        return _custom_view(get_custom(ctx, name))
    sys_policy = system_policy(name)
    if sys_policy is None:
        raise _no_policy()
    return PolicyView("System", name, sys_policy.description, sys_policy.default_version,
                      sys_policy.create_date, sys_policy.create_date, sys_policy.document_json())


def all_policies(ctx: Ctx, ptype: PolicyType | None) -> list[PolicyView]:
    """ListPolicies order: system policies first, then custom ones by creation."""
    found: list[PolicyView] = []
    if ptype in (None, "System"):
        found += [get_policy(ctx, "System", p.name) for p in SYSTEM_POLICIES]
    if ptype in (None, "Custom"):
        found += [_custom_view(p) for p in ram_state(ctx).policies.values()]
    return found


def policy_versions(ctx: Ctx, ptype: PolicyType, name: str) -> list[VersionView]:
    """ListPolicyVersions: a system policy shows only its default version."""
    if ptype == "System":
        view = get_policy(ctx, ptype, name)
        return [VersionView(view.default_version, view.document, view.create_date, True)]
    policy = get_custom(ctx, name)
    return [VersionView(v.version_id, v.document, v.create_date, v.version_id == policy.default_version)
            for v in policy.versions]


def get_policy_version(ctx: Ctx, ptype: PolicyType, name: str, version_id: str) -> VersionView:
    """GetPolicyVersion: ``EntityNotExist.Policy.Version`` (404) for an unknown version."""
    found = next((v for v in policy_versions(ctx, ptype, name) if v.version_id == version_id), None)
    if found is None:
        raise ram_error("EntityNotExist.Policy.Version", "The policy version does not exist.")
    return found


def check_tags(tags: Sequence[tuple[str, str]], existing: int = 0) -> None:
    """Tag keys 1-128 chars, not ``acs:`` / ``aliyun``-prefixed; values ≤128; ≤20 tags per resource."""
    for key, value in tags:
        check_length("Tag.Key", key, 128, 1)
        check_length("Tag.Value", value, 128)
        if key.startswith(("acs:", "aliyun")):
            raise ram_error("InvalidParameter.Tag.Key", f"The tag key {key!r} uses a reserved prefix.")
    if existing + len(tags) > MAX_TAGS:
        raise ram_error("LimitExceeded.Tag", f"A resource can have at most {MAX_TAGS} tags.")


def create_policy(ctx: Ctx, name: str, document: str, description: str | None,
                  tags: Sequence[tuple[str, str]] = ()) -> CustomPolicy:
    """CreatePolicy: validates name and document; ``EntityAlreadyExists.Policy`` (409) when taken."""
    check_name("PolicyName", name, 128, "dashed")
    check_length("Description", description, 1024)
    parse_document(document)
    check_tags(tags)
    st = ram_state(ctx)
    check_new(st.policies, name, "Policy", "policy", MAX_CUSTOM_POLICIES)
    now = ctx.now_iso()
    policy = CustomPolicy(policy_name=name, description=description or "", create_date=now, update_date=now,
                          versions=[PolicyVersion(version_id="v1", document=document, create_date=now)],
                          version_counter=1, tags=dict(tags))
    st.policies[name] = policy
    return policy


def update_description(ctx: Ctx, name: str, description: str) -> None:
    """UpdatePolicyDescription: ≤1024 characters."""
    check_length("NewDescription", description, 1024)
    policy = get_custom(ctx, name)
    policy.description, policy.update_date = description, ctx.now_iso()


def create_policy_version(ctx: Ctx, name: str, document: str, set_default: bool,
                          rotate: str | None) -> VersionView:
    """CreatePolicyVersion: at most 5 versions unless the rotate strategy drops the oldest non-default."""
    policy = get_custom(ctx, name)
    parse_document(document)
    if rotate not in (None, "", "None", ROTATE_OLDEST):
        raise ram_error("InvalidParameter.RotateStrategy", 'The parameter - "RotateStrategy" is incorrect.')
    if len(policy.versions) >= MAX_VERSIONS:
        if rotate != ROTATE_OLDEST:
            raise ram_error("LimitExceeded.Policy.Version",
                            "The count of policy version beyond the current limits.")
        oldest = next(v for v in policy.versions if v.version_id != policy.default_version)
        policy.versions.remove(oldest)
    policy.version_counter += 1
    now = ctx.now_iso()
    version = PolicyVersion(version_id=f"v{policy.version_counter}", document=document, create_date=now)
    policy.versions.append(version)
    if set_default:
        policy.default_version = version.version_id
    policy.update_date = now
    return VersionView(version.version_id, document, now, set_default)


def set_default_version(ctx: Ctx, name: str, version_id: str) -> None:
    """SetDefaultPolicyVersion: the version must exist."""
    get_policy_version(ctx, "Custom", name, version_id)
    policy = get_custom(ctx, name)
    policy.default_version, policy.update_date = version_id, ctx.now_iso()


def delete_policy_version(ctx: Ctx, name: str, version_id: str) -> None:
    """DeletePolicyVersion: ``DeleteConflict.Policy.Version.Default`` (409) for the default version."""
    if get_policy_version(ctx, "Custom", name, version_id).is_default:
        raise ram_error("DeleteConflict.Policy.Version.Default",
                        "The default policy version CAN NOT been deleted directly.")
    policy = get_custom(ctx, name)
    policy.versions = [v for v in policy.versions if v.version_id != version_id]


def _holders(st: RamState) -> list[tuple[Holder, User | Group]]:
    return [("User", u) for u in st.users.values()] + [("Group", g) for g in st.groups.values()]


def entities_for_policy(ctx: Ctx, ptype: PolicyType, name: str) -> list[tuple[User | Group, Attachment]]:
    """ListEntitiesForPolicy: every user and group the policy is attached to, with the attachment."""
    get_policy(ctx, ptype, name)
    return [(h, a) for _, h in _holders(ram_state(ctx)) for a in h.policies
            if (a.policy_type, a.policy_name) == (ptype, name)]


def delete_policy(ctx: Ctx, name: str, cascading: bool) -> None:
    """DeletePolicy: ``DeleteConflict.Policy.User/Group/Version`` (409) unless ``CascadingDelete``."""
    policy = get_custom(ctx, name)
    attached = entities_for_policy(ctx, "Custom", name)
    if not cascading:
        for holder in ("User", "Group"):
            if any(isinstance(h, User) == (holder == "User") for h, _ in attached):
                raise ram_error(f"DeleteConflict.Policy.{holder}", "The policy CAN NOT been attached to "
                                f"any {holder.lower()} while deleting the policy.")
        if len(policy.versions) > 1:
            raise ram_error("DeleteConflict.Policy.Version",
                            "The policy CAN NOT has any version except the default version.")
    for entity, attachment in attached:
        entity.policies.remove(attachment)
    del ram_state(ctx).policies[name]


def attach_policy(ctx: Ctx, holder: Holder, entity: User | Group, ptype: PolicyType, name: str,
                  resource_group_id: str = "") -> None:
    """AttachPolicyTo{User,Group}: ``EntityAlreadyExists.<Holder>.Policy`` (409) on repeat."""
    get_policy(ctx, ptype, name)
    key = (ptype, name, resource_group_id)
    if any((a.policy_type, a.policy_name, a.resource_group_id) == key for a in entity.policies):
        raise ram_error(f"EntityAlreadyExists.{holder}.Policy",
                        f"The {holder.lower()} has already been attached this policy.")
    entity.policies.append(Attachment(policy_type=ptype, policy_name=name, attach_date=ctx.now_iso(),
                                      resource_group_id=resource_group_id))


def detach_policy(holder: Holder, entity: User | Group, ptype: PolicyType, name: str,
                  resource_group_id: str = "") -> None:
    """DetachPolicyFrom{User,Group}: ``EntityNotExist.<Holder>.Policy`` (404) when not attached."""
    key = (ptype, name, resource_group_id)
    found = next((a for a in entity.policies
                  if (a.policy_type, a.policy_name, a.resource_group_id) == key), None)
    if found is None:
        raise ram_error(f"EntityNotExist.{holder}.Policy",
                        f"The indicate policy of the {holder.lower()} does not exist.")
    entity.policies.remove(found)


# -- tags (ResourceType=policy only) ----------------------------------------------------------------
@dataclass(frozen=True)
class TagRow:
    resource_name: str
    key: str
    value: str


def _check_resource_type(resource_type: str | None) -> None:
    if resource_type == "role":
        raise ram_error("EntityNotExist.Role", "The role does not exist (roles are not emulated).")
    if resource_type != "policy":
        raise ram_error("InvalidParameter.ResourceType",
                        'The parameter - "ResourceType" must be policy or role.')


def _taggable(ctx: Ctx, resource_type: str | None, names: Sequence[str]) -> list[CustomPolicy]:
    _check_resource_type(resource_type)
    if not 1 <= len(names) <= 50:
        raise ram_error("InvalidParameter.ResourceNames",
                        'The parameter - "ResourceNames" must list 1 to 50 names.')
    return [get_custom(ctx, n) for n in names]


def tag_resources(ctx: Ctx, resource_type: str | None, names: Sequence[str],
                  tags: Sequence[tuple[str, str]]) -> None:
    """TagResources: adds or overwrites tags on custom policies."""
    if not tags:
        raise ram_error("MissingParameter", "The input parameter Tag that is mandatory is not supplied.")
    for policy in _taggable(ctx, resource_type, names):
        check_tags(tags, len(set(policy.tags) - {k for k, _ in tags}))
        policy.tags.update(dict(tags))


def untag_resources(ctx: Ctx, resource_type: str | None, names: Sequence[str], keys: Sequence[str],
                    remove_all: bool) -> None:
    """UntagResources: removes the given keys (or all tags); absent keys are ignored."""
    for policy in _taggable(ctx, resource_type, names):
        policy.tags = {} if remove_all else {k: v for k, v in policy.tags.items() if k not in keys}


def tags_match(tags: dict[str, str], wanted: Sequence[tuple[str, str | None]]) -> bool:
    """True when every wanted key is present (with the wanted value, when one is given)."""
    return all(k in tags and (v is None or tags[k] == v) for k, v in wanted)


def tag_rows(ctx: Ctx, resource_type: str | None, names: Sequence[str],
             wanted: Sequence[tuple[str, str | None]]) -> list[TagRow]:
    """ListTagResources rows (one per resource and tag); unknown names are skipped."""
    _check_resource_type(resource_type)
    st = ram_state(ctx)
    policies = [st.policies[n] for n in names if n in st.policies] if names else list(st.policies.values())
    return [TagRow(p.policy_name, k, v) for p in policies if tags_match(p.tags, wanted)
            for k, v in p.tags.items()]


# -- what the authorizer evaluates ------------------------------------------------------------------
def effective_policy_documents(world: World, account_id: str, user_name: str) -> list[dict[str, Any]]:
    """Parsed documents of every policy attached to the user directly or through its groups.

    Only account-scope attachments count: a resource-group-scoped one grants nothing on RAM,
    STS or Model Studio control APIs, which have no resource-group resources.
    """
    st = world.state(account_id, RamState)
    user = st.users.get(user_name)
    if user is None:
        return []
    attachments = list(user.policies)
    for group in st.groups.values():
        if any(m.user_name == user_name for m in group.members):
            attachments += group.policies
    ctx = Ctx(world, account_id)
    seen: set[tuple[str, str]] = set()
    docs: list[dict[str, Any]] = []
    for a in attachments:
        key = (a.policy_type, a.policy_name)
        if a.resource_group_id or key in seen:
            continue
        seen.add(key)
        docs.append(json.loads(get_policy(ctx, a.policy_type, a.policy_name).document))
    return docs

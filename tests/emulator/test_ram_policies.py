"""RAM policies in the emulator: system and custom policies, versions, attachments and tags, through
the official SDK over HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest
from alibabacloud_ram20150501 import models as m
from alibabacloud_ram20150501.client import Client
from sdk_errors import error_of

ROTATE = "DeleteOldestNonDefaultVersionWhenLimitExceeded"


def doc(*actions: str) -> str:
    return json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Action": list(actions),
                                                      "Resource": "*"}]})


def create_policy(ram: Client, name: str, document: str | None = None, **tags: str) -> Any:
    tag = [m.CreatePolicyRequestTag(key=k, value=v) for k, v in tags.items()] or None
    request = m.CreatePolicyRequest(policy_name=name, policy_document=document or doc("ram:Get*"),
                                    description="test", tag=tag)
    return ram.create_policy(request).body.policy


def versions(ram: Client, name: str) -> list[tuple[str, bool]]:
    listed = ram.list_policy_versions(m.ListPolicyVersionsRequest(policy_name=name, policy_type="Custom"))
    return [(v.version_id, v.is_default_version) for v in listed.body.policy_versions.policy_version]


# -- system policies --------------------------------------------------------------------------------
def test_system_policy_reads_back_its_documented_actions(ram: Client) -> None:
    request = m.GetPolicyRequest(policy_type="System", policy_name="AliyunBailianFullAccess")
    body = ram.get_policy(request).body
    statements = json.loads(body.default_policy_version.policy_document)["Statement"]
    actions = [a for s in statements for a in s["Action"]]
    assert {"modelstudio:*", "bailiancontrol:*", "sfm:*", "ram:ListRoles"} <= set(actions)
    assert (body.policy.policy_type, body.default_policy_version.is_default_version) == ("System", True)


def test_list_policies_filters_by_type(ram: Client) -> None:
    create_policy(ram, "team-read")
    custom = ram.list_policies(m.ListPoliciesRequest(policy_type="Custom")).body.policies.policy
    assert [p.policy_name for p in custom] == ["team-read"]
    system = ram.list_policies(m.ListPoliciesRequest(policy_type="System", max_items=1000)).body
    names = {p.policy_name for p in system.policies.policy}
    assert {"AliyunBailianDataReadOnlyAccess", "AliyunVPCReadOnlyAccess"} <= names
    assert "team-read" not in names


# -- custom policies and versions -------------------------------------------------------------------
def test_custom_policy_create_get_and_duplicate(ram: Client) -> None:
    created = create_policy(ram, "team-read")
    assert (created.policy_type, created.default_version) == ("Custom", "v1")
    got = ram.get_policy(m.GetPolicyRequest(policy_type="Custom", policy_name="team-read")).body
    assert got.default_policy_version.policy_document == doc("ram:Get*")
    assert got.policy.attachment_count == 0
    assert error_of(lambda: create_policy(ram, "team-read")) == ("EntityAlreadyExists.Policy", 409)
    missing = m.GetPolicyRequest(policy_type="Custom", policy_name="nope")
    assert error_of(lambda: ram.get_policy(missing)) == ("EntityNotExist.Policy", 404)


@pytest.mark.parametrize("document", [
    "{not json",
    json.dumps({"Statement": [{"Effect": "Allow", "Action": "ram:*", "Resource": "*"}]}),
    json.dumps({"Version": "1", "Statement": []}),
    json.dumps({"Version": "1", "Statement": [{"Effect": "Maybe", "Action": "ram:*", "Resource": "*"}]}),
    json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Resource": "*"}]}),
])
def test_malformed_documents_are_rejected(ram: Client, document: str) -> None:
    assert error_of(lambda: create_policy(ram, "bad", document)) == ("MalformedPolicyDocument", 400)


def test_invalid_policy_name_is_rejected(ram: Client) -> None:
    assert error_of(lambda: create_policy(ram, "under_score")) == \
        ("InvalidParameter.PolicyName.InvalidChars", 400)


def test_versions_stop_at_five_unless_the_rotate_strategy_drops_the_oldest(ram: Client) -> None:
    create_policy(ram, "rotating")
    for i in range(2, 6):
        ram.create_policy_version(m.CreatePolicyVersionRequest(
            policy_name="rotating", policy_document=doc(f"ram:Get{i}"), set_as_default=(i == 3)))
    assert versions(ram, "rotating") == \
        [("v1", False), ("v2", False), ("v3", True), ("v4", False), ("v5", False)]

    sixth = m.CreatePolicyVersionRequest(policy_name="rotating", policy_document=doc("ram:Get6"),
                                         set_as_default=True)
    assert error_of(lambda: ram.create_policy_version(sixth)) == ("LimitExceeded.Policy.Version", 409)

    sixth.rotate_strategy = ROTATE
    created = ram.create_policy_version(sixth).body.policy_version
    assert (created.version_id, created.is_default_version) == ("v6", True)
    assert versions(ram, "rotating") == \
        [("v2", False), ("v3", False), ("v4", False), ("v5", False), ("v6", True)]
    got = ram.get_policy(m.GetPolicyRequest(policy_type="Custom", policy_name="rotating")).body
    assert got.default_policy_version.policy_document == doc("ram:Get6")


def test_default_version_can_be_switched_but_not_deleted(ram: Client) -> None:
    create_policy(ram, "switch")
    ram.create_policy_version(m.CreatePolicyVersionRequest(policy_name="switch",
                                                           policy_document=doc("ram:List*")))
    ram.set_default_policy_version(m.SetDefaultPolicyVersionRequest(policy_name="switch", version_id="v2"))
    delete_v2 = m.DeletePolicyVersionRequest(policy_name="switch", version_id="v2")
    assert error_of(lambda: ram.delete_policy_version(delete_v2)) == \
        ("DeleteConflict.Policy.Version.Default", 409)
    ram.delete_policy_version(m.DeletePolicyVersionRequest(policy_name="switch", version_id="v1"))
    assert versions(ram, "switch") == [("v2", True)]
    get_v1 = m.GetPolicyVersionRequest(policy_name="switch", policy_type="Custom", version_id="v1")
    assert error_of(lambda: ram.get_policy_version(get_v1)) == ("EntityNotExist.Policy.Version", 404)


def test_delete_policy_conflicts_unless_cascading(ram: Client) -> None:
    create_policy(ram, "shared")
    ram.create_user(m.CreateUserRequest(user_name="alice"))
    ram.create_group(m.CreateGroupRequest(group_name="devs"))
    ram.attach_policy_to_user(m.AttachPolicyToUserRequest(policy_type="Custom", policy_name="shared",
                                                          user_name="alice"))
    ram.attach_policy_to_group(m.AttachPolicyToGroupRequest(policy_type="Custom", policy_name="shared",
                                                            group_name="devs"))
    ram.create_policy_version(m.CreatePolicyVersionRequest(policy_name="shared",
                                                           policy_document=doc("ram:*")))
    delete = m.DeletePolicyRequest(policy_name="shared")
    assert error_of(lambda: ram.delete_policy(delete)) == ("DeleteConflict.Policy.User", 409)
    ram.detach_policy_from_user(m.DetachPolicyFromUserRequest(policy_type="Custom", policy_name="shared",
                                                              user_name="alice"))
    assert error_of(lambda: ram.delete_policy(delete)) == ("DeleteConflict.Policy.Group", 409)
    ram.detach_policy_from_group(m.DetachPolicyFromGroupRequest(policy_type="Custom", policy_name="shared",
                                                                group_name="devs"))
    assert error_of(lambda: ram.delete_policy(delete)) == ("DeleteConflict.Policy.Version", 409)

    ram.attach_policy_to_user(m.AttachPolicyToUserRequest(policy_type="Custom", policy_name="shared",
                                                          user_name="alice"))
    ram.delete_policy(m.DeletePolicyRequest(policy_name="shared", cascading_delete=True))
    listed = ram.list_policies_for_user(m.ListPoliciesForUserRequest(user_name="alice")).body
    assert listed.policies.policy == []


# -- attachments ------------------------------------------------------------------------------------
def test_attach_and_detach_report_repeats_with_their_idempotency_codes(ram: Client) -> None:
    ram.create_user(m.CreateUserRequest(user_name="bob"))
    ref = {"policy_type": "System", "policy_name": "AliyunBailianDataReadOnlyAccess", "user_name": "bob"}
    ram.attach_policy_to_user(m.AttachPolicyToUserRequest(**ref))
    assert error_of(lambda: ram.attach_policy_to_user(m.AttachPolicyToUserRequest(**ref))) == \
        ("EntityAlreadyExists.User.Policy", 409)
    [listed] = ram.list_policies_for_user(m.ListPoliciesForUserRequest(user_name="bob")).body.policies.policy
    assert (listed.policy_name, listed.policy_type, listed.default_version) == \
        ("AliyunBailianDataReadOnlyAccess", "System", "v2")
    assert listed.attach_date is not None

    ram.detach_policy_from_user(m.DetachPolicyFromUserRequest(**ref))
    assert error_of(lambda: ram.detach_policy_from_user(m.DetachPolicyFromUserRequest(**ref))) == \
        ("EntityNotExist.User.Policy", 404)


def test_attach_needs_an_existing_policy_and_user(ram: Client) -> None:
    ram.create_user(m.CreateUserRequest(user_name="bob"))
    no_policy = m.AttachPolicyToUserRequest(policy_type="Custom", policy_name="ghost", user_name="bob")
    assert error_of(lambda: ram.attach_policy_to_user(no_policy)) == ("EntityNotExist.Policy", 404)
    no_user = m.AttachPolicyToUserRequest(policy_type="System", policy_name="AliyunVPCFullAccess",
                                          user_name="x")
    assert error_of(lambda: ram.attach_policy_to_user(no_user)) == ("EntityNotExist.User", 404)
    bad_type = m.AttachPolicyToUserRequest(policy_type="Managed", policy_name="AliyunVPCFullAccess",
                                           user_name="bob")
    assert error_of(lambda: ram.attach_policy_to_user(bad_type)) == ("InvalidParameter.PolicyType", 400)


def test_list_entities_for_policy_names_users_and_groups(ram: Client) -> None:
    ram.create_user(m.CreateUserRequest(user_name="carol", display_name="Carol"))
    ram.create_group(m.CreateGroupRequest(group_name="ops"))
    vpc_full = {"policy_type": "System", "policy_name": "AliyunVPCFullAccess"}
    ram.attach_policy_to_user(m.AttachPolicyToUserRequest(user_name="carol", **vpc_full))
    ram.attach_policy_to_group(m.AttachPolicyToGroupRequest(group_name="ops", **vpc_full))
    body = ram.list_entities_for_policy(m.ListEntitiesForPolicyRequest(
        policy_type="System", policy_name="AliyunVPCFullAccess")).body
    assert [(u.user_name, u.display_name) for u in body.users.user] == [("carol", "Carol")]
    assert [g.group_name for g in body.groups.group] == ["ops"]
    got = ram.get_policy(m.GetPolicyRequest(policy_type="System", policy_name="AliyunVPCFullAccess")).body
    assert got.policy.attachment_count == 2


# -- tags -------------------------------------------------------------------------------------------
def test_tags_round_trip_through_the_json_string_parameters(ram: Client) -> None:
    create_policy(ram, "tagged", **{"managed-by": "provision"})
    create_policy(ram, "plain")
    ram.tag_resources(m.TagResourcesRequest(resource_type="policy", resource_names=["plain", "tagged"],
                                            tag=[m.TagResourcesRequestTag(key="team", value="ml")]))
    rows = ram.list_tag_resources(m.ListTagResourcesRequest(resource_type="policy")).body.tag_resources
    assert sorted((r.resource_name, r.tag_key, r.tag_value) for r in rows) == [
        ("plain", "team", "ml"), ("tagged", "managed-by", "provision"), ("tagged", "team", "ml")]

    managed = ram.list_policies(m.ListPoliciesRequest(policy_type="Custom", tag=[
        m.ListPoliciesRequestTag(key="managed-by", value="provision")])).body.policies.policy
    assert [(p.policy_name, [(t.tag_key, t.tag_value) for t in p.tags.tag]) for p in managed] == \
        [("tagged", [("managed-by", "provision"), ("team", "ml")])]

    ram.untag_resources(m.UntagResourcesRequest(resource_type="policy", resource_names=["tagged"],
                                                tag_keys=["team"]))
    ram.untag_resources(m.UntagResourcesRequest(resource_type="policy", resource_names=["plain"], all=True))
    rows = ram.list_tag_resources(m.ListTagResourcesRequest(
        resource_type="policy", resource_names=["tagged", "plain"],
        tag=[m.ListTagResourcesRequestTag(key="managed-by")]))
    assert [(r.resource_name, r.tag_key) for r in rows.body.tag_resources] == [("tagged", "managed-by")]


def test_list_tag_resources_pages_with_next_token(ram: Client) -> None:
    create_policy(ram, "many", **{f"k{i}": str(i) for i in range(5)})
    keys: list[str] = []
    token = None
    while True:
        body = ram.list_tag_resources(m.ListTagResourcesRequest(resource_type="policy", page_size=2,
                                                                next_token=token)).body
        keys += [r.tag_key for r in body.tag_resources]
        token = body.next_token
        if not token:
            break
    assert keys == [f"k{i}" for i in range(5)]


def test_only_policies_can_be_tagged(ram: Client) -> None:
    request = m.TagResourcesRequest(resource_type="user", resource_names=["alice"],
                                    tag=[m.TagResourcesRequestTag(key="k", value="v")])
    assert error_of(lambda: ram.tag_resources(request)) == ("InvalidParameter.ResourceType", 400)
    request.resource_type, request.resource_names = "policy", ["ghost"]
    assert error_of(lambda: ram.tag_resources(request)) == ("EntityNotExist.Policy", 404)

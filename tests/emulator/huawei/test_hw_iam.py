"""IAM v5 through the official SDK: users, access keys, login profiles, tags, policies, groups; each
resource's success, duplicate, not-found, limit and paging paths; identity policies enforced."""

from __future__ import annotations

import json

from huaweicloudsdkiam.v5 import (
    AddUserToGroupReqBody,
    AddUserToGroupV5Request,
    AttachUserPolicyReqBody,
    AttachUserPolicyV5Request,
    CreateAccessKeyV5Request,
    CreateGroupReqBody,
    CreateGroupV5Request,
    CreateLoginProfileReqBody,
    CreateLoginProfileV5Request,
    CreatePolicyReqBody,
    CreatePolicyV5Request,
    CreatePolicyVersionReqBody,
    CreatePolicyVersionV5Request,
    CreateUserReqBody,
    CreateUserV5Request,
    DeleteLoginProfileV5Request,
    DeletePolicyV5Request,
    DeleteUserV5Request,
    DetachUserPolicyReqBody,
    DetachUserPolicyV5Request,
    GetPolicyVersionV5Request,
    ListAccessKeysV5Request,
    ListAttachedUserPoliciesV5Request,
    ListGroupsV5Request,
    ListPoliciesV5Request,
    ListResourceTagsV5Request,
    ListUsersV5Request,
    RemoveUserFromGroupReqBody,
    RemoveUserFromGroupV5Request,
    ShowLoginProfileV5Request,
    ShowUserV5Request,
    Tag,
    TagResourceV5Request,
    Tags,
)

from provision.emulator.huawei.policy import SYSTEM_BY_NAME
from provision.emulator.huawei.testing import HuaweiClients
from tests.emulator.huawei.conftest import new_user, sdk_error


def _create(hw: HuaweiClients, name: str) -> str:
    body = CreateUserReqBody(name=name, description="managed-by=provision", enabled=True)
    return str(hw.iam().create_user_v5(CreateUserV5Request(body=body)).user.user_id)


def test_users_create_show_duplicate_and_not_found(hw: HuaweiClients) -> None:
    user_id = _create(hw, "alice")
    shown = hw.iam().show_user_v5(ShowUserV5Request(user_id=user_id)).user
    assert (shown.user_name, shown.description, shown.enabled) == ("alice", "managed-by=provision", True)
    assert shown.urn == f"iam::{hw.domain_id}:user:alice"
    duplicate = sdk_error(lambda: _create(hw, "alice"))
    assert (duplicate.status_code, duplicate.error_code) == (409, "PAP5.0009")
    missing = sdk_error(lambda: hw.iam().show_user_v5(ShowUserV5Request(user_id="0" * 32)))
    assert (missing.status_code, missing.error_code) == (404, "PAP5.0004")
    bad = sdk_error(lambda: _create(hw, "1starts-with-digit"))
    assert bad.status_code == 400


def test_users_page_with_limit_and_marker_until_next_marker_is_absent(hw: HuaweiClients) -> None:
    names = [f"user-{i}" for i in range(5)]
    for name in names:
        _create(hw, name)
    seen, marker, pages = [], None, 0
    while True:
        answer = hw.iam().list_users_v5(ListUsersV5Request(limit=2, marker=marker))
        seen += [u.user_name for u in answer.users]
        pages += 1
        marker = answer.page_info.next_marker
        if not marker:
            break
    assert (seen, pages) == (names, 3)
    forged = sdk_error(lambda: hw.iam().list_users_v5(ListUsersV5Request(marker="not-a-marker")))
    assert (forged.status_code, forged.error_code) == (400, "PAP5.0010")
    assert sdk_error(lambda: hw.iam().list_users_v5(ListUsersV5Request(limit=201))).status_code == 400


def test_two_access_keys_per_user_and_the_secret_only_at_creation(hw: HuaweiClients) -> None:
    user_id, alice = new_user(hw)
    second = hw.iam().create_access_key_v5(CreateAccessKeyV5Request(user_id=user_id)).access_key
    assert len(second.access_key_id) == 20 and len(second.secret_access_key) == 40
    third = sdk_error(lambda: hw.iam().create_access_key_v5(CreateAccessKeyV5Request(user_id=user_id)))
    assert (third.status_code, third.error_code) == (409, "PAP5.0012")
    listed = hw.iam().list_access_keys_v5(ListAccessKeysV5Request(user_id=user_id))
    assert {k.access_key_id for k in listed.access_keys} == {alice.ak, second.access_key_id}
    assert "secret" not in json.dumps(listed.to_json_object())
    found = hw.iam().list_users_v5(ListUsersV5Request(access_key_id=alice.ak)).users
    assert [u.user_id for u in found] == [user_id]


def test_login_profiles_duplicate_not_found_and_password_rule(hw: HuaweiClients) -> None:
    user_id = _create(hw, "alice")
    iam = hw.iam()

    def create(password: str) -> object:
        body = CreateLoginProfileReqBody(password=password, password_reset_required=True)
        return iam.create_login_profile_v5(CreateLoginProfileV5Request(user_id=user_id, body=body))

    assert sdk_error(lambda: create("short1")).status_code == 400
    create("Delivery-pass-2026")
    shown = iam.show_login_profile_v5(ShowLoginProfileV5Request(user_id=user_id)).login_profile
    assert shown.password_reset_required is True
    assert sdk_error(lambda: create("Delivery-pass-2027")).status_code == 409
    iam.delete_login_profile_v5(DeleteLoginProfileV5Request(user_id=user_id))
    gone = sdk_error(lambda: iam.show_login_profile_v5(ShowLoginProfileV5Request(user_id=user_id)))
    assert gone.status_code == 404


def test_user_tags_are_the_ownership_marker_and_have_limits(hw: HuaweiClients) -> None:
    user_id = _create(hw, "alice")
    iam = hw.iam()

    def tag(tags: list[dict[str, str]]) -> object:
        return iam.tag_resource_v5(
            TagResourceV5Request(
                resource_type="user", resource_id=user_id, body=Tags(tags=[Tag(**t) for t in tags])
            )
        )

    tag([{"tag_key": "managed-by", "tag_value": "provision"}])
    listed = iam.list_resource_tags_v5(ListResourceTagsV5Request(resource_type="user", resource_id=user_id))
    assert [(t.tag_key, t.tag_value) for t in listed.tags] == [("managed-by", "provision")]
    assert iam.show_user_v5(ShowUserV5Request(user_id=user_id)).user.tags[0].tag_key == "managed-by"
    duplicate = sdk_error(
        lambda: tag([{"tag_key": "a", "tag_value": "1"}, {"tag_key": "a", "tag_value": "2"}])
    )
    assert duplicate.error_code == "PAP5.0033"
    too_many = sdk_error(lambda: tag([{"tag_key": f"k{i}", "tag_value": "v"} for i in range(20)]))
    assert (too_many.status_code, too_many.error_code) == (409, "PAP5.0012")


def test_delete_user_refuses_while_something_remains(hw: HuaweiClients) -> None:
    user_id, alice = new_user(hw)
    conflict = sdk_error(lambda: hw.iam().delete_user_v5(DeleteUserV5Request(user_id=user_id)))
    assert (conflict.status_code, conflict.error_code) == (409, "PAP5.0013")
    assert "access keys" in conflict.error_msg
    hw.signed("DELETE", f"/v5/users/{user_id}/access-keys/{alice.ak}")
    hw.iam().delete_user_v5(DeleteUserV5Request(user_id=user_id))
    assert hw.iam().list_users_v5(ListUsersV5Request()).users == []


def _policy(hw: HuaweiClients, name: str, actions: list[str]) -> str:
    document = json.dumps({"Version": "5.0", "Statement": [{"Effect": "Allow", "Action": actions}]})
    body = CreatePolicyReqBody(policy_name=name, policy_document=document, description="d")
    return str(hw.iam().create_policy_v5(CreatePolicyV5Request(body=body)).policy.policy_id)


def test_custom_policies_grant_what_they_say_and_system_policies_are_listed(hw: HuaweiClients) -> None:
    user_id, alice = new_user(hw)
    policy_id = _policy(hw, "read-users", ["iam:users:listUsersV5"])
    hw.iam().attach_user_policy_v5(
        AttachUserPolicyV5Request(policy_id=policy_id, body=AttachUserPolicyReqBody(user_id=user_id))
    )
    assert [u.user_name for u in alice.iam().list_users_v5(ListUsersV5Request()).users] == ["alice"]
    assert sdk_error(lambda: _create(alice, "mallory")).error_code == "PAP5.0001"
    attached = hw.iam().list_attached_user_policies_v5(ListAttachedUserPoliciesV5Request(user_id=user_id))
    assert [p.policy_name for p in attached.attached_policies] == ["read-users"]
    still = sdk_error(lambda: hw.iam().delete_policy_v5(DeletePolicyV5Request(policy_id=policy_id)))
    assert (still.status_code, still.error_code) == (409, "PAP5.0013")
    hw.iam().detach_user_policy_v5(
        DetachUserPolicyV5Request(policy_id=policy_id, body=DetachUserPolicyReqBody(user_id=user_id))
    )
    assert sdk_error(lambda: alice.iam().list_users_v5(ListUsersV5Request())).status_code == 403
    system = hw.iam().list_policies_v5(ListPoliciesV5Request(policy_type="system", limit=200)).policies
    assert "ModelArtsFullAccessPolicy" in {p.policy_name for p in system}
    assert sdk_error(lambda: _policy(hw, "read-users", ["*"])).error_code == "PAP5.0009"


def test_a_deny_wins_and_a_malformed_document_is_pap5_0011(hw: HuaweiClients) -> None:
    user_id, alice = new_user(hw)
    deny = json.dumps({"Version": "5.0", "Statement": [{"Effect": "Deny", "Action": ["iam:users:create*"]}]})
    deny_id = (
        hw.iam()
        .create_policy_v5(
            CreatePolicyV5Request(body=CreatePolicyReqBody(policy_name="no-create", policy_document=deny))
        )
        .policy.policy_id
    )
    for policy_id in (SYSTEM_BY_NAME["IAMFullAccessPolicy"].policy_id, deny_id):
        hw.iam().attach_user_policy_v5(
            AttachUserPolicyV5Request(policy_id=policy_id, body=AttachUserPolicyReqBody(user_id=user_id))
        )
    alice.iam().list_users_v5(ListUsersV5Request())
    assert "ExplicitDeny" in sdk_error(lambda: _create(alice, "mallory")).error_msg
    bad = sdk_error(
        lambda: hw.iam().create_policy_v5(
            CreatePolicyV5Request(
                body=CreatePolicyReqBody(
                    policy_name="bad", policy_document='{"Version": "5.0", "Statement": []}'
                )
            )
        )
    )
    assert (bad.status_code, bad.error_code) == (400, "PAP5.0011")


def test_policy_versions_stop_at_five(hw: HuaweiClients) -> None:
    policy_id = _policy(hw, "versioned", ["iam:users:listUsersV5"])
    document = json.dumps({"Version": "5.0", "Statement": [{"Effect": "Allow", "Action": ["iam:*"]}]})
    for _ in range(4):
        version = hw.iam().create_policy_version_v5(
            CreatePolicyVersionV5Request(
                policy_id=policy_id,
                body=CreatePolicyVersionReqBody(policy_document=document, set_as_default=True),
            )
        )
    assert version.policy_version.version_id == "v5" and version.policy_version.is_default
    limit = sdk_error(
        lambda: hw.iam().create_policy_version_v5(
            CreatePolicyVersionV5Request(
                policy_id=policy_id, body=CreatePolicyVersionReqBody(policy_document=document)
            )
        )
    )
    assert (limit.status_code, limit.error_code) == (409, "PAP5.0028")
    v1 = hw.iam().get_policy_version_v5(GetPolicyVersionV5Request(policy_id=policy_id, version_id="v1"))
    assert v1.policy_version.is_default is False


def test_groups_pass_their_policies_to_members(hw: HuaweiClients) -> None:
    user_id, alice = new_user(hw)
    group = (
        hw.iam().create_group_v5(CreateGroupV5Request(body=CreateGroupReqBody(group_name="readers"))).group
    )
    duplicate = sdk_error(
        lambda: hw.iam().create_group_v5(CreateGroupV5Request(body=CreateGroupReqBody(group_name="readers")))
    )
    assert duplicate.status_code == 409
    hw.signed(
        "POST",
        f"/v5/policies/{SYSTEM_BY_NAME['IAMReadOnlyPolicy'].policy_id}/attach-group",
        {"group_id": group.group_id},
    )
    hw.iam().add_user_to_group_v5(
        AddUserToGroupV5Request(group_id=group.group_id, body=AddUserToGroupReqBody(user_id=user_id))
    )
    assert alice.iam().list_users_v5(ListUsersV5Request()).users[0].user_id == user_id
    mine = hw.iam().list_groups_v5(ListGroupsV5Request(user_id=user_id)).groups
    assert [g.group_name for g in mine] == ["readers"]
    hw.iam().remove_user_from_group_v5(
        RemoveUserFromGroupV5Request(
            group_id=group.group_id, body=RemoveUserFromGroupReqBody(user_id=user_id)
        )
    )
    assert sdk_error(lambda: alice.iam().list_users_v5(ListUsersV5Request())).status_code == 403
    again = sdk_error(
        lambda: hw.iam().remove_user_from_group_v5(
            RemoveUserFromGroupV5Request(
                group_id=group.group_id, body=RemoveUserFromGroupReqBody(user_id=user_id)
            )
        )
    )
    assert again.status_code == 404


def test_documents_with_a_malformed_condition_or_action_are_refused(hw: HuaweiClients) -> None:
    for statement in (
        {"Effect": "Allow", "Action": ["*"], "Condition": {"StringEquals": ["x"]}},
        {"Effect": "Allow", "Action": [1]},
        {"Effect": "Maybe", "Action": ["*"]},
        {"Effect": "Allow", "Action": ["*"], "NotAction": ["x"]},
    ):
        document = json.dumps({"Version": "5.0", "Statement": [statement]})
        error = sdk_error(
            lambda document=document: hw.iam().create_policy_v5(
                CreatePolicyV5Request(body=CreatePolicyReqBody(policy_name="bad", policy_document=document))
            )
        )
        assert (error.status_code, error.error_code) == (400, "PAP5.0011"), statement

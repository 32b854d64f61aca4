"""RAM policy evaluation: the pure rules, then what a RAM user's SDK call gets."""

from __future__ import annotations

import json
from typing import Any

import pytest
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi.exceptions import ClientException

from provision.emulator.auth import evaluate, is_allowed
from provision.emulator.testing import EmulatorHandle


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "1", "Statement": list(statements)}


ALLOW_RAM_READ = {"Effect": "Allow", "Action": ["ram:Get*", "ram:List*"], "Resource": "*"}


def test_allow_with_wildcard_matches_case_insensitively() -> None:
    assert is_allowed([_doc(ALLOW_RAM_READ)], "RAM:getuser")
    assert not is_allowed([_doc(ALLOW_RAM_READ)], "ram:CreateUser")


def test_question_mark_matches_exactly_one_character() -> None:
    doc = _doc({"Effect": "Allow", "Action": "ram:GetUse?", "Resource": "*"})
    assert is_allowed([doc], "ram:GetUser")
    assert not is_allowed([doc], "ram:GetUsers")


def test_explicit_deny_wins_over_any_allow() -> None:
    deny = _doc({"Effect": "Deny", "Action": "ram:GetUser", "Resource": "*"})
    assert evaluate([_doc(ALLOW_RAM_READ), deny], "ram:GetUser") == "ExplicitDeny"
    assert evaluate([_doc(ALLOW_RAM_READ), deny], "ram:ListUsers") == "Allow"


def test_nothing_matching_is_implicit_deny() -> None:
    assert evaluate([], "ram:GetUser") == "ImplicitDeny"


def test_statement_without_resource_grants_nothing() -> None:
    assert not is_allowed([_doc({"Effect": "Allow", "Action": "*"})], "ram:GetUser")


def test_not_action_allows_everything_else() -> None:
    doc = _doc({"Effect": "Allow", "NotAction": "ram:*", "Resource": "*"})
    assert is_allowed([doc], "modelstudio:CreateWorkspace")
    assert not is_allowed([doc], "ram:GetUser")


def test_single_statement_object_is_accepted() -> None:
    assert is_allowed([{"Version": "1", "Statement": ALLOW_RAM_READ}], "ram:GetUser")


@pytest.fixture
def alice(emulator: EmulatorHandle) -> tuple[RamClient, RamClient]:
    """(root RAM client, RAM client signed by alice's own key); alice has no policy yet."""
    root = RamClient(emulator.sdk_config())
    root.create_user(ram_models.CreateUserRequest(user_name="alice"))
    key = root.create_access_key(ram_models.CreateAccessKeyRequest(user_name="alice")).body.access_key
    return root, RamClient(emulator.sdk_config(key.access_key_id, key.access_key_secret))


def test_user_without_policy_gets_no_permission_with_detail(alice: tuple[RamClient, RamClient]) -> None:
    _, as_alice = alice
    with pytest.raises(ClientException) as caught:
        as_alice.list_users(ram_models.ListUsersRequest())
    error = caught.value
    assert (error.code, error.status_code) == ("NoPermission", 403)
    assert error.access_denied_detail["AuthAction"] == "ram:ListUsers"
    assert error.access_denied_detail["NoPermissionType"] == "ImplicitDeny"


def test_attached_policy_allows_and_custom_deny_overrides(alice: tuple[RamClient, RamClient]) -> None:
    root, as_alice = alice
    root.attach_policy_to_user(ram_models.AttachPolicyToUserRequest(
        policy_type="System", policy_name="AliyunRAMReadOnlyAccess", user_name="alice"))
    assert as_alice.list_users(ram_models.ListUsersRequest()).body.users.user
    deny = json.dumps(_doc({"Effect": "Deny", "Action": "ram:ListUsers", "Resource": "*"}))
    root.create_policy(ram_models.CreatePolicyRequest(policy_name="deny-list", policy_document=deny))
    root.attach_policy_to_user(ram_models.AttachPolicyToUserRequest(
        policy_type="Custom", policy_name="deny-list", user_name="alice"))
    with pytest.raises(ClientException) as caught:
        as_alice.list_users(ram_models.ListUsersRequest())
    assert caught.value.access_denied_detail["NoPermissionType"] == "ExplicitDeny"


def test_any_authenticated_user_may_ask_who_it_is(emulator: EmulatorHandle,
                                                  alice: tuple[RamClient, RamClient]) -> None:
    root, _ = alice
    key = root.create_access_key(ram_models.CreateAccessKeyRequest(user_name="alice")).body.access_key
    sts = StsClient(emulator.sdk_config(key.access_key_id, key.access_key_secret))
    assert sts.get_caller_identity().body.identity_type == "RAMUser"

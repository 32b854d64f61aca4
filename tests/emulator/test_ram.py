"""RAM users, login profiles and access keys in the emulator, driven by the official SDK over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from alibabacloud_ram20150501 import models as m
from alibabacloud_ram20150501.client import Client
from sdk_errors import error_of


def create_user(ram: Client, name: str, **fields: str) -> Any:
    return ram.create_user(m.CreateUserRequest(user_name=name, **fields)).body.user


def create_key(ram: Client, user: str) -> tuple[str, str]:
    key = ram.create_access_key(m.CreateAccessKeyRequest(user_name=user)).body.access_key
    return key.access_key_id, key.access_key_secret


# -- users ------------------------------------------------------------------------------------------
def test_user_round_trip_create_get_update_delete(ram: Client) -> None:
    created = create_user(ram, "alice", display_name="Alice", comments="managed-by=provision")
    assert (created.user_name, created.display_name, created.comments) == \
        ("alice", "Alice", "managed-by=provision")
    assert len(created.user_id) == 16 and created.user_id.isdigit()

    got = ram.get_user(m.GetUserRequest(user_name="alice")).body.user
    assert (got.user_id, got.create_date) == (created.user_id, created.create_date)
    assert got.update_date is not None

    updated = ram.update_user(m.UpdateUserRequest(user_name="alice", new_user_name="alice2",
                                                  new_display_name="Alice B")).body.user
    assert (updated.user_name, updated.display_name, updated.comments, updated.user_id) == \
        ("alice2", "Alice B", "managed-by=provision", created.user_id)
    assert error_of(lambda: ram.get_user(m.GetUserRequest(user_name="alice"))) == ("EntityNotExist.User", 404)

    ram.delete_user(m.DeleteUserRequest(user_name="alice2"))
    gone = m.GetUserRequest(user_name="alice2")
    assert error_of(lambda: ram.get_user(gone)) == ("EntityNotExist.User", 404)


def test_creating_an_existing_user_is_entity_already_exists(ram: Client) -> None:
    create_user(ram, "alice")
    assert error_of(lambda: create_user(ram, "alice")) == ("EntityAlreadyExists.User", 409)


@pytest.mark.parametrize(("name", "code"), [
    ("has space", "InvalidParameter.UserName.InvalidChars"),
    ("a" * 65, "InvalidParameter.UserName.Length"),
])
def test_invalid_user_names_are_rejected(ram: Client, name: str, code: str) -> None:
    assert error_of(lambda: create_user(ram, name)) == (code, 400)


def test_comments_longer_than_128_are_rejected(ram: Client) -> None:
    assert error_of(lambda: create_user(ram, "bob", comments="x" * 129)) == \
        ("InvalidParameter.Comments.Length", 400)


def test_list_users_pages_with_max_items_and_marker(ram: Client) -> None:
    names = [f"user-{i}" for i in range(5)]
    for name in names:
        create_user(ram, name)
    seen: list[str] = []
    pages: list[bool] = []
    marker = None
    while True:
        body = ram.list_users(m.ListUsersRequest(max_items=2, marker=marker)).body
        seen += [u.user_name for u in body.users.user]
        pages.append(body.is_truncated)
        if not body.is_truncated:
            break
        marker = body.marker
    assert seen == names
    assert pages == [True, True, False]


def test_list_users_rejects_max_items_out_of_range(ram: Client) -> None:
    assert error_of(lambda: ram.list_users(m.ListUsersRequest(max_items=1001))) == \
        ("InvalidParameter.MaxItems", 400)


def _attach_key(ram: Client) -> Callable[[], None]:
    key_id, _ = create_key(ram, "carol")
    request = m.DeleteAccessKeyRequest(user_name="carol", user_access_key_id=key_id)
    return lambda: ram.delete_access_key(request)


def _attach_login(ram: Client) -> Callable[[], None]:
    ram.create_login_profile(m.CreateLoginProfileRequest(user_name="carol", password="Str0ngPassw0rd"))
    return lambda: ram.delete_login_profile(m.DeleteLoginProfileRequest(user_name="carol"))


def _attach_policy(ram: Client) -> Callable[[], None]:
    ref = {"policy_type": "System", "policy_name": "AliyunBailianFullAccess", "user_name": "carol"}
    ram.attach_policy_to_user(m.AttachPolicyToUserRequest(**ref))
    return lambda: ram.detach_policy_from_user(m.DetachPolicyFromUserRequest(**ref))


def _attach_group(ram: Client) -> Callable[[], None]:
    ram.create_group(m.CreateGroupRequest(group_name="devs"))
    ram.add_user_to_group(m.AddUserToGroupRequest(group_name="devs", user_name="carol"))
    request = m.RemoveUserFromGroupRequest(group_name="devs", user_name="carol")
    return lambda: ram.remove_user_from_group(request)


def _attach_mfa(ram: Client) -> Callable[[], None]:
    serial = ram.create_virtual_mfadevice(m.CreateVirtualMFADeviceRequest(
        virtual_mfadevice_name="carol-mfa")).body.virtual_mfadevice.serial_number
    ram.bind_mfadevice(m.BindMFADeviceRequest(user_name="carol", serial_number=serial,
                                              authentication_code_1="123456", authentication_code_2="654321"))
    return lambda: ram.unbind_mfadevice(m.UnbindMFADeviceRequest(user_name="carol"))


@pytest.mark.parametrize(("attach", "code"), [
    (_attach_key, "DeleteConflict.User.AccessKey"),
    (_attach_login, "DeleteConflict.User.LoginProfile"),
    (_attach_policy, "DeleteConflict.User.Policy"),
    (_attach_group, "DeleteConflict.User.Group"),
    (_attach_mfa, "DeleteConflict.User.MFADevice"),
])
def test_delete_user_is_refused_while_anything_is_attached(
        ram: Client, attach: Callable[[Client], Callable[[], None]], code: str) -> None:
    create_user(ram, "carol")
    detach = attach(ram)
    assert error_of(lambda: ram.delete_user(m.DeleteUserRequest(user_name="carol"))) == (code, 409)
    detach()
    ram.delete_user(m.DeleteUserRequest(user_name="carol"))
    assert error_of(lambda: ram.get_user(m.GetUserRequest(user_name="carol")))[0] == "EntityNotExist.User"


# -- login profiles ---------------------------------------------------------------------------------
def test_login_profile_lifecycle_never_returns_the_password(ram: Client) -> None:
    create_user(ram, "dave")
    get = m.GetLoginProfileRequest(user_name="dave")
    assert error_of(lambda: ram.get_login_profile(get)) == ("EntityNotExist.User.LoginProfile", 404)

    created = ram.create_login_profile(m.CreateLoginProfileRequest(
        user_name="dave", password="Str0ngPassw0rd", password_reset_required=True)).body
    assert "Str0ngPassw0rd" not in str(created.to_map())
    profile = created.login_profile
    assert (profile.password_reset_required, profile.mfabind_required) == (True, False)
    again = m.CreateLoginProfileRequest(user_name="dave", password="Str0ngPassw0rd")
    assert error_of(lambda: ram.create_login_profile(again)) == ("EntityAlreadyExists.User.LoginProfile", 409)

    ram.update_login_profile(m.UpdateLoginProfileRequest(user_name="dave", mfabind_required=True))
    profile = ram.get_login_profile(get).body.login_profile
    assert (profile.password_reset_required, profile.mfabind_required) == (True, True)
    assert "Str0ngPassw0rd" not in str(ram.get_login_profile(get).body.to_map())

    ram.delete_login_profile(m.DeleteLoginProfileRequest(user_name="dave"))
    assert error_of(lambda: ram.get_login_profile(get))[0] == "EntityNotExist.User.LoginProfile"
    assert error_of(lambda: ram.delete_login_profile(m.DeleteLoginProfileRequest(user_name="dave"))) == \
        ("EntityNotExist.User.LoginProfile", 404)


@pytest.mark.parametrize("password", ["short1", "onlyletters", "1234567890"])
def test_weak_passwords_are_too_weak(ram: Client, password: str) -> None:
    create_user(ram, "erin")
    request = m.CreateLoginProfileRequest(user_name="erin", password=password)
    assert error_of(lambda: ram.create_login_profile(request)) == ("InvalidParameter.Password.TooWeak", 400)


# -- access keys ------------------------------------------------------------------------------------
def test_a_third_access_key_exceeds_the_limit(ram: Client) -> None:
    create_user(ram, "frank")
    create_key(ram, "frank")
    create_key(ram, "frank")
    assert error_of(lambda: create_key(ram, "frank")) == ("LimitExceeded.User.AccessKey", 409)


def test_the_secret_is_returned_only_on_create(ram: Client) -> None:
    create_user(ram, "grace")
    key_id, secret = create_key(ram, "grace")
    assert key_id.startswith("LTAI5t") and len(key_id) == 24 and key_id.isalnum()
    assert len(secret) == 30
    listed = ram.list_access_keys(m.ListAccessKeysRequest(user_name="grace")).body
    assert [(k.access_key_id, k.status) for k in listed.access_keys.access_key] == [(key_id, "Active")]
    assert secret not in str(listed.to_map())
    assert "AccessKeySecret" not in str(listed.to_map())


def test_a_created_key_signs_until_deactivated_and_after_deletion_fails(ram: Client, emulator: Any) -> None:
    create_user(ram, "heidi")
    key_id, secret = create_key(ram, "heidi")
    ram.attach_policy_to_user(m.AttachPolicyToUserRequest(policy_type="System", user_name="heidi",
                                                          policy_name="AliyunRAMReadOnlyAccess"))
    as_heidi = Client(emulator.sdk_config(key_id, secret))
    get = m.GetUserRequest(user_name="heidi")
    assert as_heidi.get_user(get).body.user.user_name == "heidi"

    status = m.UpdateAccessKeyRequest(user_name="heidi", user_access_key_id=key_id, status="Inactive")
    ram.update_access_key(status)
    assert error_of(lambda: as_heidi.get_user(get)) == ("InvalidAccessKeyId.Inactive", 403)
    listed = ram.list_access_keys(m.ListAccessKeysRequest(user_name="heidi")).body.access_keys.access_key
    assert [k.status for k in listed] == ["Inactive"]

    status.status = "Active"
    ram.update_access_key(status)
    assert as_heidi.get_user(get).body.user.user_name == "heidi"

    ram.delete_access_key(m.DeleteAccessKeyRequest(user_name="heidi", user_access_key_id=key_id))
    assert error_of(lambda: as_heidi.get_user(get)) == ("InvalidAccessKeyId.NotFound", 404)


def test_a_user_key_without_policies_gets_no_permission(ram: Client, emulator: Any) -> None:
    create_user(ram, "ivan")
    as_ivan = Client(emulator.sdk_config(*create_key(ram, "ivan")))
    assert error_of(lambda: as_ivan.get_user(m.GetUserRequest(user_name="ivan"))) == ("NoPermission", 403)
    ram.attach_policy_to_user(m.AttachPolicyToUserRequest(policy_type="System", user_name="ivan",
                                                          policy_name="AliyunRAMReadOnlyAccess"))
    as_ivan.get_user(m.GetUserRequest(user_name="ivan"))
    assert error_of(lambda: create_user(as_ivan, "mallory")) == ("NoPermission", 403)


def test_update_access_key_rejects_unknown_status_and_key(ram: Client) -> None:
    create_user(ram, "judy")
    key_id, _ = create_key(ram, "judy")
    bad_status = m.UpdateAccessKeyRequest(user_name="judy", user_access_key_id=key_id, status="Off")
    assert error_of(lambda: ram.update_access_key(bad_status)) == ("InvalidParameter.Status", 400)
    unknown = m.DeleteAccessKeyRequest(user_name="judy", user_access_key_id="LTAI5tNoSuchKey000000000")
    assert error_of(lambda: ram.delete_access_key(unknown)) == ("EntityNotExist.User.AccessKey", 404)


def test_last_used_date_appears_once_the_key_signs_a_call(ram: Client, emulator: Any) -> None:
    create_user(ram, "ken")
    key_id, secret = create_key(ram, "ken")
    request = m.GetAccessKeyLastUsedRequest(user_name="ken", user_access_key_id=key_id)
    assert ram.get_access_key_last_used(request).body.access_key_last_used.last_used_date is None
    ram.attach_policy_to_user(m.AttachPolicyToUserRequest(policy_type="System", user_name="ken",
                                                          policy_name="AliyunRAMReadOnlyAccess"))
    Client(emulator.sdk_config(key_id, secret)).list_users(m.ListUsersRequest())
    used = ram.get_access_key_last_used(request).body.access_key_last_used.last_used_date
    assert used is not None and used.endswith("Z")


def test_async_sdk_calls_reach_the_same_account(ram: Client) -> None:
    async def create_then_get() -> str:
        await ram.create_user_async(m.CreateUserRequest(user_name="async-user", comments="from aiohttp"))
        got = await ram.get_user_async(m.GetUserRequest(user_name="async-user"))
        return str(got.body.user.comments)

    assert asyncio.run(create_then_get()) == "from aiohttp"
    assert ram.get_user(m.GetUserRequest(user_name="async-user")).body.user.comments == "from aiohttp"

"""RAM groups and virtual MFA devices in the emulator, through the official SDK over HTTP."""

from __future__ import annotations

from typing import Any

from alibabacloud_ram20150501 import models as m
from alibabacloud_ram20150501.client import Client
from sdk_errors import error_of


# -- groups -----------------------------------------------------------------------------------------
def test_group_membership_and_its_repeat_codes(ram: Client) -> None:
    ram.create_user(m.CreateUserRequest(user_name="alice", display_name="Alice"))
    group = ram.create_group(m.CreateGroupRequest(group_name="devs", comments="developers")).body.group
    assert (group.group_name, group.comments) == ("devs", "developers")
    assert error_of(lambda: ram.create_group(m.CreateGroupRequest(group_name="devs"))) == \
        ("EntityAlreadyExists.Group", 409)

    add = m.AddUserToGroupRequest(group_name="devs", user_name="alice")
    ram.add_user_to_group(add)
    assert error_of(lambda: ram.add_user_to_group(add)) == ("EntityAlreadyExists.User.Group", 409)
    groups = ram.list_groups_for_user(m.ListGroupsForUserRequest(user_name="alice")).body.groups.group
    assert [(g.group_name, g.group_id) for g in groups] == [("devs", group.group_id)]
    users = ram.list_users_for_group(m.ListUsersForGroupRequest(group_name="devs")).body.users.user
    assert [(u.user_name, u.display_name) for u in users] == [("alice", "Alice")]

    remove = m.RemoveUserFromGroupRequest(group_name="devs", user_name="alice")
    ram.remove_user_from_group(remove)
    assert error_of(lambda: ram.remove_user_from_group(remove)) == ("EntityNotExist.User.Group", 404)


def test_delete_group_refuses_members_and_policies(ram: Client) -> None:
    ram.create_user(m.CreateUserRequest(user_name="bob"))
    ram.create_group(m.CreateGroupRequest(group_name="ops"))
    ram.add_user_to_group(m.AddUserToGroupRequest(group_name="ops", user_name="bob"))
    policy = {"policy_type": "System", "policy_name": "AliyunVPCReadOnlyAccess", "group_name": "ops"}
    ram.attach_policy_to_group(m.AttachPolicyToGroupRequest(**policy))
    assert error_of(lambda: ram.attach_policy_to_group(m.AttachPolicyToGroupRequest(**policy))) == \
        ("EntityAlreadyExists.Group.Policy", 409)
    delete = m.DeleteGroupRequest(group_name="ops")

    assert error_of(lambda: ram.delete_group(delete)) == ("DeleteConflict.Group.User", 409)
    ram.remove_user_from_group(m.RemoveUserFromGroupRequest(group_name="ops", user_name="bob"))
    assert error_of(lambda: ram.delete_group(delete)) == ("DeleteConflict.Group.Policy", 409)
    ram.detach_policy_from_group(m.DetachPolicyFromGroupRequest(**policy))
    ram.delete_group(delete)
    get = m.GetGroupRequest(group_name="ops")
    assert error_of(lambda: ram.get_group(get)) == ("EntityNotExist.Group", 404)


def test_list_groups_pages(ram: Client) -> None:
    for name in ("g-a", "g-b", "g-c"):
        ram.create_group(m.CreateGroupRequest(group_name=name))
    first = ram.list_groups(m.ListGroupsRequest(max_items=2)).body
    second = ram.list_groups(m.ListGroupsRequest(max_items=2, marker=first.marker)).body
    assert [g.group_name for g in first.groups.group] == ["g-a", "g-b"] and first.is_truncated
    assert [g.group_name for g in second.groups.group] == ["g-c"] and not second.is_truncated


def test_group_policies_grant_access_to_members(ram: Client, emulator: Any) -> None:
    ram.create_user(m.CreateUserRequest(user_name="carol"))
    key = ram.create_access_key(m.CreateAccessKeyRequest(user_name="carol")).body.access_key
    as_carol = Client(emulator.sdk_config(key.access_key_id, key.access_key_secret))
    get = m.GetUserRequest(user_name="carol")
    assert error_of(lambda: as_carol.get_user(get)) == ("NoPermission", 403)

    ram.create_group(m.CreateGroupRequest(group_name="readers"))
    ram.attach_policy_to_group(m.AttachPolicyToGroupRequest(policy_type="System", group_name="readers",
                                                            policy_name="AliyunRAMReadOnlyAccess"))
    ram.add_user_to_group(m.AddUserToGroupRequest(group_name="readers", user_name="carol"))
    assert as_carol.get_user(get).body.user.user_name == "carol"
    listed = ram.list_policies_for_group(m.ListPoliciesForGroupRequest(group_name="readers")).body
    assert [p.policy_name for p in listed.policies.policy] == ["AliyunRAMReadOnlyAccess"]

    ram.remove_user_from_group(m.RemoveUserFromGroupRequest(group_name="readers", user_name="carol"))
    assert error_of(lambda: as_carol.get_user(get)) == ("NoPermission", 403)


# -- MFA --------------------------------------------------------------------------------------------
def test_mfa_device_bind_unbind_and_delete_cascade(ram: Client) -> None:
    ram.create_user(m.CreateUserRequest(user_name="dave"))
    info = m.GetUserMFAInfoRequest(user_name="dave")
    assert error_of(lambda: ram.get_user_mfainfo(info)) == ("EntityNotExist.User.MFADevice", 404)

    device = ram.create_virtual_mfadevice(m.CreateVirtualMFADeviceRequest(
        virtual_mfadevice_name="dave-phone")).body.virtual_mfadevice
    assert device.serial_number.endswith(":mfa/dave-phone") and len(device.base_32string_seed) == 64
    bind = m.BindMFADeviceRequest(user_name="dave", serial_number=device.serial_number,
                                  authentication_code_1="123456", authentication_code_2="654321")
    ram.bind_mfadevice(bind)
    assert ram.get_user_mfainfo(info).body.mfadevice.serial_number == device.serial_number
    assert error_of(lambda: ram.bind_mfadevice(bind)) == ("EntityAlreadyExists.User.MFADevice", 409)
    [listed] = ram.list_virtual_mfadevices().body.virtual_mfadevices.virtual_mfadevice
    assert (listed.serial_number, listed.user.user_name) == (device.serial_number, "dave")

    delete_device = m.DeleteVirtualMFADeviceRequest(serial_number=device.serial_number)
    assert error_of(lambda: ram.delete_virtual_mfadevice(delete_device)) == \
        ("DeleteConflict.VirtualMFADevice.User", 409)
    assert error_of(lambda: ram.delete_user(m.DeleteUserRequest(user_name="dave"))) == \
        ("DeleteConflict.User.MFADevice", 409)

    unbound = ram.unbind_mfadevice(m.UnbindMFADeviceRequest(user_name="dave")).body.mfadevice
    assert unbound.serial_number == device.serial_number
    ram.delete_virtual_mfadevice(delete_device)
    ram.delete_user(m.DeleteUserRequest(user_name="dave"))
    assert ram.list_virtual_mfadevices().body.virtual_mfadevices.virtual_mfadevice == []


def test_bind_requires_six_digit_codes_and_a_free_device(ram: Client) -> None:
    for user in ("erin", "frank"):
        ram.create_user(m.CreateUserRequest(user_name=user))
    serial = ram.create_virtual_mfadevice(m.CreateVirtualMFADeviceRequest(
        virtual_mfadevice_name="shared")).body.virtual_mfadevice.serial_number
    bind = m.BindMFADeviceRequest(user_name="erin", serial_number=serial,
                                  authentication_code_1="12345", authentication_code_2="654321")
    assert error_of(lambda: ram.bind_mfadevice(bind)) == ("InvalidParameter.AuthenticationCode.Format", 400)
    bind.authentication_code_1 = "123456"
    ram.bind_mfadevice(bind)
    bind.user_name = "frank"
    assert error_of(lambda: ram.bind_mfadevice(bind)) == ("EntityAlreadyExists.VirtualMFADevice.User", 409)
    bind.serial_number = serial + "-missing"
    assert error_of(lambda: ram.bind_mfadevice(bind)) == ("EntityNotExist.VirtualMFADevice", 404)

"""RAM rules for users, login profiles, access keys, groups and MFA devices.

Plain Python over ``RamState`` raising RAM's own errors; custom policies, attachments and tags are
in ``ram_custom.py``, the wire format in ``ram.py``.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass

from provision.emulator.alibaba.ram_state import (
    AccessKeyMeta,
    Group,
    LoginProfile,
    Membership,
    MfaDevice,
    RamState,
    User,
    base62_token,
    check_contact,
    check_length,
    check_name,
    check_new,
    digits_id,
    hex_digest,
    ram_error,
    ram_state,
)
from provision.emulator.wire import Ctx
from provision.emulator.world import KeyRecord, World

MAX_ACCESS_KEYS = 2
MAX_USERS = 1000  # current quota page; the old error page said 100 [UNVERIFIED]


# -- users ------------------------------------------------------------------------------------------
def get_user(ctx: Ctx, name: str) -> User:
    """The user or ``EntityNotExist.User`` (404)."""
    user = ram_state(ctx).users.get(name)
    if user is None:
        raise ram_error("EntityNotExist.User", "The user does not exist.")
    return user


@dataclass(frozen=True)
class UserFields:
    """The optional user attributes shared by CreateUser and UpdateUser (None = not given)."""

    display_name: str | None = None
    comments: str | None = None
    email: str | None = None
    mobile_phone: str | None = None

    def check(self, prefix: str = "") -> None:
        check_length(f"{prefix}DisplayName", self.display_name, 128, 1)
        check_length(f"{prefix}Comments", self.comments, 128)
        check_contact(f"{prefix}Email", self.email, r"[^@\s]+@[^@\s]+\.[^@\s]+")
        check_contact(f"{prefix}MobilePhone", self.mobile_phone, r"\d{1,4}-\d{5,20}")

    def apply(self, user: User) -> None:
        for attr in ("display_name", "comments", "email", "mobile_phone"):
            value = getattr(self, attr)
            if value is not None:
                setattr(user, attr, value)


def create_user(ctx: Ctx, name: str, fields: UserFields) -> User:
    """CreateUser: validates names and lengths; ``EntityAlreadyExists.User`` (409) when taken."""
    check_name("UserName", name, 64, "user")
    fields.check()
    st = ram_state(ctx)
    check_new(st.users, name, "User", "user", MAX_USERS, "users")
    now = ctx.now_iso()
    user = User(user_id=digits_id(ctx, "user"), user_name=name, create_date=now, update_date=now)
    fields.apply(user)
    st.users[name] = user
    return user


def update_user(ctx: Ctx, name: str, new_name: str | None, fields: UserFields) -> User:
    """UpdateUser: ``New*`` fields; a rename keeps the UserId and follows the user's keys, groups, MFA."""
    user = get_user(ctx, name)
    fields.check("New")
    st = ram_state(ctx)
    if new_name and new_name != name:
        check_name("NewUserName", new_name, 64, "user")
        check_new(st.users, new_name, "User", "user")
        st.users = {(new_name if k == name else k): v for k, v in st.users.items()}
        user.user_name = new_name
        for meta in user.access_keys:
            rec = ctx.world.keys.get(meta.access_key_id)
            if rec is not None:
                rec.user_name = new_name
        for member in (m for g in st.groups.values() for m in g.members if m.user_name == name):
            member.user_name = new_name
        for device in (d for d in st.mfa_devices.values() if d.user_name == name):
            device.user_name = new_name
    fields.apply(user)
    user.update_date = ctx.now_iso()
    return user


def user_groups(st: RamState, user_name: str) -> list[tuple[Group, Membership]]:
    """The groups the user is in, with its membership record."""
    return [(g, m) for g in st.groups.values() for m in g.members if m.user_name == user_name]


def user_mfa(st: RamState, user_name: str) -> MfaDevice | None:
    """The MFA device bound to the user, if any."""
    return next((d for d in st.mfa_devices.values() if d.user_name == user_name), None)


def delete_user(ctx: Ctx, name: str) -> None:
    """DeleteUser: refuses with the first ``DeleteConflict.User.*`` (409) that applies."""
    user = get_user(ctx, name)
    st = ram_state(ctx)
    conflicts = (("AccessKey", bool(user.access_keys), "has any access key"),
                 ("LoginProfile", user.login_profile is not None, "has any login profile"),
                 ("Policy", bool(user.policies), "has any attached policy"),
                 ("Group", bool(user_groups(st, name)), "be in any group"),
                 ("MFADevice", user_mfa(st, name) is not None, "has any mfa device"))
    for what, present, text in conflicts:
        if present:
            raise ram_error(f"DeleteConflict.User.{what}",
                            f"The user CAN NOT {text} while deleting the user.")
    del st.users[name]


# -- login profiles ---------------------------------------------------------------------------------
def check_password(password: str) -> None:
    """8-32 characters with at least one letter and one digit, else ``InvalidParameter.Password.TooWeak``."""
    if len(password) > 32:
        raise ram_error("InvalidParameter.Password.Length",
                        'The parameter - "Password" beyond the length limit.')
    if len(password) < 8 or not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        raise ram_error("InvalidParameter.Password.TooWeak",
                        'The parameter - "Password" is not compliant with the password policy.')


def _digest(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def get_login_profile(ctx: Ctx, user_name: str) -> LoginProfile:
    """The user's login profile or ``EntityNotExist.User.LoginProfile`` (404)."""
    profile = get_user(ctx, user_name).login_profile
    if profile is None:
        raise ram_error("EntityNotExist.User.LoginProfile", "The user login profile does not exist.")
    return profile


def create_login_profile(ctx: Ctx, user_name: str, password: str, reset: bool, mfa: bool) -> LoginProfile:
    """CreateLoginProfile: one per user (``EntityAlreadyExists.User.LoginProfile``, 409)."""
    user = get_user(ctx, user_name)
    if user.login_profile is not None:
        raise ram_error("EntityAlreadyExists.User.LoginProfile", "The user login profile does already EXIST.")
    check_password(password)
    user.login_profile = LoginProfile(password_sha256=_digest(password), password_reset_required=reset,
                                      mfa_bind_required=mfa, create_date=ctx.now_iso())
    return user.login_profile


def update_login_profile(ctx: Ctx, user_name: str, password: str | None, reset: bool | None,
                         mfa: bool | None) -> LoginProfile:
    """UpdateLoginProfile: changes only the given fields of an existing profile."""
    profile = get_login_profile(ctx, user_name)
    if password is not None:
        check_password(password)
        profile.password_sha256 = _digest(password)
    if reset is not None:
        profile.password_reset_required = reset
    if mfa is not None:
        profile.mfa_bind_required = mfa
    return profile


def delete_login_profile(ctx: Ctx, user_name: str) -> None:
    """DeleteLoginProfile: 404 when there is none."""
    get_login_profile(ctx, user_name)
    get_user(ctx, user_name).login_profile = None


# -- access keys ------------------------------------------------------------------------------------
def create_access_key(ctx: Ctx, user_name: str, key_id: str | None = None, secret: str | None = None,
                      active: bool = True) -> tuple[AccessKeyMeta, KeyRecord]:
    """CreateAccessKey: at most 2 per user; registers the key with the signer at once."""
    user = get_user(ctx, user_name)
    if len(user.access_keys) >= MAX_ACCESS_KEYS:
        raise ram_error("LimitExceeded.User.AccessKey",
                        "The access key count of the user access keys beyond the current limits.")
    key_id = key_id or "LTAI5t" + base62_token(ctx, "ak-id", 18)
    if key_id in ctx.world.keys:
        raise ram_error("EntityAlreadyExists.User.AccessKey", "The access key does already EXIST.")
    record = KeyRecord(access_key_id=key_id, secret=secret or base62_token(ctx, "ak-secret", 30),
                       account_id=ctx.account_id, user_name=user_name, active=active)
    meta = AccessKeyMeta(access_key_id=key_id, create_date=ctx.now_iso())
    ctx.world.keys[key_id] = record
    user.access_keys.append(meta)
    return meta, record


def user_key(ctx: Ctx, user_name: str, key_id: str) -> tuple[AccessKeyMeta, KeyRecord]:
    """The user's key or ``EntityNotExist.User.AccessKey`` (404)."""
    meta = next((k for k in get_user(ctx, user_name).access_keys if k.access_key_id == key_id), None)
    record = ctx.world.keys.get(key_id)
    if meta is None or record is None:
        raise ram_error("EntityNotExist.User.AccessKey", "The user access key does not exist.")
    return meta, record


def key_status(world: World, key_id: str) -> str:
    """``Active`` / ``Inactive`` as the signer sees the key."""
    record = world.keys.get(key_id)
    return "Active" if record is not None and record.active else "Inactive"


def update_access_key(ctx: Ctx, user_name: str, key_id: str, status: str) -> None:
    """UpdateAccessKey: ``Status`` Active/Inactive; an inactive key stops signing at once."""
    if status not in ("Active", "Inactive"):
        raise ram_error("InvalidParameter.Status", 'The parameter - "Status" must be Active or Inactive.')
    user_key(ctx, user_name, key_id)[1].active = status == "Active"


def delete_access_key(ctx: Ctx, user_name: str, key_id: str) -> None:
    """DeleteAccessKey: removes the key from the signer's index too."""
    meta, _ = user_key(ctx, user_name, key_id)
    get_user(ctx, user_name).access_keys.remove(meta)
    del ctx.world.keys[key_id]


# -- groups -----------------------------------------------------------------------------------------
def get_group(ctx: Ctx, name: str) -> Group:
    """The group or ``EntityNotExist.Group`` (404)."""
    group = ram_state(ctx).groups.get(name)
    if group is None:
        raise ram_error("EntityNotExist.Group", "The group does not exist.")
    return group


def create_group(ctx: Ctx, name: str, comments: str | None) -> Group:
    """CreateGroup: ``EntityAlreadyExists.Group`` (409) when taken."""
    check_name("GroupName", name, 64, "dashed")
    check_length("Comments", comments, 128)
    st = ram_state(ctx)
    check_new(st.groups, name, "Group", "group")
    now = ctx.now_iso()
    group = Group(group_id=f"g-{hex_digest(ctx, 'group')[:20]}", group_name=name, comments=comments or "",
                  create_date=now, update_date=now)
    st.groups[name] = group
    return group


def delete_group(ctx: Ctx, name: str) -> None:
    """DeleteGroup: ``DeleteConflict.Group.User`` / ``.Policy`` (409) while it has members or policies."""
    group = get_group(ctx, name)
    if group.members:
        raise ram_error("DeleteConflict.Group.User",
                        "The group CAN NOT has any user member while deleting the group.")
    if group.policies:
        raise ram_error("DeleteConflict.Group.Policy", "The group CAN NOT has any attached policy.")
    del ram_state(ctx).groups[name]


def add_user_to_group(ctx: Ctx, group_name: str, user_name: str) -> None:
    """AddUserToGroup: ``EntityAlreadyExists.User.Group`` (409) on repeat."""
    group, _ = get_group(ctx, group_name), get_user(ctx, user_name)
    if any(m.user_name == user_name for m in group.members):
        raise ram_error("EntityAlreadyExists.User.Group", "The user has already joined the group.")
    group.members.append(Membership(user_name=user_name, join_date=ctx.now_iso()))


def remove_user_from_group(ctx: Ctx, group_name: str, user_name: str) -> None:
    """RemoveUserFromGroup: ``EntityNotExist.User.Group`` (404) when not a member."""
    group, _ = get_group(ctx, group_name), get_user(ctx, user_name)
    member = next((m for m in group.members if m.user_name == user_name), None)
    if member is None:
        raise ram_error("EntityNotExist.User.Group", "The user has not joined the group.")
    group.members.remove(member)


# -- MFA --------------------------------------------------------------------------------------------
def create_mfa_device(ctx: Ctx, name: str) -> MfaDevice:
    """CreateVirtualMFADevice: serial ``acs:ram::<account>:mfa/<name>``; 409 when the name is taken."""
    check_name("VirtualMFADeviceName", name, 64, "dashed")
    st = ram_state(ctx)
    serial = f"acs:ram::{ctx.account_id}:mfa/{name}"
    check_new(st.mfa_devices, serial, "VirtualMFADevice", "virtual mfa device")
    raw = bytes.fromhex(hex_digest(ctx, "mfa-seed"))
    device = MfaDevice(serial_number=serial, name=name, seed=base64.b32encode(raw + raw[:8]).decode())
    st.mfa_devices[serial] = device
    return device


def get_mfa_device(ctx: Ctx, serial: str) -> MfaDevice:
    """The device or ``EntityNotExist.VirtualMFADevice`` (404)."""
    device = ram_state(ctx).mfa_devices.get(serial)
    if device is None:
        raise ram_error("EntityNotExist.VirtualMFADevice", "The virtual mfa device does not exist.")
    return device


def bind_mfa_device(ctx: Ctx, user_name: str, serial: str, code1: str, code2: str) -> None:
    """BindMFADevice: any two 6-digit codes are accepted (no TOTP check); one device per user."""
    user, device = get_user(ctx, user_name), get_mfa_device(ctx, serial)
    for code in (code1, code2):
        if not re.fullmatch(r"\d{6}", code):
            raise ram_error("InvalidParameter.AuthenticationCode.Format",
                            'The parameter - "AuthenticationCode" MUST be 6 numbers.')
    if user_mfa(ram_state(ctx), user.user_name) is not None:
        raise ram_error("EntityAlreadyExists.User.MFADevice", "The user has already bound a MFA device.")
    if device.user_name is not None:
        raise ram_error("EntityAlreadyExists.VirtualMFADevice.User",
                        "The virtual mfa device does already been bound to a user.")
    device.user_name, device.activate_date = user_name, ctx.now_iso()


def get_user_mfa(ctx: Ctx, user_name: str) -> MfaDevice:
    """The user's bound device or ``EntityNotExist.User.MFADevice`` (404)."""
    device = user_mfa(ram_state(ctx), get_user(ctx, user_name).user_name)
    if device is None:
        raise ram_error("EntityNotExist.User.MFADevice", "The user has not bound any MFA device.")
    return device


def unbind_mfa_device(ctx: Ctx, user_name: str) -> MfaDevice:
    """UnbindMFADevice: frees the device (it still exists until DeleteVirtualMFADevice)."""
    device = get_user_mfa(ctx, user_name)
    device.user_name, device.activate_date = None, ""
    return device


def delete_mfa_device(ctx: Ctx, serial: str) -> None:
    """DeleteVirtualMFADevice: ``DeleteConflict.VirtualMFADevice.User`` (409) while bound."""
    if get_mfa_device(ctx, serial).user_name is not None:
        raise ram_error("DeleteConflict.VirtualMFADevice.User",
                        "The virtual mfa device CAN NOT been bound to any user while deleting it.")
    del ram_state(ctx).mfa_devices[serial]

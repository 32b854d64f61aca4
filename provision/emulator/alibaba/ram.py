"""RAM 2015-05-01 (RPC) as the emulator serves it: the route table and the identity handlers.

Each handler reads the query, calls one rule and shapes the JSON exactly as the
``alibabacloud_ram20150501`` response models read it. Modules: ``ram_state`` (state, shared
helpers), ``ram_rules`` (users, login profiles, keys, groups, MFA), ``ram_custom`` (policies,
attachments, tags), ``ram_policies`` (system policies, document grammar), ``ram_policy_api``
(policy handlers), ``ram_seed`` (the seed section). Cross-service functions (called by auth.py
and other services): ``effective_policy_documents``, ``user_exists``, ``user_id``.
"""

from __future__ import annotations

from provision.emulator.alibaba import ram_rules as rules
from provision.emulator.alibaba.ram_custom import effective_policy_documents
from provision.emulator.alibaba.ram_policy_api import POLICY_HANDLERS
from provision.emulator.alibaba.ram_seed import DEFAULT_SEED, seed_ram
from provision.emulator.alibaba.ram_state import Group, MfaDevice, RamState, User, ok, paged_body, ram_state
from provision.emulator.wire import Body, Ctx, Handler, Request, Service, rpc_routes
from provision.emulator.world import World

VERSION = "2015-05-01"
__all__ = ["SERVICE", "effective_policy_documents", "user_exists", "user_id"]


def user_exists(world: World, account_id: str, user_name: str) -> bool:
    """Whether the account has a RAM user of that name."""
    return user_name in world.state(account_id, RamState).users


def user_id(world: World, account_id: str, user_name: str) -> str | None:
    """The RAM user's UserId, or None when there is no such user."""
    user = world.state(account_id, RamState).users.get(user_name)
    return user.user_id if user else None


# -- wire shapes ------------------------------------------------------------------------------------
def _user_json(u: User, updated: bool = True) -> Body:
    """A user as RAM answers it; CreateUser's answer has no ``UpdateDate`` (its SDK model has none)."""
    body = {"UserId": u.user_id, "UserName": u.user_name, "DisplayName": u.display_name,
            "Comments": u.comments, "Email": u.email, "MobilePhone": u.mobile_phone,
            "CreateDate": u.create_date}
    return {**body, "UpdateDate": u.update_date} if updated else body


def _fields(req: Request, prefix: str = "") -> rules.UserFields:
    return rules.UserFields(req.get(f"{prefix}DisplayName"), req.get(f"{prefix}Comments"),
                            req.get(f"{prefix}Email"), req.get(f"{prefix}MobilePhone"))


def _group_json(g: Group, updated: bool = True) -> Body:
    """A group as RAM answers it; CreateGroup's answer has no ``UpdateDate`` (its SDK model has none)."""
    body = {"GroupId": g.group_id, "GroupName": g.group_name, "Comments": g.comments,
            "CreateDate": g.create_date}
    return {**body, "UpdateDate": g.update_date} if updated else body


# -- users ------------------------------------------------------------------------------------------
def create_user(ctx: Ctx, req: Request) -> Body:
    """CreateUser; not idempotent: a taken name is ``EntityAlreadyExists.User`` (409)."""
    user = rules.create_user(ctx, req.require("UserName"), _fields(req))
    return ok(User=_user_json(user, updated=False))


def get_user(ctx: Ctx, req: Request) -> Body:
    """GetUser (with LastLoginDate); 404 ``EntityNotExist.User``."""
    user = rules.get_user(ctx, req.require("UserName"))
    return ok(User={**_user_json(user), "LastLoginDate": user.last_login_date})


def list_users(ctx: Ctx, req: Request) -> Body:
    """ListUsers, Marker/MaxItems paging in creation order."""
    return paged_body(req, list(ram_state(ctx).users.values()), "Users", "User", _user_json)


def update_user(ctx: Ctx, req: Request) -> Body:
    """UpdateUser: only the ``New*`` parameters given change."""
    user = rules.update_user(ctx, req.require("UserName"), req.get("NewUserName"), _fields(req, "New"))
    return ok(User=_user_json(user))


def delete_user(ctx: Ctx, req: Request) -> Body:
    """DeleteUser; 409 ``DeleteConflict.User.*`` while anything is attached."""
    rules.delete_user(ctx, req.require("UserName"))
    return ok()


# -- login profiles ---------------------------------------------------------------------------------
def _profile_body(user_name: str, ctx: Ctx) -> Body:
    p = rules.get_login_profile(ctx, user_name)
    return ok(LoginProfile={"UserName": user_name, "PasswordResetRequired": p.password_reset_required,
                             "MFABindRequired": p.mfa_bind_required, "CreateDate": p.create_date})


def create_login_profile(ctx: Ctx, req: Request) -> Body:
    """CreateLoginProfile; 409 when one exists, 400 ``InvalidParameter.Password.TooWeak``."""
    name = req.require("UserName")
    reset, mfa = bool(req.get_bool("PasswordResetRequired")), bool(req.get_bool("MFABindRequired"))
    rules.create_login_profile(ctx, name, req.require("Password"), reset, mfa)
    return _profile_body(name, ctx)


def get_login_profile(ctx: Ctx, req: Request) -> Body:
    """GetLoginProfile (never the password); 404 ``EntityNotExist.User.LoginProfile``."""
    return _profile_body(req.require("UserName"), ctx)


def update_login_profile(ctx: Ctx, req: Request) -> Body:
    """UpdateLoginProfile: only the given fields change; the answer is the RequestId alone."""
    rules.update_login_profile(ctx, req.require("UserName"), req.get("Password"),
                               req.get_bool("PasswordResetRequired"), req.get_bool("MFABindRequired"))
    return ok()


def delete_login_profile(ctx: Ctx, req: Request) -> Body:
    """DeleteLoginProfile; 404 when there is none."""
    rules.delete_login_profile(ctx, req.require("UserName"))
    return ok()


def get_password_policy(ctx: Ctx, req: Request) -> Body:
    """GetPasswordPolicy: the fixed rule CreateLoginProfile enforces (8-32 chars, letters and digits)."""
    return ok(PasswordPolicy={"MinimumPasswordLength": 8, "RequireLowercaseCharacters": False,
                               "RequireUppercaseCharacters": False, "RequireNumbers": True,
                               "RequireSymbols": False, "HardExpiry": False, "MaxPasswordAge": 0,
                               "PasswordReusePrevention": 0, "MaxLoginAttemps": 5})


# -- access keys ------------------------------------------------------------------------------------
def create_access_key(ctx: Ctx, req: Request) -> Body:
    """CreateAccessKey: the only response carrying the secret; 409 ``LimitExceeded.User.AccessKey``."""
    meta, record = rules.create_access_key(ctx, req.require("UserName"))
    return ok(AccessKey={"AccessKeyId": record.access_key_id, "AccessKeySecret": record.secret,
                         "Status": "Active", "CreateDate": meta.create_date})


def list_access_keys(ctx: Ctx, req: Request) -> Body:
    """ListAccessKeys: ids, status and dates, never secrets."""
    user = rules.get_user(ctx, req.require("UserName"))
    return ok(AccessKeys={"AccessKey": [
        {"AccessKeyId": k.access_key_id, "Status": rules.key_status(ctx.world, k.access_key_id),
         "CreateDate": k.create_date} for k in user.access_keys]})


def update_access_key(ctx: Ctx, req: Request) -> Body:
    """UpdateAccessKey: Status Active/Inactive, effective on the next request."""
    rules.update_access_key(ctx, req.require("UserName"), req.require("UserAccessKeyId"),
                            req.require("Status"))
    return ok()


def delete_access_key(ctx: Ctx, req: Request) -> Body:
    """DeleteAccessKey: the key stops authenticating at once; 404 ``EntityNotExist.User.AccessKey``."""
    rules.delete_access_key(ctx, req.require("UserName"), req.require("UserAccessKeyId"))
    return ok()


def get_access_key_last_used(ctx: Ctx, req: Request) -> Body:
    """GetAccessKeyLastUsed: the time the server last authenticated a call with the key (absent if never)."""
    _, record = rules.user_key(ctx, req.require("UserName"), req.require("UserAccessKeyId"))
    return ok(AccessKeyLastUsed={"LastUsedDate": record.last_used} if record.last_used else {})


# -- groups -----------------------------------------------------------------------------------------
def create_group(ctx: Ctx, req: Request) -> Body:
    """CreateGroup; 409 ``EntityAlreadyExists.Group``."""
    group = rules.create_group(ctx, req.require("GroupName"), req.get("Comments"))
    return ok(Group=_group_json(group, updated=False))


def get_group(ctx: Ctx, req: Request) -> Body:
    """GetGroup; 404 ``EntityNotExist.Group``."""
    return ok(Group=_group_json(rules.get_group(ctx, req.require("GroupName"))))


def list_groups(ctx: Ctx, req: Request) -> Body:
    """ListGroups, Marker/MaxItems paging."""
    return paged_body(req, list(ram_state(ctx).groups.values()), "Groups", "Group", _group_json)


def delete_group(ctx: Ctx, req: Request) -> Body:
    """DeleteGroup; 409 ``DeleteConflict.Group.User/Policy``."""
    rules.delete_group(ctx, req.require("GroupName"))
    return ok()


def add_user_to_group(ctx: Ctx, req: Request) -> Body:
    """AddUserToGroup; repeat → 409 ``EntityAlreadyExists.User.Group``."""
    rules.add_user_to_group(ctx, req.require("GroupName"), req.require("UserName"))
    return ok()


def remove_user_from_group(ctx: Ctx, req: Request) -> Body:
    """RemoveUserFromGroup; not a member → 404 ``EntityNotExist.User.Group``."""
    rules.remove_user_from_group(ctx, req.require("GroupName"), req.require("UserName"))
    return ok()


def list_groups_for_user(ctx: Ctx, req: Request) -> Body:
    """ListGroupsForUser (no paging)."""
    user = rules.get_user(ctx, req.require("UserName"))
    return ok(Groups={"Group": [{"GroupId": g.group_id, "GroupName": g.group_name, "Comments": g.comments,
                                  "JoinDate": m.join_date} for g, m in rules.user_groups(ram_state(ctx),
                                                                                         user.user_name)]})


def list_users_for_group(ctx: Ctx, req: Request) -> Body:
    """ListUsersForGroup, Marker/MaxItems paging."""
    group, users = rules.get_group(ctx, req.require("GroupName")), ram_state(ctx).users
    return paged_body(req, group.members, "Users", "User", lambda m: {
        "UserName": m.user_name, "DisplayName": users[m.user_name].display_name, "JoinDate": m.join_date})


# -- MFA --------------------------------------------------------------------------------------------
def create_virtual_mfa_device(ctx: Ctx, req: Request) -> Body:
    """CreateVirtualMFADevice: SerialNumber and Base32StringSeed; 409 when the name is taken."""
    device = rules.create_mfa_device(ctx, req.require("VirtualMFADeviceName"))
    return ok(VirtualMFADevice={"SerialNumber": device.serial_number, "Base32StringSeed": device.seed})


def bind_mfa_device(ctx: Ctx, req: Request) -> Body:
    """BindMFADevice: any two 6-digit codes; 409 when the user or the device is already bound."""
    rules.bind_mfa_device(ctx, req.require("UserName"), req.require("SerialNumber"),
                          req.require("AuthenticationCode1"), req.require("AuthenticationCode2"))
    return ok()


def get_user_mfa_info(ctx: Ctx, req: Request) -> Body:
    """GetUserMFAInfo; 404 ``EntityNotExist.User.MFADevice`` when none is bound."""
    device = rules.get_user_mfa(ctx, req.require("UserName"))
    return ok(MFADevice={"SerialNumber": device.serial_number, "Type": "VMFA"})


def unbind_mfa_device(ctx: Ctx, req: Request) -> Body:
    """UnbindMFADevice: returns the freed device's SerialNumber."""
    device = rules.unbind_mfa_device(ctx, req.require("UserName"))
    return ok(MFADevice={"SerialNumber": device.serial_number})


def delete_virtual_mfa_device(ctx: Ctx, req: Request) -> Body:
    """DeleteVirtualMFADevice; 409 ``DeleteConflict.VirtualMFADevice.User`` while bound."""
    rules.delete_mfa_device(ctx, req.require("SerialNumber"))
    return ok()


def _device_json(d: MfaDevice, users: dict[str, User]) -> Body:
    body: Body = {"SerialNumber": d.serial_number}
    user = users.get(d.user_name or "")
    if user is not None:
        body["ActivateDate"] = d.activate_date
        body["User"] = {"UserId": user.user_id, "UserName": user.user_name, "DisplayName": user.display_name}
    return body


def list_virtual_mfa_devices(ctx: Ctx, req: Request) -> Body:
    """ListVirtualMFADevices with the bound user, if any."""
    st = ram_state(ctx)
    return ok(VirtualMFADevices={"VirtualMFADevice": [_device_json(d, st.users)
                                                       for d in st.mfa_devices.values()]})


HANDLERS: dict[str, Handler] = {
    "CreateUser": create_user, "GetUser": get_user, "ListUsers": list_users, "UpdateUser": update_user,
    "DeleteUser": delete_user,
    "CreateLoginProfile": create_login_profile, "GetLoginProfile": get_login_profile,
    "UpdateLoginProfile": update_login_profile, "DeleteLoginProfile": delete_login_profile,
    "GetPasswordPolicy": get_password_policy,
    "CreateAccessKey": create_access_key, "ListAccessKeys": list_access_keys,
    "UpdateAccessKey": update_access_key, "DeleteAccessKey": delete_access_key,
    "GetAccessKeyLastUsed": get_access_key_last_used,
    "CreateGroup": create_group, "GetGroup": get_group, "ListGroups": list_groups,
    "DeleteGroup": delete_group,
    "AddUserToGroup": add_user_to_group, "RemoveUserFromGroup": remove_user_from_group,
    "ListGroupsForUser": list_groups_for_user, "ListUsersForGroup": list_users_for_group,
    "CreateVirtualMFADevice": create_virtual_mfa_device, "BindMFADevice": bind_mfa_device,
    "GetUserMFAInfo": get_user_mfa_info, "UnbindMFADevice": unbind_mfa_device,
    "DeleteVirtualMFADevice": delete_virtual_mfa_device, "ListVirtualMFADevices": list_virtual_mfa_devices,
    **POLICY_HANDLERS,
}

SERVICE = Service(
    name="ram",
    routes=rpc_routes(VERSION, "ram", HANDLERS),
    seed=seed_ram,
    default_seed=DEFAULT_SEED,
)

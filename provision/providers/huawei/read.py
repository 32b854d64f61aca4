"""The ONE reader of Huawei Cloud facts: typed, frozen snapshots of what the account holds, one reader per
service (``read_iam.py``: IAM v5 and STS; ``read_modelarts.py``: workspaces and MaaS keys;
``read_network.py``: VPC endpoints and SCPs), every name importable from here.

Interface for the ``huawei`` branch (plan, revoke, verify and the audit all read through here)::

    caller = read_caller(clients)                         # STS get_caller_identity
    users = list_users(clients)                           # every IAM user, summaries (id, name, enabled…)
    user = read_user(clients, user_id)                    # one user with keys, login, MFA, policies, groups
    read_access_keys(clients, user_id) / read_login_profile(...) / read_user_policies(...) / read_groups(...)
    policies = read_custom_policies(clients)              # with their default-version documents
    workspaces = read_workspaces(clients)                 # ModelArts workspaces with their grants
    read_workspace(clients, workspace_id)                 # one, or None when gone
    keys = read_api_keys(clients)                         # MaaS API keys (no secret: masked only)
    endpoints = read_endpoints(clients)                   # VPC endpoints
    scps = read_scps(clients)                             # SCPs with their attachments ((), + a note, when
                                                          # the account has no organization / SCP type off)
    account = read_account(clients)                       # all of it, the independent reads concurrently

Every function raises :class:`~provision.providers.huawei.clients.HuaweiCallError` on a cloud failure
(resource, action, code, what to do); nothing here holds a secret. Dates are ISO-8601 UTC strings.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from provision.providers.common.outcomes import Outcome
from provision.providers.huawei.clients import HuaweiCallError, HuaweiClients
from provision.providers.huawei.read_common import iso
from provision.providers.huawei.read_iam import (
    AccessKey,
    AttachedPolicy,
    CallerIdentity,
    CustomPolicy,
    GroupRef,
    LoginProfile,
    MfaDevice,
    User,
    UserSummary,
    list_users,
    read_access_keys,
    read_caller,
    read_custom_policies,
    read_groups,
    read_login_profile,
    read_mfa_devices,
    read_user,
    read_user_policies,
    read_users,
)
from provision.providers.huawei.read_modelarts import (
    ApiKey,
    Grant,
    Workspace,
    read_api_keys,
    read_workspace,
    read_workspaces,
)
from provision.providers.huawei.read_network import Scp, ScpAttachment, VpcEndpoint, read_endpoints, read_scps

__all__ = [
    "AccessKey",
    "ApiKey",
    "AttachedPolicy",
    "CallerIdentity",
    "CustomPolicy",
    "Grant",
    "GroupRef",
    "HuaweiAccount",
    "LoginProfile",
    "MfaDevice",
    "Scp",
    "ScpAttachment",
    "User",
    "UserSummary",
    "VpcEndpoint",
    "Workspace",
    "iso",
    "list_users",
    "read_access_keys",
    "read_account",
    "read_api_keys",
    "read_caller",
    "read_custom_policies",
    "read_endpoints",
    "read_groups",
    "read_login_profile",
    "read_mfa_devices",
    "read_scps",
    "read_user",
    "read_user_policies",
    "read_users",
    "read_workspace",
    "read_workspaces",
]


@dataclass(frozen=True)
class HuaweiAccount:
    """Everything :func:`read_account` read, as of one moment."""

    caller: CallerIdentity
    region: str
    project_id: str
    users: tuple[User, ...] = ()
    custom_policies: tuple[CustomPolicy, ...] = ()
    workspaces: tuple[Workspace, ...] = ()
    api_keys: tuple[ApiKey, ...] = ()
    endpoints: tuple[VpcEndpoint, ...] = ()
    scps: tuple[Scp, ...] = ()
    notes: tuple[str, ...] = ()  # what could not be read, and why

    def user(self, name: str) -> User | None:
        return next((u for u in self.users if u.name == name), None)

    def workspace(self, name: str) -> Workspace | None:
        return next((w for w in self.workspaces if w.name == name), None)


def read_account(clients: HuaweiClients) -> HuaweiAccount:
    """Everything the audit and the checks need, the independent reads run concurrently. SCPs that cannot be
    read (no organization, SCPs not enabled, not the management account) leave a note instead."""
    caller = read_caller(clients)
    project_id = clients.project_id
    with ThreadPoolExecutor(max_workers=6) as pool:
        users = pool.submit(read_users, clients)
        policies = pool.submit(read_custom_policies, clients)
        workspaces = pool.submit(read_workspaces, clients)
        keys = pool.submit(read_api_keys, clients)
        endpoints = pool.submit(read_endpoints, clients)
        scps = pool.submit(read_scps, clients)
        notes: list[str] = []
        try:
            scp_list = scps.result()
        except HuaweiCallError as err:
            if err.outcome not in (Outcome.FAIL, Outcome.GONE) or err.code.startswith("APIG.0301"):
                raise
            scp_list = ()
            notes.append(
                f"SCPs not read: {err.action} answered {err.code} ({err.cloud_message}); "
                "guardrails are unknown"
            )
        account = HuaweiAccount(
            caller,
            clients.target.region,
            project_id,
            users.result(),
            policies.result(),
            workspaces.result(),
            keys.result(),
            endpoints.result(),
            scp_list,
        )
    if any(not u.mfa_known for u in account.users):
        notes.append(
            "MFA devices not read: the endpoint offers no MFA API; console users count as without MFA"
        )
    return replace(account, notes=tuple(notes))

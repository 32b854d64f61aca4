"""Benchmark (not a test): how long the Huawei reader takes to read a whole account, and how many calls.

    .venv/bin/python bench/huawei_read.py [--users 30]

Starts the emulator in-process (no injected latency), creates ``--users`` IAM users (each with an access
key, a console login, a system policy and a group holding a custom policy), a workspace granting them all,
a MaaS API key per user and one VPC endpoint, then times ``read_account`` cold (clients built, ids looked
up) and warm (three runs), and counts the calls one read makes. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import time

from huaweicloudsdkiam.v5 import (
    AddUserToGroupReqBody,
    AddUserToGroupV5Request,
    CreateAccessKeyV5Request,
    CreateGroupReqBody,
    CreateGroupV5Request,
    CreateLoginProfileReqBody,
    CreateLoginProfileV5Request,
    CreatePolicyReqBody,
    CreatePolicyV5Request,
    CreateUserReqBody,
    CreateUserV5Request,
)
from huaweicloudsdkmodelarts.v1 import CreateWorkspaceReq, CreateWorkspaceReqGrants, CreateWorkspaceRequest

from provision.emulator.huawei.policy import SYSTEM_BY_NAME
from provision.emulator.huawei.testing import HuaweiClients as EmuClients
from provision.emulator.testing import running_emulator
from provision.providers.huawei.clients import HuaweiClients, HuaweiCredentials, HuaweiTarget
from provision.providers.huawei.read import read_account


def populate(hw: EmuClients, users: int) -> None:
    iam = hw.iam()
    document = json.dumps({"Version": "5.0", "Statement": [{"Effect": "Allow", "Action": ["pangu:*"]}]})
    policy = iam.create_policy_v5(
        CreatePolicyV5Request(body=CreatePolicyReqBody(policy_name="bench-pangu", policy_document=document))
    ).policy
    group = iam.create_group_v5(CreateGroupV5Request(body=CreateGroupReqBody(group_name="bench"))).group
    hw.signed("POST", f"/v5/policies/{policy.policy_id}/attach-group", {"group_id": group.group_id})
    pangu = SYSTEM_BY_NAME["PanguInvokePolicy"].policy_id
    for n in range(users):
        name = f"user{n:03d}"
        user = iam.create_user_v5(CreateUserV5Request(body=CreateUserReqBody(name=name, enabled=True))).user
        iam.create_access_key_v5(CreateAccessKeyV5Request(user_id=user.user_id))
        iam.create_login_profile_v5(
            CreateLoginProfileV5Request(
                user_id=user.user_id,
                body=CreateLoginProfileReqBody(password="Bench-pass-2026", password_reset_required=False),
            )
        )
        hw.signed("POST", f"/v5/policies/{pangu}/attach-user", {"user_id": user.user_id})
        iam.add_user_to_group_v5(
            AddUserToGroupV5Request(group_id=group.group_id, body=AddUserToGroupReqBody(user_id=user.user_id))
        )
        hw.signed(
            "POST",
            f"/v2/{hw.project_id}/maas/api-auth/api-keys",
            {"label": name, "allow_all": False, "ip_whitelist": ["10.0.0.0/8"]},
        )
    grants = [CreateWorkspaceReqGrants(user_name=f"user{n:03d}") for n in range(users)]
    hw.modelarts().create_workspace(
        CreateWorkspaceRequest(body=CreateWorkspaceReq(name="bench-ws", auth_type="INTERNAL", grants=grants))
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=30)
    args = parser.parse_args()
    with running_emulator() as emu:
        hw = EmuClients.root(emu)
        populate(hw, min(args.users, 30))  # MaaS allows 30 API keys per account
        os.environ["PROVISION_ENDPOINT"] = emu.url
        clients = HuaweiClients(HuaweiTarget.from_env(), HuaweiCredentials(hw.ak, hw.sk))
        emu.clear_stats()
        start = time.perf_counter()
        account = read_account(clients)
        cold = time.perf_counter() - start
        calls = emu.stats()["total"]
        warm = []
        for _ in range(3):
            start = time.perf_counter()
            read_account(clients)
            warm.append(time.perf_counter() - start)
        print(
            f"huawei read_account: {len(account.users)} users, {len(account.api_keys)} API keys, "
            f"{len(account.workspaces)} workspace(s): cold {cold * 1000:.0f} ms ({calls} calls), "
            f"warm best {min(warm) * 1000:.0f} ms, median {sorted(warm)[1] * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()

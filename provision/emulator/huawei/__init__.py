"""The Huawei Cloud services (IAM v3/v5, STS, ModelArts, MaaS, VPCEP, Organizations, Pangu), served by
the same emulator process as Alibaba Cloud through ``gateway.HuaweiGateway`` and this route table.

Order matters where patterns overlap: the first route whose method and path fit wins.
"""

from __future__ import annotations

from provision.emulator.huawei import (
    iam_attachments,
    iam_groups,
    iam_policies,
    iam_tokens,
    iam_users,
    maas,
    modelarts,
    organizations,
    pangu,
    vpcep,
)
from provision.emulator.huawei.routing import HwRoute
from provision.emulator.huawei.seed import seed_account
from provision.emulator.wire import Service

ROUTES: tuple[HwRoute, ...] = (
    *iam_tokens.ROUTES,
    *iam_policies.ROUTES,
    *iam_attachments.ROUTES,  # before iam_users: /v5/users/{id}/attached-policies
    *iam_groups.ROUTES,
    *iam_users.ROUTES,
    *organizations.ROUTES,  # before the /v1/{project_id}/... routes
    *modelarts.ROUTES,
    *maas.ROUTES,
    *vpcep.ROUTES,
    *pangu.ROUTES,
)

# The seed hook: every account gets a ``huawei`` section (its defaults derive from the account id).
SERVICE = Service(name="huawei", seed=seed_account)

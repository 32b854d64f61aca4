"""`provision emulator serve` takes the Huawei root key from the Huawei SDK's own variables."""

from __future__ import annotations

import os

from huaweicloudsdksts.v1 import GetCallerIdentityRequest

from provision.emulator.huawei.seed import defaults
from provision.emulator.huawei.testing import HuaweiClients
from tests.emulator.huawei.conftest import sdk_error
from tests.emulator.serving import served

AK, SK = "HWTESTROOTKEY0000001", "test-root-secret-from-the-environment"  # emulator-only values


def test_serve_reads_huaweicloud_sdk_ak_and_sk() -> None:
    env = {**os.environ, "HUAWEICLOUD_SDK_AK": AK, "HUAWEICLOUD_SDK_SK": SK}
    with served(env=env) as (_, url):
        first = defaults("1000000000000001")
        root = HuaweiClients(url, AK, SK, first["domain_id"], first["project_id"])
        assert root.sts().get_caller_identity(GetCallerIdentityRequest()).account_id == first["domain_id"]
        documented = root.as_key(first["root_access_key_id"], first["root_secret_access_key"])
        assert (
            sdk_error(lambda: documented.sts().get_caller_identity(GetCallerIdentityRequest())).status_code
            == 401
        )

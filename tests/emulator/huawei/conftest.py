"""Fixtures of the Huawei emulator tests: the root identity's SDK clients, a created IAM user's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkiam.v5 import (
    CreateAccessKeyV5Request,
    CreateLoginProfileReqBody,
    CreateLoginProfileV5Request,
    CreateUserReqBody,
    CreateUserV5Request,
)

from provision.emulator.huawei.testing import HuaweiClients
from provision.emulator.testing import EmulatorHandle


@pytest.fixture
def hw(emulator: EmulatorHandle) -> HuaweiClients:
    """The first account's root key and clients."""
    return HuaweiClients.root(emulator)


def sdk_error(call: Callable[[], Any]) -> ClientRequestException:
    """The ClientRequestException a call raises (fails the test if it succeeds)."""
    with pytest.raises(ClientRequestException) as info:
        call()
    return info.value


def new_user(hw: HuaweiClients, name: str = "alice") -> tuple[str, HuaweiClients]:
    """Create an IAM user with an access key: its id and its clients."""
    iam = hw.iam()
    user = iam.create_user_v5(CreateUserV5Request(body=CreateUserReqBody(name=name, enabled=True))).user
    key = iam.create_access_key_v5(CreateAccessKeyV5Request(user_id=user.user_id)).access_key
    return user.user_id, hw.as_key(key.access_key_id, key.secret_access_key)


PASSWORD = "Delivery-pass-2026"


def with_login(hw: HuaweiClients, user_id: str, password: str = PASSWORD) -> None:
    """Give the user a console login (a login profile with ``password``)."""
    body = CreateLoginProfileReqBody(password=password, password_reset_required=False)
    hw.iam().create_login_profile_v5(CreateLoginProfileV5Request(user_id=user_id, body=body))


def password_token(url: str, user: str, password: str, domain: str = "provision-demo") -> httpx.Response:
    """``POST /v3/auth/tokens`` with the password method, unsigned, as a password-only tool sends it."""
    identity = {
        "methods": ["password"],
        "password": {"user": {"name": user, "password": password, "domain": {"name": domain}}},
    }
    body = {"auth": {"identity": identity, "scope": {"project": {"name": "cn-southwest-2"}}}}
    return httpx.post(url + "/v3/auth/tokens", json=body, trust_env=False)

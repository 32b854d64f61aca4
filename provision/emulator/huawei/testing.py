"""Official Huawei SDK clients pointed at a running emulator, and requests signed with the SDK's own
signer for the APIs no SDK method covers (MaaS API keys, agent-run, Pangu V2).

    from provision.emulator.testing import running_emulator
    from provision.emulator.huawei.testing import HuaweiClients

    with running_emulator() as emu:
        hw = HuaweiClients.root(emu)
        hw.iam().create_user_v5(...)
        hw.signed("POST", f"/v2/{hw.project_id}/maas/api-auth/api-keys", {"allow_all": True})
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
from huaweicloudsdkcore.auth.credentials import BasicCredentials, GlobalCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from huaweicloudsdkiam.v5 import IamClient
from huaweicloudsdkmodelarts.v1 import ModelArtsClient
from huaweicloudsdkorganizations.v1 import OrganizationsClient
from huaweicloudsdkpangulargemodels.v1 import PanguLargeModelsClient
from huaweicloudsdksts.v1 import StsClient
from huaweicloudsdkvpcep.v1 import VpcepClient

from provision.emulator.huawei.seed import defaults
from provision.emulator.huawei.state import REGION, hw_state
from provision.emulator.testing import EmulatorHandle


@dataclass
class HuaweiClients:
    """One identity (an AK/SK) of an emulated account, and its SDK clients."""

    url: str
    ak: str
    sk: str = field(repr=False)
    domain_id: str
    project_id: str

    @classmethod
    def root(cls, emu: EmulatorHandle, account_id: str | None = None) -> HuaweiClients:
        """The root key of ``account_id`` (default: the emulator's first account)."""
        account = account_id or emu.account_id
        state = hw_state(emu.world, account)
        key = next(k for k in state.access_keys.values() if k.user_id is None)
        return cls(emu.url, key.access_key_id, key.secret, state.domain_id, state.projects[REGION])

    def as_key(self, ak: str, sk: str) -> HuaweiClients:
        """The same account signed by another key (an IAM user's)."""
        return HuaweiClients(self.url, ak, sk, self.domain_id, self.project_id)

    def _global(self) -> GlobalCredentials:
        return GlobalCredentials(self.ak, self.sk, self.domain_id)

    def _basic(self) -> BasicCredentials:
        return BasicCredentials(self.ak, self.sk, self.project_id)

    def iam(self) -> Any:
        return IamClient.new_builder().with_credentials(self._global()).with_endpoint(self.url).build()

    def sts(self) -> Any:
        return StsClient.new_builder().with_credentials(self._basic()).with_endpoint(self.url).build()

    def modelarts(self) -> Any:
        return ModelArtsClient.new_builder().with_credentials(self._basic()).with_endpoint(self.url).build()

    def vpcep(self) -> Any:
        return VpcepClient.new_builder().with_credentials(self._basic()).with_endpoint(self.url).build()

    def organizations(self) -> Any:
        return (
            OrganizationsClient.new_builder().with_credentials(self._global()).with_endpoint(self.url).build()
        )

    def pangu(self) -> Any:
        return (
            PanguLargeModelsClient.new_builder()
            .with_credentials(self._basic())
            .with_endpoint(self.url)
            .build()
        )

    def signed(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        host: str | None = None,
    ) -> httpx.Response:
        """An HTTP call signed by ``huaweicloudsdkcore``'s own Signer, as a BasicCredentials client
        signs it (``X-Project-Id``); ``host`` replaces the Host header (a VPC endpoint domain)."""
        data = json.dumps(body).encode() if body is not None else b""
        header_params = {
            "Content-Type": "application/json",
            "X-Project-Id": self.project_id,
            **(headers or {}),
        }
        if host:
            header_params["Host"] = host
        request = SdkRequest(
            method=method,
            schema="http",
            host=urlsplit(self.url).netloc,
            resource_path=path,
            query_params=sorted((query or {}).items()),
            header_params=header_params,
            body=data,
        )
        Signer(self._basic()).sign(request)
        return httpx.request(
            method,
            self.url + request.uri,
            headers=request.header_params,
            content=data,
            timeout=10,
            trust_env=False,
        )


def root_defaults(account_id: str) -> dict[str, str]:
    """The documented root key, password and ids of a built-in account (for tests and the demo)."""
    return defaults(account_id)

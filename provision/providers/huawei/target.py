"""Where Huawei Cloud is and who calls it: the target (region, per-service hosts, the emulator under
``PROVISION_ENDPOINT``, known project/domain ids) and the AK/SK credentials from the SDK's own variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from provision.errors import ProvisionError

DEFAULT_REGION = "cn-southwest-2"  # Pangu is deployed in 西南-贵阳一 only
SERVICES = ("iam", "sts", "modelarts", "vpcep", "organizations", "pangu")
_HOSTS: dict[str, str] = {
    "iam": "iam.{region}.myhuaweicloud.com",
    "sts": "sts.{region}.myhuaweicloud.com",
    "modelarts": "modelarts.{region}.myhuaweicloud.com",  # MaaS API keys too [UNVERIFIED host]
    "vpcep": "vpcep.{region}.myhuaweicloud.com",
    "organizations": "organizations.myhuaweicloud.com",  # global, one endpoint
    "pangu": "pangu.{region}.myhuaweicloud.com",  # V1, V2 (OpenAI) and agent-run [UNVERIFIED V2 host]
}
CREDENTIALS_HINT = (
    "set HUAWEICLOUD_SDK_AK / HUAWEICLOUD_SDK_SK to an access key of the delivery account "
    "(IAM console → My credentials → Access keys)"
)


@dataclass(frozen=True)
class HuaweiTarget:
    """Which cloud: region, per-service URL overrides, the emulator URL when ``PROVISION_ENDPOINT`` is set,
    and the project/domain ids when known in advance."""

    region: str = DEFAULT_REGION
    endpoints: Mapping[str, str] = field(default_factory=dict)  # service → URL (http[s]://host[:port])
    emulator_url: str | None = None
    project_id: str | None = None
    domain_id: str | None = None

    @classmethod
    def from_env(cls, region: str | None = None, endpoints: Mapping[str, str] | None = None) -> HuaweiTarget:
        """The target for ``region``; ``PROVISION_ENDPOINT=http://HOST:PORT`` sends every service there."""
        overrides = dict(endpoints or {})
        for service, url in overrides.items():
            if service not in SERVICES:
                raise ProvisionError(
                    f"unknown Huawei service {service!r} in endpoints: use one of {', '.join(SERVICES)}"
                )
            overrides[service] = _url(url, f"endpoints.{service}")
        project_id = os.environ.get("HUAWEICLOUD_SDK_PROJECT_ID") or None
        domain_id = os.environ.get("HUAWEICLOUD_SDK_DOMAIN_ID") or None
        raw = os.environ.get("PROVISION_ENDPOINT", "").strip()
        emulator = _url(raw, "PROVISION_ENDPOINT") if raw else None
        if emulator:
            overrides = {service: emulator for service in SERVICES}
        return cls(region or DEFAULT_REGION, overrides, emulator, project_id, domain_id)

    def url(self, service: str) -> str:
        """The base URL one service's calls go to."""
        if service in self.endpoints:
            return self.endpoints[service]
        return "https://" + _HOSTS[service].format(region=self.region)


def _url(raw: str, what: str) -> str:
    parts = urlsplit(raw if "://" in raw else f"http://{raw}")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ProvisionError(f"{what}={raw!r} is not of the form http://HOST:PORT")
    return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True)
class HuaweiCredentials:
    """A permanent AK/SK pair. The secret is never shown (``repr`` hides it)."""

    access_key_id: str
    secret_access_key: str = field(repr=False)

    @classmethod
    def from_env(cls) -> HuaweiCredentials:
        """The SDK's own variables ``HUAWEICLOUD_SDK_AK`` / ``HUAWEICLOUD_SDK_SK``."""
        ak = os.environ.get("HUAWEICLOUD_SDK_AK", "").strip()
        sk = os.environ.get("HUAWEICLOUD_SDK_SK", "").strip()
        if not ak or not sk:
            raise ProvisionError(f"no Huawei Cloud credentials: {CREDENTIALS_HINT}")
        return cls(ak, sk)


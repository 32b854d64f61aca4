"""Where the cloud is and how to reach it: the target (site, region, hosts) and the official SDK clients.

Credentials come from the standard Alibaba Cloud chain (env ``ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET``,
``~/.aliyun/config.json``, ECS role, OIDC), never from the manifest. ``PROVISION_ENDPOINT=http://HOST:PORT``
sends every SDK client to one host over plain HTTP (the local emulator).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import import_module
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import urlsplit

from alibabacloud_credentials.client import Client as CredentialClient
from alibabacloud_credentials.models import Config as CredentialConfig
from alibabacloud_tea_openapi.utils_models import Config

from provision.errors import ProvisionError
from provision.providers.alibaba.calls import CallError, call, paginate, service_of
from provision.providers.alibaba.governor import Governors, Workers
from provision.providers.common.outcomes import Outcome
from provision.providers.common.pagers import Pager
from provision.providers.common.policies import DEFAULT_RETRY, PollPolicy, RetryPolicy

if TYPE_CHECKING:  # each product's client module is imported when its first client is built
    from alibabacloud_bailian20231229.client import Client as BailianClient
    from alibabacloud_ecs20140526.client import Client as EcsClient
    from alibabacloud_modelstudio20260210.client import Client as ModelStudioClient
    from alibabacloud_privatelink20200415.client import Client as PrivateLinkClient
    from alibabacloud_ram20150501.client import Client as RamClient
    from alibabacloud_sts20150401.client import Client as StsClient
    from alibabacloud_vpc20160428.client import Client as VpcClient

T = TypeVar("T")
I = TypeVar("I")  # noqa: E741  (an item type)

Site = Literal["public", "finance"]
PRODUCTS = ("ram", "sts", "modelstudio", "bailian", "privatelink", "vpc", "ecs")
# product → the module of its SDK client (class ``Client``); imported when the first client is built
_SDK: dict[str, str] = {"ram": "alibabacloud_ram20150501.client", "sts": "alibabacloud_sts20150401.client",
                        "modelstudio": "alibabacloud_modelstudio20260210.client",
                        "bailian": "alibabacloud_bailian20231229.client",
                        "privatelink": "alibabacloud_privatelink20200415.client",
                        "vpc": "alibabacloud_vpc20160428.client", "ecs": "alibabacloud_ecs20140526.client"}
DEFAULT_REGION: dict[str, str] = {"public": "cn-beijing", "finance": "cn-shanghai-finance-1"}

# Host templates per site (reference table). Finance: RAM and VPC are central; the Model Studio and
# Bailian hosts follow the SDK's regional rule [UNVERIFIED: the POP API is documented for Beijing and
# Singapore only, so that host may not exist on finance cloud].
_HOSTS: dict[str, dict[str, str]] = {
    "public": {
        "ram": "ram.aliyuncs.com",
        "sts": "sts.{region}.aliyuncs.com",
        "modelstudio": "modelstudio.{region}.aliyuncs.com",
        "bailian": "bailian.{region}.aliyuncs.com",
        "privatelink": "privatelink.{region}.aliyuncs.com",
        "vpc": "vpc.{region}.aliyuncs.com",
        "ecs": "ecs.{region}.aliyuncs.com",
    },
    "finance": {
        "ram": "ram.aliyuncs.com",
        "sts": "sts.{region}.aliyuncs.com",
        "modelstudio": "modelstudio.{region}.aliyuncs.com",
        "bailian": "bailian.{region}.aliyuncs.com",
        "privatelink": "privatelink.{region}.aliyuncs.com",
        "vpc": "vpc.aliyuncs.com",
        "ecs": "ecs.{region}.aliyuncs.com",
    },
}
_DASHSCOPE_HOST: dict[str, str] = {"public": "dashscope.aliyuncs.com",
                                   "finance": "dashscope-finance.aliyuncs.com"}

# SDK timeouts in milliseconds.
_CONNECT_TIMEOUT_MS = 5_000
_READ_TIMEOUT_MS = 30_000


@dataclass(frozen=True)
class DashScopeTarget:
    """Where model calls go: the base URL to connect to and, under an emulator, the real host to send."""

    base_url: str  # e.g. https://dashscope.aliyuncs.com (no trailing slash)
    host_header: str | None = None  # set when base_url is an emulator: tells it which site is meant

    @property
    def openai_base_url(self) -> str:
        return f"{self.base_url}/compatible-mode/v1"

    @property
    def native_base_url(self) -> str:
        return f"{self.base_url}/api/v1"

    def headers(self) -> dict[str, str]:
        """Extra HTTP headers every model call must carry."""
        return {"Host": self.host_header} if self.host_header else {}


@dataclass(frozen=True)
class CloudTarget:
    """Which cloud: site (public or finance), default region, per-product host overrides, protocol."""

    site: Site = "public"
    region: str = "cn-beijing"
    endpoints: Mapping[str, str] = field(default_factory=dict)  # product → host[:port]; wins over defaults
    protocol: Literal["https", "http"] = "https"
    emulator_url: str | None = None  # set by PROVISION_ENDPOINT

    @classmethod
    def from_env(cls, site: Site = "public", region: str | None = None,
                 endpoints: Mapping[str, str] | None = None) -> CloudTarget:
        """Target for ``site``/``region``; ``PROVISION_ENDPOINT=http://HOST:PORT`` redirects every client."""
        if site not in DEFAULT_REGION:
            raise ProvisionError(f"unknown site {site!r}: use 'public' or 'finance'")
        region = region or DEFAULT_REGION[site]
        overrides = dict(endpoints or {})
        raw = os.environ.get("PROVISION_ENDPOINT", "").strip()
        if not raw:
            return cls(site=site, region=region, endpoints=overrides)
        parts = urlsplit(raw if "://" in raw else f"http://{raw}")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ProvisionError(f"PROVISION_ENDPOINT={raw!r} is not of the form http://HOST:PORT")
        for product in PRODUCTS:
            overrides[product] = parts.netloc
        scheme: Literal["https", "http"] = "https" if parts.scheme == "https" else "http"
        return cls(site=site, region=region, endpoints=overrides, protocol=scheme,
                   emulator_url=f"{parts.scheme}://{parts.netloc}")

    def host(self, product: str, region: str | None = None) -> str:
        """The host[:port] one product's client connects to (regional products take ``region``)."""
        if product in self.endpoints:
            return self.endpoints[product]
        return _HOSTS[self.site][product].format(region=region or self.region)

    def dashscope(self) -> DashScopeTarget:
        """Base URL (and Host header under an emulator) for DashScope / OpenAI-compatible calls."""
        real = _DASHSCOPE_HOST[self.site]
        if self.emulator_url:
            return DashScopeTarget(base_url=self.emulator_url, host_header=real)
        return DashScopeTarget(base_url=f"https://{real}")


def ordered_like(live: tuple[T, ...], desired: tuple[T, ...] | None) -> tuple[T, ...]:
    """A live set in the declared order when both hold the same items (order is not a difference)."""
    if desired is not None and len(desired) == len(live) and set(desired) == set(live):
        return desired
    return live


def default_credential() -> CredentialClient:
    """The standard credential chain. The env step is done here because ``alibabacloud_credentials``
    reads ``ALIBABA_CLOUD_*`` once, at import time, and would miss variables set later."""
    access_key_id = os.environ.get("ALIBABA_CLOUD_ACCESS_KEY_ID", "")
    secret = os.environ.get("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "")
    token = os.environ.get("ALIBABA_CLOUD_SECURITY_TOKEN", "")
    if access_key_id and secret:
        return CredentialClient(CredentialConfig(
            type="sts" if token else "access_key", access_key_id=access_key_id, access_key_secret=secret,
            security_token=token or None))
    return CredentialClient()  # profile file, ECS role, OIDC, ...


class Clients:
    """Lazily built official SDK clients sharing one credential, plus the retry and poll policies."""

    def __init__(self, target: CloudTarget, credential: CredentialClient | None = None, *,
                 retry: RetryPolicy = DEFAULT_RETRY, poll: PollPolicy | None = None,
                 governors: Governors | None = None) -> None:
        self.target = target
        self.retry = retry
        self.poll = poll or PollPolicy()
        # calls in flight per service, shared with every client set derived from this one
        self.governors = governors or Governors(Workers.from_env(PRODUCTS))
        self._credential = credential
        self._cache: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def for_access_key(self, access_key_id: str, access_key_secret: str) -> Clients:
        """The same target signed with another AccessKey (member probes, verify)."""
        credential = CredentialClient(CredentialConfig(
            type="access_key", access_key_id=access_key_id, access_key_secret=access_key_secret))
        return Clients(self.target, credential, retry=self.retry, poll=self.poll, governors=self.governors)

    # -- clients -----------------------------------------------------------------------------------
    def ram(self) -> RamClient:
        client: RamClient = self._client("ram", self.target.region)
        return client

    def sts(self) -> StsClient:
        client: StsClient = self._client("sts", self.target.region)
        return client

    def modelstudio(self) -> ModelStudioClient:
        client: ModelStudioClient = self._client("modelstudio", self.target.region)
        return client

    def bailian(self) -> BailianClient:
        client: BailianClient = self._client("bailian", self.target.region)
        return client

    def privatelink(self, region: str) -> PrivateLinkClient:
        client: PrivateLinkClient = self._client("privatelink", region)
        return client

    def vpc(self, region: str) -> VpcClient:
        client: VpcClient = self._client("vpc", region)
        return client

    def ecs(self, region: str) -> EcsClient:
        client: EcsClient = self._client("ecs", region)
        return client

    # -- calls -------------------------------------------------------------------------------------
    def call(self, resource: str, action: str, fn: Callable[[], T]) -> T:
        """Run one SDK call with this client set's retry policy (see ``calls.call``)."""
        return call(resource, action, fn, self.retry, self.governors.of(service_of(resource, action)))

    def call_or_none(self, resource: str, action: str, fn: Callable[[], T],
                     tolerate: Outcome = Outcome.GONE) -> T | None:
        """Like :meth:`call`, but ``None`` when the call fails with ``tolerate`` (already gone, exists)."""
        try:
            return self.call(resource, action, fn)
        except CallError as err:
            if err.outcome is tolerate:
                return None
            raise

    def paginate(self, resource: str, action: str, pager: Pager[I]) -> list[I]:
        """Every item of a paged list call (see ``calls.paginate``)."""
        return paginate(resource, action, pager, self.retry, self.governors.of(service_of(resource, action)))

    # -- internals ---------------------------------------------------------------------------------
    def _client(self, product: str, region: str) -> Any:
        with self._lock:
            key = (product, region)
            if key not in self._cache:
                if self._credential is None:
                    self._credential = default_credential()
                cls = import_module(_SDK[product]).Client
                self._cache[key] = cls(Config(
                    credential=self._credential, endpoint=self.target.host(product, region),
                    protocol=self.target.protocol, region_id=region,
                    connect_timeout=_CONNECT_TIMEOUT_MS, read_timeout=_READ_TIMEOUT_MS))
            return self._cache[key]

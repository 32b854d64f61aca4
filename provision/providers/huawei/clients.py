"""Where Huawei Cloud is and how to reach it: the target (region, hosts), the credentials, the official SDK
clients, one error type, retries and paging. The only module that builds Huawei SDK clients.

Interface for the ``huawei`` branch (plan/apply/revoke wiring)::

    target = HuaweiTarget.from_env(region="cn-southwest-2")     # PROVISION_ENDPOINT → every client
    clients = HuaweiClients(target, HuaweiCredentials.from_env())  # HUAWEICLOUD_SDK_AK / _SK
    clients.iam() / .sts() / .modelarts() / .vpcep() / .organizations() / .pangu()   # built once, lazily
    clients.call("iam.user/alice", "CreateUserV5", lambda: clients.iam().create_user_v5(req))
    clients.request("maas.api_key/main", "CreateMaasApiKey", "modelarts", "POST",
                    f"/v2/{clients.project_id}/maas/api-auth/api-keys", body={...})   # → JSON
    clients.signed("pangu", "POST", path, body, headers={"stream": "true"}, host=VPCE_DOMAIN)  # raw httpx
    clients.marker_pages(...) / clients.offset_pages(...)     # every item of a paged list
    clients.for_key(ak, sk)                                   # the same account, another identity

Failures raise :class:`HuaweiCallError` (a :class:`~provision.errors.CloudCallError`): resource, action,
the cloud's ``error_code`` and HTTP status, its ``error_msg``, the ``X-Request-Id`` and what to do, with an
:class:`~provision.providers.common.outcomes.Outcome` (gone / exists / retry / fail) from Huawei's table of
codes, read by the cloud-neutral rule machinery, retry loop and pagers of ``providers/common``.
Throttling (429, ``APIG.0308``), 5xx and network errors are retried with backoff (``Retry-After`` honoured on
the signed calls). Secrets never appear in messages or reprs.

Under ``PROVISION_ENDPOINT=http://HOST:PORT`` (the emulator) every service URL is that one; project and
domain ids come from ``HUAWEICLOUD_SDK_PROJECT_ID`` / ``HUAWEICLOUD_SDK_DOMAIN_ID`` when set, else from the
IAM lookups the SDK itself would make (``GET /v3/projects?name=REGION``, ``GET /v3/auth/domains``), once.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from huaweicloudsdkcore.auth.credentials import BasicCredentials, GlobalCredentials
from huaweicloudsdkcore.exceptions.exceptions import (
    ConnectionException,
    RequestTimeoutException,
    SdkException,
    ServiceResponseException,
)
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from huaweicloudsdkiam.v5 import IamClient
from huaweicloudsdkmodelarts.v1 import ModelArtsClient
from huaweicloudsdkorganizations.v1 import OrganizationsClient
from huaweicloudsdkpangulargemodels.v1 import PanguLargeModelsClient
from huaweicloudsdksts.v1 import StsClient
from huaweicloudsdkvpcep.v1 import VpcepClient

from provision.errors import CloudCallError, ProvisionError
from provision.providers.common.outcomes import DEFAULT_RULE, Outcome, Rule, RuleTable
from provision.providers.common.pagers import offset_pager, page_info_pager, paginate
from provision.providers.common.policies import DEFAULT_RETRY, RetryPolicy, retried

log = logging.getLogger(__name__)
T = TypeVar("T")
I = TypeVar("I")  # noqa: E741  (an item type)

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
_TIMEOUT_S = 30.0
_CREDENTIALS = (
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
            raise ProvisionError(f"no Huawei Cloud credentials: {_CREDENTIALS}")
        return cls(ak, sk)


# --- errors -------------------------------------------------------------------------------------------------


_RULES: tuple[Rule, ...] = (
    Rule(
        "APIG.0301",
        Outcome.FAIL,
        "the access key was refused (unknown, inactive, deleted user, wrong "
        "secret or a clock more than 15 minutes off): " + _CREDENTIALS,
    ),
    Rule(
        "APIG.0308", Outcome.RETRY, "the API is throttling this account: retry later or lower --concurrency"
    ),
    Rule("429", Outcome.RETRY, "the API is throttling this account: retry later or lower --concurrency"),
    Rule(
        "APIG.0101",
        Outcome.FAIL,
        "the endpoint does not offer this API: check the region, endpoints and PROVISION_ENDPOINT",
    ),
    Rule(
        "APIG.0201",
        Outcome.FAIL,
        "the request or its project id was refused: check the region and HUAWEICLOUD_SDK_PROJECT_ID",
    ),
    Rule(
        "PAP5.0001",
        Outcome.FAIL,
        "the identity may not call {action}: attach an identity policy allowing "
        "it (IAM console → Users → Permissions)",
    ),
    Rule(
        "Organizations.SCPDenied",
        Outcome.FAIL,
        "a service control policy of the organization denies the "
        "call: check the guardrails (SCPs) and g:SourceVpce conditions",
    ),
    Rule(
        "PANGU.0011",
        Outcome.FAIL,
        "Pangu refused the caller: check its credentials and that the "
        "deployment's workspace grants it (INTERNAL grants) or is PUBLIC",
    ),
    Rule("PANGU.0012", Outcome.FAIL, "the call carries no credentials: pass an API key or sign it"),
    Rule(
        "PAP5.0012",
        Outcome.FAIL,
        "an IAM quota is reached (at most 2 access keys per user, 20 tags per "
        "user): declare fewer or delete unused ones",
    ),
    Rule(
        "*.0012",
        Outcome.FAIL,
        "a quota is reached (30 API keys per account, 50 endpoints): remove unused ones",
    ),
    Rule("*.0116", Outcome.FAIL, "a ModelArts quota is reached: remove unused workspaces"),
    Rule(
        "Organizations.1012",
        Outcome.FAIL,
        "an Organizations limit is reached (5 SCPs per entity): detach one first",
    ),
    Rule(
        "PAP5.0013",
        Outcome.FAIL,
        "something still hangs on it (keys, login profile, policies, groups, "
        "attachments): re-run plan, which lists the cascade, then apply",
    ),
    Rule("Organizations.1013", Outcome.FAIL, "the SCP is still attached: detach it first"),
    Rule(
        "PAP5.0011",
        Outcome.FAIL,
        'fix the policy document (Version "5.0", Statement[] with Effect and Action)',
    ),
    Rule("PAP5.0009", Outcome.EXISTS, "it already exists: declare adopt: true to take it over, or rename"),
    Rule("ModelArts.6101", Outcome.EXISTS, "a workspace of that name exists: declare adopt: true or rename"),
    Rule("MaaS.0009", Outcome.EXISTS, "an API key of that label exists"),
    Rule("EndPoint.0012", Outcome.EXISTS, "an endpoint to that service exists in that VPC"),
    Rule("Organizations.1009", Outcome.EXISTS),
    Rule("PAP5.0004", Outcome.GONE, "it does not exist (any more): re-run plan"),
    Rule("ModelArts.6102", Outcome.GONE, "it does not exist (any more): re-run plan"),
    Rule("MaaS.0004", Outcome.GONE, "it does not exist (any more): re-run plan"),
    Rule("EndPoint.0005", Outcome.GONE, "it does not exist (any more): re-run plan"),
    Rule("Organizations.1004", Outcome.GONE, "it does not exist (any more): re-run plan"),
    Rule("PANGU.3254", Outcome.GONE, "the deployment does not exist: check the deployment id and project"),
    Rule("EndPoint.0002", Outcome.RETRY, "the endpoint is busy (creating or deleting): retry later"),
    Rule("APIG.0202", Outcome.RETRY, "the service is unavailable: retry later"),
    Rule("5??", Outcome.RETRY, "the cloud had an internal error: retry later"),
    Rule(
        "NetworkError",
        Outcome.RETRY,
        "the endpoint could not be reached: check the network, proxies and PROVISION_ENDPOINT",
    ),
)
_TABLE = RuleTable(_RULES)


def rule_for(code: str) -> Rule:
    """The one table entry for a Huawei error code."""
    return _TABLE.rule_for(code)


class HuaweiCallError(CloudCallError):
    """A failed Huawei call: resource, action, ``error_code``, status, ``error_msg``, X-Request-Id, hint."""

    def __init__(
        self,
        resource: str,
        action: str,
        code: str,
        status: int | None,
        message: str,
        request_id: str = "",
        retry_after_s: float | None = None,
    ) -> None:
        rule = rule_for(code)
        if rule is DEFAULT_RULE and status is not None and status >= 500:
            rule = rule_for("5??")
        super().__init__(resource, action, code, status, message, rule.hint.format(action=action), request_id)
        self.outcome = rule.outcome
        self.retry_after_s = retry_after_s


def error_of(resource: str, action: str, exc: BaseException) -> HuaweiCallError | None:
    """An SDK exception as a :class:`HuaweiCallError`; ``None`` for exceptions that are not the cloud's."""
    if isinstance(exc, HuaweiCallError):
        return exc
    if isinstance(exc, ServiceResponseException):
        code = str(exc.error_code or exc.status_code)
        return HuaweiCallError(
            resource, action, code, exc.status_code, str(exc.error_msg or ""), str(exc.request_id or "")
        )
    if isinstance(exc, ConnectionException | RequestTimeoutException | httpx.TransportError):
        return HuaweiCallError(resource, action, "NetworkError", None, type(exc).__name__)
    if isinstance(exc, SdkException):
        return HuaweiCallError(resource, action, "SdkError", None, str(exc.error_msg))
    return None


def response_error(resource: str, action: str, response: httpx.Response) -> HuaweiCallError:
    """The error of a signed call answered ≥ 400, from its ``{error_code, error_msg}`` body."""
    code, message = str(response.status_code), response.text[:300]
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        code = str(body.get("error_code") or body.get("code") or code)
        message = str(body.get("error_msg") or body.get("message") or "")
    retry_after = response.headers.get("Retry-After")
    return HuaweiCallError(
        resource,
        action,
        code,
        response.status_code,
        message,
        response.headers.get("X-Request-Id", ""),
        float(retry_after) if retry_after and retry_after.isdigit() else None,
    )


# --- the clients --------------------------------------------------------------------------------------------


class HuaweiClients:
    """Lazily built official SDK clients sharing one AK/SK, signed calls for the REST APIs without SDK
    methods, retries and paging."""

    def __init__(
        self, target: HuaweiTarget, credentials: HuaweiCredentials, *, retry: RetryPolicy = DEFAULT_RETRY
    ) -> None:
        self.target = target
        self.credentials = credentials
        self.retry = retry
        self._ids: dict[str, str] = {
            k: v for k, v in (("project", target.project_id), ("domain", target.domain_id)) if v
        }
        self._cache: dict[str, Any] = {}
        self._lock = threading.Lock()

    def for_key(self, access_key_id: str, secret_access_key: str) -> HuaweiClients:
        """The same account (target and ids) signed by another access key: a delivered user's."""
        other = HuaweiClients(
            self.target, HuaweiCredentials(access_key_id, secret_access_key), retry=self.retry
        )
        other._ids = dict(self._ids)
        return other

    # -- ids -------------------------------------------------------------------------------------------------
    @property
    def project_id(self) -> str:
        """The project of the target's region (looked up once: ``GET /v3/projects?name=REGION``)."""
        with self._lock:
            if "project" not in self._ids:
                self._ids["project"] = self._lookup(
                    "/v3/projects", {"name": self.target.region}, "projects", "KeystoneListProjects"
                )["id"]
            return self._ids["project"]

    @property
    def domain_id(self) -> str:
        """The account (domain) id (looked up once: ``GET /v3/auth/domains``)."""
        return self._domain("domain")

    @property
    def domain_name(self) -> str:
        """The account (domain) name: the user-name domain of a password token request."""
        return self._domain("domain_name")

    def _domain(self, kind: str) -> str:
        with self._lock:
            if kind not in self._ids:
                found = self._lookup("/v3/auth/domains", {}, "domains", "KeystoneListAuthDomains")
                self._ids.setdefault("domain", found["id"])
                self._ids["domain_name"] = found["name"]
            return self._ids[kind]

    def _lookup(self, path: str, query: dict[str, str], key: str, action: str) -> dict[str, str]:
        response = self.call(
            f"iam.{key}",
            action,
            lambda: self._send("iam", "GET", path, None, query, {}, None, identity=False),
        )
        if response.status_code >= 400:
            raise response_error(f"iam.{key}", action, response)
        items = response.json().get(key) or []
        if len(items) != 1:
            raise ProvisionError(
                f"iam.{key}: {action} found {len(items)} {key} for {query or 'the key'}: "
                f"set HUAWEICLOUD_SDK_{key[:-1].upper()}_ID"
            )
        return {"id": str(items[0]["id"]), "name": str(items[0].get("name") or "")}

    # -- SDK clients -----------------------------------------------------------------------------------------
    def iam(self) -> Any:
        """IAM v5 (users, keys, login profiles, policies, groups, MFA devices, tags): global credentials."""
        return self._client("iam", IamClient, self._global)

    def sts(self) -> Any:
        return self._client("sts", StsClient, self._basic)

    def modelarts(self) -> Any:
        return self._client("modelarts", ModelArtsClient, self._basic)

    def vpcep(self) -> Any:
        return self._client("vpcep", VpcepClient, self._basic)

    def organizations(self) -> Any:
        return self._client("organizations", OrganizationsClient, self._global)

    def pangu(self) -> Any:
        return self._client("pangu", PanguLargeModelsClient, self._basic)

    def _global(self) -> GlobalCredentials:
        return GlobalCredentials(
            self.credentials.access_key_id, self.credentials.secret_access_key, self.domain_id
        )

    def _basic(self) -> BasicCredentials:
        return BasicCredentials(
            self.credentials.access_key_id, self.credentials.secret_access_key, self.project_id
        )

    def _client(self, service: str, cls: Any, credentials: Callable[[], Any]) -> Any:
        client = self._cache.get(service)
        if client is None:
            creds = credentials()  # may look ids up: outside the lock of _id
            config = HttpConfig.get_default_config()
            config.timeout = (5, _TIMEOUT_S)
            built = (
                cls.new_builder()
                .with_credentials(creds)
                .with_http_config(config)
                .with_endpoint(self.target.url(service))
                .build()
            )
            with self._lock:
                client = self._cache.setdefault(service, built)
        return client

    # -- calls -----------------------------------------------------------------------------------------------
    def call(self, resource: str, action: str, fn: Callable[[], T]) -> T:
        """Run one call, retrying throttling, 5xx and network errors; raise :class:`HuaweiCallError`."""

        def retry_after(exc: BaseException) -> float | None:
            err = error_of(resource, action, exc)
            return err.retry_after_s if err is not None else None

        def retryable(exc: BaseException) -> bool:
            err = error_of(resource, action, exc)
            return err is not None and err.outcome is Outcome.RETRY

        try:
            return retried(resource, action, fn, self.retry, retryable=retryable, retry_after=retry_after)
        except Exception as exc:
            err = error_of(resource, action, exc)
            if err is None:
                raise
            raise err from None

    def call_or_none(self, resource: str, action: str, fn: Callable[[], T]) -> T | None:
        """A read whose "not found" answer means there is none (a login profile, a deleted thing)."""
        try:
            return self.call(resource, action, fn)
        except HuaweiCallError as err:
            if err.outcome is Outcome.GONE:
                return None
            raise

    def signed(
        self,
        service: str,
        method: str,
        path: str,
        body: Any = None,
        query: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        host: str | None = None,
    ) -> httpx.Response:
        """One HTTP call signed by ``huaweicloudsdkcore``'s own Signer as a project-scoped client signs it
        (``X-Project-Id``); ``host`` names a VPC endpoint domain in the Host header (the emulator) or, on
        the real cloud, is the host connected to. No retries, no error mapping: the raw answer."""
        return self._send(service, method, path, body, dict(query or {}), dict(headers or {}), host)

    def _send(
        self,
        service: str,
        method: str,
        path: str,
        body: Any,
        query: dict[str, str],
        headers: dict[str, str],
        host: str | None,
        *,
        identity: bool = True,
    ) -> httpx.Response:
        base = self.target.url(service)
        if host and not self.target.emulator_url:
            base = f"https://{host}"
            host = None
        data = json.dumps(body).encode() if body is not None else b""
        header_params = dict(headers)
        if identity:
            header_params = {
                "Content-Type": "application/json",
                "X-Project-Id": self.project_id,
                **header_params,
            }
        if host:
            header_params["Host"] = host
        parts = urlsplit(base)
        request = SdkRequest(
            method=method,
            schema=parts.scheme,
            host=parts.netloc,
            resource_path=path,
            query_params=sorted(query.items()),
            header_params=header_params,
            body=data,
        )
        Signer(self.credentials_for_signer()).sign(request)
        return httpx.request(
            method,
            base + request.uri,
            headers=request.header_params,
            content=data,
            timeout=_TIMEOUT_S,
            trust_env=False,
        )

    def credentials_for_signer(self) -> BasicCredentials:
        """The AK/SK as the SDK's signer takes them (no id lookups)."""
        return BasicCredentials(self.credentials.access_key_id, self.credentials.secret_access_key)

    def request(
        self,
        resource: str,
        action: str,
        service: str,
        method: str,
        path: str,
        body: Any = None,
        query: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """A signed REST call (MaaS API keys and other APIs without an SDK method): its JSON answer
        (``{}`` for an empty one), retried like :meth:`call`, failures as :class:`HuaweiCallError`."""

        def attempt() -> httpx.Response:
            response = self.signed(service, method, path, body, query, headers)
            if response.status_code >= 400:
                raise response_error(resource, action, response)
            return response

        response = self.call(resource, action, attempt)
        return response.json() if response.content else {}

    # -- paging ----------------------------------------------------------------------------------------------
    def marker_pages(
        self,
        resource: str,
        action: str,
        fetch: Callable[[str | None], Any],
        items: Callable[[Any], Iterable[I] | None],
    ) -> list[I]:
        """IAM v5 / Organizations style: ``marker`` in, ``page_info.next_marker`` out (absent when done)."""
        return paginate(lambda page: self.call(resource, action, page), page_info_pager(fetch, items))

    def offset_pages(
        self,
        resource: str,
        action: str,
        fetch: Callable[[int, int], Any],
        items: Callable[[Any], Iterable[I] | None],
        total: Callable[[Any], int | None],
        limit: int,
    ) -> list[I]:
        """ModelArts / VPCEP / MaaS style: ``offset`` + ``limit`` in, a total count out."""
        pager = offset_pager(fetch, items, total, limit)
        return paginate(lambda page: self.call(resource, action, page), pager)

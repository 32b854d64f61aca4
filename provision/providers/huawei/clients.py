"""Where Huawei Cloud is and how to reach it: the target (region, hosts), the credentials, the official SDK
clients, one error type, retries and paging. The only module that builds Huawei SDK clients.

The target and credentials live in ``target.py``, the error table and :class:`HuaweiCallError` in
``errors.py`` (both re-exported here). Interface for the ``huawei`` branch (plan/apply/revoke wiring)::

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
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from huaweicloudsdkcore.auth.credentials import BasicCredentials, GlobalCredentials
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from huaweicloudsdkiam.v5 import IamClient
from huaweicloudsdkmodelarts.v1 import ModelArtsClient
from huaweicloudsdkorganizations.v1 import OrganizationsClient
from huaweicloudsdkpangulargemodels.v1 import PanguLargeModelsClient
from huaweicloudsdksts.v1 import StsClient
from huaweicloudsdkvpcep.v1 import VpcepClient

from provision.errors import ProvisionError
from provision.providers.common.outcomes import Outcome
from provision.providers.common.pagers import offset_pager, page_info_pager, paginate
from provision.providers.common.policies import DEFAULT_RETRY, RetryPolicy, retried
from provision.providers.huawei.errors import HuaweiCallError as HuaweiCallError  # re-exported
from provision.providers.huawei.errors import error_of, response_error
from provision.providers.huawei.target import HuaweiCredentials as HuaweiCredentials
from provision.providers.huawei.target import HuaweiTarget as HuaweiTarget

T = TypeVar("T")
I = TypeVar("I")  # noqa: E741  (an item type)

_TIMEOUT_S = 30.0


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

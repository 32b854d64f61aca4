"""Huawei Cloud's error codes: its table (``Rule`` rows read by the cloud-neutral ``RuleTable`` of
``providers/common``), and :class:`HuaweiCallError`, the one error of a failed Huawei call, built from an SDK
exception or from a signed call's ``{error_code, error_msg}`` answer."""

from __future__ import annotations

import httpx
from huaweicloudsdkcore.exceptions.exceptions import (
    ConnectionException,
    RequestTimeoutException,
    SdkException,
    ServiceResponseException,
)

from provision.errors import CloudCallError
from provision.providers.common.outcomes import DEFAULT_RULE, Outcome, Rule, RuleTable
from provision.providers.huawei.target import CREDENTIALS_HINT

_RULES: tuple[Rule, ...] = (
    Rule(
        "APIG.0301",
        Outcome.FAIL,
        "the access key was refused (unknown, inactive, deleted user, wrong "
        "secret or a clock more than 15 minutes off): " + CREDENTIALS_HINT,
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

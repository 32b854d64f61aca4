"""One way to call the cloud: retries with backoff, one table of error codes, and one paginator.

Every SDK call of the providers goes through :func:`call`. Cloud error codes are mapped here, once,
to an :class:`Outcome` (gone / exists / retry / fail) and a hint a user can act on; callers match
``err.outcome`` or ``err.code``, never messages.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from fnmatch import fnmatchcase
from functools import partial
from typing import Any, Generic, TypeVar

from alibabacloud_credentials.exceptions import CredentialException
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException, ThrottlingException
from darabonba.exceptions import RetryError
from Tea.exceptions import UnretryableException
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from provision.errors import CloudCallError
from provision.providers.alibaba.emulator_hint import emulator_hint
from provision.providers.alibaba.governor import Governor

log = logging.getLogger(__name__)
T = TypeVar("T")
I = TypeVar("I")  # noqa: E741  (an item type)


class Outcome(StrEnum):
    GONE = "gone"  # the thing is not there: fine for a delete
    EXISTS = "exists"  # the thing is already there: fine for a create, read and compare
    RETRY = "retry"  # transient: throttled, server side, network, resource busy
    FAIL = "fail"  # anything else: stop and tell the user


@dataclass(frozen=True)
class _Rule:
    pattern: str  # fnmatch pattern over the cloud's error code, case-sensitive
    outcome: Outcome
    hint: str = ""


_CREDENTIALS = ("set ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET, or a profile in "
                "~/.aliyun/config.json, for the account and site (public or finance) you target")

# First match wins. ``{permission}`` and ``{policy}`` are filled from the product of the call.
_RULES: tuple[_Rule, ...] = (
    _Rule("InvalidAccessKeyId.NotFound", Outcome.FAIL,
          "the AccessKey the tool signs with is unknown to this cloud: " + _CREDENTIALS),
    _Rule("InvalidAccessKeyId.Inactive", Outcome.FAIL, "the AccessKey the tool signs with is disabled: "
          "enable it in the RAM console or use another one"),
    _Rule("SignatureDoesNotMatch", Outcome.FAIL, "the AccessKey secret is wrong: " + _CREDENTIALS),
    _Rule("InvalidCredentials", Outcome.FAIL, "no usable credentials were found: " + _CREDENTIALS),
    _Rule("InvalidAction.NotFound", Outcome.FAIL, "the endpoint does not offer this action: check the site, "
          "region and PROVISION_ENDPOINT"),
    _Rule("InvalidResponse", Outcome.FAIL, "the endpoint did not answer with JSON: check PROVISION_ENDPOINT, "
          "proxies and the region"),
    _Rule("NoPermission*", Outcome.FAIL, "the tool's identity may not call {permission}: attach {policy} "
          "to it (or a custom policy allowing {permission})"),
    _Rule("Forbidden*", Outcome.FAIL, "the tool's identity may not call {permission}: attach {policy} "
          "to it (or a custom policy allowing {permission})"),
    _Rule("Workspace.AccessDenied", Outcome.FAIL, "the caller is not a member of that workspace: add it in "
          "the Model Studio console (Permission management → Accounts)"),
    _Rule("LimitExceeded.User.AccessKey", Outcome.FAIL, "the user already has 2 AccessKeys, the RAM maximum: "
          "declare fewer access_keys or delete an unused key"),
    _Rule("LimitExceeded*", Outcome.FAIL, "an account quota is reached: remove unused resources or ask "
          "Alibaba Cloud support to raise the quota"),
    _Rule("ModelNotFound", Outcome.FAIL, "the model is not in the Model Studio catalog, or not offered in "
          "this region: fix the model id in the manifest (plan checks ids against ListModels)"),
    _Rule("VpcNotFound", Outcome.FAIL, "the VPC does not exist in that region: check vpc_id and region"),
    _Rule("VSwitchNotFound", Outcome.FAIL, "a vSwitch is not in that VPC: check the zones' vswitch ids"),
    _Rule("SecurityGroupNotFound", Outcome.FAIL, "a security group is not in that VPC: check "
          "security_group_ids"),
    _Rule("EndpointService*", Outcome.FAIL, "the endpoint service is unknown here or does not serve that "
          "zone: check service_name / service_id, the region and the zones"),
    _Rule("NeedOpenProduct", Outcome.FAIL, "PrivateLink is not activated for the account: activate it in the "
          "console (or OpenPrivateLinkService) and re-run"),
    _Rule("EndpointZoneDuplicated", Outcome.EXISTS),
    _Rule("EntityAlreadyExists.User", Outcome.EXISTS, "a user of that name exists and is not managed by "
          "provision: declare adopt: true to take it over, or choose another name"),
    _Rule("EntityAlreadyExists.Policy", Outcome.EXISTS, "a custom policy of that name exists and is not "
          "managed by provision: declare adopt: true to take it over, or rename it"),
    _Rule("EntityAlreadyExists*", Outcome.EXISTS),
    _Rule("*AlreadyExist*", Outcome.EXISTS),
    _Rule("*NotExist*", Outcome.FAIL, "it does not exist (any more): re-run plan"),
    _Rule("*NotFound*", Outcome.FAIL, "it does not exist (any more): re-run plan"),
    _Rule("DeleteConflict*", Outcome.FAIL, "something is still attached to it: re-run plan, which lists "
          "the cascade, then apply"),
    _Rule("MalformedPolicyDocument*", Outcome.FAIL, "fix the policy document in the manifest (RAM policy "
          "syntax: Version \"1\", Statement[] with Effect, Action, Resource)"),
    _Rule("InvalidParameter.Password*", Outcome.FAIL, "the account's password policy rejects the generated "
          "password: check GetPasswordPolicy (length, character classes)"),
    _Rule("Throttling*", Outcome.RETRY, "the API is throttling this account: retry later or lower "
          "--concurrency"),
    _Rule("EndpointOperationDenied", Outcome.RETRY, "the endpoint is busy (being created or changed): "
          "retry later"),
    _Rule("IncorrectStatus*", Outcome.RETRY, "the resource is busy changing state: retry later"),
    _Rule("OperationDenied.EndpointProtected", Outcome.FAIL, "the endpoint is protected: only the identity "
          "that created it may change it"),
    _Rule("ServiceUnavailable*", Outcome.RETRY, "the service is unavailable: retry later"),
    _Rule("InternalError*", Outcome.RETRY, "the cloud had an internal error: retry later"),
    _Rule("NetworkError", Outcome.RETRY, "the endpoint could not be reached: check the network, proxies "
          "and PROVISION_ENDPOINT"),
)
_DEFAULT = _Rule("*", Outcome.FAIL)
THROTTLED = "Throttling"  # the prefix of every throttling code (the rule "Throttling*" above)

# The exact codes by which each action says "what you name is not there" (GONE: fine for a delete, "none"
# for a read). Any other not-found code, and these codes from another action, fail: a typo'd id or a
# missing parent must not read as "already deleted". Codes: ../shared/reference/alibaba-cloud-api.md.
_USER = "EntityNotExist.User"
_KEY = "EntityNotExist.User.AccessKey"
_GONE: dict[str, frozenset[str]] = {action: frozenset(codes) for action, codes in {
    "GetUser": (_USER,), "UpdateUser": (_USER,), "DeleteUser": (_USER,),
    "ListPoliciesForUser": (_USER,), "ListGroupsForUser": (_USER,), "ListAccessKeys": (_USER,),
    "GetLoginProfile": (_USER, "EntityNotExist.User.LoginProfile"),
    "DeleteLoginProfile": (_USER, "EntityNotExist.User.LoginProfile"),
    "GetUserMFAInfo": (_USER, "EntityNotExist.User.MFADevice"),
    "UnbindMFADevice": (_USER, "EntityNotExist.User.MFADevice"),
    "DeleteVirtualMFADevice": ("EntityNotExist.VirtualMFADevice",),
    "UpdateAccessKey": (_USER, _KEY), "DeleteAccessKey": (_USER, _KEY), "GetAccessKeyLastUsed": (_USER, _KEY),
    "DetachPolicyFromUser": (_USER, "EntityNotExist.User.Policy", "EntityNotExist.Policy"),
    "RemoveUserFromGroup": (_USER, "EntityNotExist.User.Group", "EntityNotExist.Group"),
    "ListPoliciesForGroup": ("EntityNotExist.Group",),
    "GetPolicy": ("EntityNotExist.Policy",), "DeletePolicy": ("EntityNotExist.Policy",),
    "GetPolicyVersion": ("EntityNotExist.Policy", "EntityNotExist.Policy.Version"),
    "DeleteApiKey": ("ApiKeyNotFound",), "GetApiKey": ("ApiKeyNotFound",),
    "DeleteWorkspace": ("WorkspaceNotExist",), "GetWorkspace": ("WorkspaceNotExist",),
    "ListApiKeys": ("WorkspaceNotExist",), "ListModelPermissions": ("WorkspaceNotExist",),
    "GetVpcEndpointAttribute": ("EndpointNotFound",), "DeleteVpcEndpoint": ("EndpointNotFound",),
    "ListVpcEndpointZones": ("EndpointNotFound",), "ListVpcEndpointSecurityGroups": ("EndpointNotFound",),
    "RemoveZoneFromVpcEndpoint": ("EndpointNotFound", "EndpointZoneNotFound"),
    "DetachSecurityGroupFromVpcEndpoint": ("EndpointNotFound",),
    "DescribeSecurityGroupAttribute": ("InvalidSecurityGroupId.NotFound",),
}.items()}

# product → (RAM action prefix, the system policy that covers the tool's calls)
_PRODUCTS: dict[str, tuple[str, str]] = {
    "ram": ("ram", "AliyunRAMFullAccess"),
    "modelstudio": ("modelstudio", "AliyunBailianFullAccess"),
    "bailian": ("sfm", "AliyunBailianDataReadOnlyAccess"),
    "privatelink": ("privatelink", "AliyunPrivateLinkFullAccess"),
    "vpc": ("vpc", "AliyunVPCReadOnlyAccess"),
    "ecs": ("ecs", "AliyunECSReadOnlyAccess"),
}
_ACTION_PRODUCT: dict[str, str] = {"DescribeVSwitches": "vpc", "DescribeVpcs": "vpc",
                                   "DescribeSecurityGroupAttribute": "ecs",
                                   "ListPublishedAgent": "bailian", "GetCallerIdentity": "sts"}


def service_of(resource: str, action: str) -> str:
    """The product a call goes to: its action's, else its resource's (``ram.user/x`` → ``ram``)."""
    return _ACTION_PRODUCT.get(action) or resource.split(".", 1)[0]


def rule_for(code: str) -> _Rule:
    """The one table entry for a cloud error code."""
    return next((r for r in _RULES if fnmatchcase(code, r.pattern)), _DEFAULT)


def outcome_of(code: str, action: str = "") -> Outcome:
    """What ``code`` means for ``action``: GONE only for the exact codes the action answers for a missing
    resource (``_GONE``); otherwise the table's outcome (an unknown not-found code fails)."""
    if code in _GONE.get(action, frozenset()):
        return Outcome.GONE
    return rule_for(code).outcome


class CallError(CloudCallError):
    """A failed cloud call with its mapped outcome (``gone``/``exists``/``retry``/``fail``)."""

    def __init__(self, resource: str, action: str, code: str, status: int | None, message: str,
                 hint: str = "", request_id: str = "") -> None:
        super().__init__(resource, action, code, status, message, hint, request_id)
        self.outcome = outcome_of(code, action)


class _Failure(Exception):
    """A cloud failure reduced to what the table needs (also raised for Model Studio ``success: false``)."""

    def __init__(self, code: str, status: int | None, message: str, request_id: str = "",
                 retry_after_ms: int | None = None) -> None:
        super().__init__(code)
        self.code, self.status, self.message = code, status, message
        self.request_id, self.retry_after_ms = request_id, retry_after_ms

    @property
    def outcome(self) -> Outcome:
        return outcome_of(self.code)


def _failure(exc: BaseException) -> _Failure | None:
    """Reduce an SDK exception to a failure; ``None`` for exceptions that are not the cloud's."""
    if isinstance(exc, _Failure):
        return exc
    if isinstance(exc, AlibabaCloudException):
        data = exc.data if isinstance(exc.data, dict) else {}
        message = str(data.get("Message") or data.get("message") or data.get("errorMessage") or "")
        retry_after = exc.retry_after if isinstance(exc, ThrottlingException) else None
        return _Failure(str(exc.code or "Unknown"), exc.status_code, message, str(exc.request_id or ""),
                        retry_after)
    if isinstance(exc, UnretryableException):
        inner = exc.inner_exception
        if isinstance(inner, RetryError):
            return _Failure("NetworkError", None, str(inner.message))
        if isinstance(inner, CredentialException):
            return _Failure("InvalidCredentials", None, str(inner))
        return _Failure("InvalidResponse", None, type(inner).__name__)
    if isinstance(exc, CredentialException):
        return _Failure("InvalidCredentials", None, str(exc))
    return None


def _check_body(result: Any) -> None:
    """Model Studio answers some failures as 2xx with ``success: false``; the SDK does not look."""
    body = getattr(result, "body", None)
    if body is not None and getattr(body, "success", None) is False:
        raise _Failure(str(getattr(body, "code", None) or "Unknown"), getattr(body, "http_status_code", None),
                       str(getattr(body, "message", None) or getattr(body, "error_message", None) or ""),
                       str(getattr(body, "request_id", None) or ""))


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries: exponential backoff with jitter, or the cloud's ``retry_after`` (milliseconds)."""

    attempts: int = 6
    base_delay_s: float = 0.2
    max_delay_s: float = 4.0
    max_retry_after_s: float = 30.0

    def wait(self, state: RetryCallState) -> float:
        """Seconds to wait after a failed attempt: the cloud's ``retry_after`` if given, else backoff."""
        exc = state.outcome.exception() if state.outcome else None
        failure = _failure(exc) if exc else None
        if failure is not None and failure.retry_after_ms:
            return min(failure.retry_after_ms / 1000.0, self.max_retry_after_s)
        backoff = wait_exponential(multiplier=self.base_delay_s, max=self.max_delay_s) + \
            wait_random(0, self.base_delay_s)
        return float(backoff(state))


DEFAULT_RETRY = RetryPolicy()


def _retryable(exc: BaseException) -> bool:
    failure = _failure(exc)
    return failure is not None and failure.outcome is Outcome.RETRY


def call(resource: str, action: str, fn: Callable[[], T], retry: RetryPolicy = DEFAULT_RETRY,
         gate: Governor | None = None) -> T:
    """Run one SDK call, retrying transient failures; raise :class:`CallError` for cloud failures.
    With ``gate`` (the service's governor) each attempt holds one of the service's slots, and a
    throttled answer pauses the whole service (governor.py)."""

    def wait(state: RetryCallState) -> float:
        seconds = retry.wait(state)
        log.debug("%s %s: attempt %d failed, retrying in %.2fs", resource, action, state.attempt_number,
                  seconds)
        return seconds

    def attempt() -> T:
        if gate is None:
            result = fn()
        else:
            with gate.slot():
                try:
                    result = fn()
                except Exception as exc:
                    failure = _failure(exc)
                    if failure is not None and failure.code.startswith(THROTTLED):
                        gate.throttle(failure.retry_after_ms / 1000 if failure.retry_after_ms else None)
                    raise
            gate.succeeded()
        _check_body(result)
        return result

    retrying = Retrying(stop=stop_after_attempt(retry.attempts), wait=wait,
                        retry=retry_if_exception(_retryable), reraise=True)
    try:
        return retrying(attempt)
    except Exception as exc:
        failure = _failure(exc)
        if failure is None:
            raise
        raise error_for(resource, action, failure) from None


def error_for(resource: str, action: str, failure: _Failure) -> CallError:
    """The user-facing error for a failure: its code, status, message and the table's hint."""
    prefix, policy = _PRODUCTS.get(service_of(resource, action),
                                   ("*", "the matching Aliyun*FullAccess policy"))
    hint = rule_for(failure.code).hint.format(permission=f"{prefix}:{action}", policy=policy)
    emulator = emulator_hint(failure.code)
    if emulator:
        hint = f"{hint}. {emulator}"
    return CallError(resource, action, failure.code, failure.status, failure.message, hint,
                     failure.request_id)


def once_then_find(create: Callable[[], T], find: Callable[[], T | None]) -> Callable[[], T]:
    """A create without a ClientToken, made safe to retry: later attempts first look for what an
    earlier attempt may have created before its response was lost."""
    attempts = 0

    def attempt() -> T:
        nonlocal attempts
        attempts += 1
        found = find() if attempts > 1 else None
        return found if found is not None else create()

    return attempt


# --- pagination --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pager(Generic[I]):
    """How one list call pages: fetch a page for a cursor (``None`` = first), its items, the next cursor."""

    fetch: Callable[[str | None], Any]  # cursor → SDK response
    items: Callable[[Any], Iterable[I] | None]  # response body → items
    next_cursor: Callable[[Any, str | None, int], str | None]  # (body, cursor, items on page) → next


def marker_pager(fetch: Callable[[str | None], Any], items: Callable[[Any], Iterable[I] | None]) -> Pager[I]:
    """RAM style: ``Marker`` in, ``IsTruncated`` + ``Marker`` out."""
    return Pager(fetch, items, lambda body, _cursor, _n: body.marker if body.is_truncated else None)


def token_pager(fetch: Callable[[str | None], Any], items: Callable[[Any], Iterable[I] | None]) -> Pager[I]:
    """PrivateLink / Model Studio style: ``NextToken`` in and out (empty when done)."""
    return Pager(fetch, items, lambda body, _cursor, n: (body.next_token or None) if n else None)


def page_number_pager(fetch: Callable[[str | None], Any], items: Callable[[Any], Iterable[I] | None],
                      page_size: int) -> Pager[I]:
    """VPC style: ``PageNumber`` (as the cursor, from 1) + ``PageSize``, until ``TotalCount`` is covered."""

    def next_page(body: Any, cursor: str | None, n: int) -> str | None:
        page = int(cursor or "1")
        return str(page + 1) if n and page * page_size < int(body.total_count or 0) else None

    return Pager(fetch, items, next_page)


def paginate(resource: str, action: str, pager: Pager[I], retry: RetryPolicy = DEFAULT_RETRY,
             gate: Governor | None = None) -> list[I]:
    """Every item of a paged list call, each page fetched through :func:`call`."""
    found: list[I] = []
    cursor: str | None = None
    seen: set[str] = set()
    while True:
        page_cursor = cursor
        response = call(resource, action, partial(pager.fetch, page_cursor), retry, gate)
        page = list(pager.items(response.body) or ())
        found.extend(page)
        cursor = pager.next_cursor(response.body, page_cursor, len(page))
        if not cursor or cursor in seen:  # a repeated cursor would loop forever
            return found
        seen.add(cursor)

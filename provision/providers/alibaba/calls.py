"""One way to call Alibaba Cloud: retries with backoff, its table of error codes, and its paginator.

Every SDK call of the providers goes through :func:`call`. Cloud error codes are mapped here, once,
to an :class:`~provision.providers.common.outcomes.Outcome` (gone / exists / retry / fail) and a hint a
user can act on; callers match ``err.outcome`` or ``err.code``, never messages. The machinery (rule table,
retry loop, pagers) is the cloud-neutral one of ``providers/common``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from alibabacloud_credentials.exceptions import CredentialException
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException, ThrottlingException
from darabonba.exceptions import RetryError
from Tea.exceptions import UnretryableException

from provision.errors import CloudCallError
from provision.providers.alibaba.emulator_hint import emulator_hint
from provision.providers.alibaba.governor import Governor
from provision.providers.common.outcomes import Outcome, Rule, RuleTable
from provision.providers.common.pagers import Pager
from provision.providers.common.pagers import paginate as paginate_with
from provision.providers.common.policies import DEFAULT_RETRY, RetryPolicy, retried

T = TypeVar("T")
I = TypeVar("I")  # noqa: E741  (an item type)


_CREDENTIALS = ("set ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET, or a profile in "
                "~/.aliyun/config.json, for the account and site (public or finance) you target")

# First match wins. ``{permission}`` and ``{policy}`` are filled from the product of the call.
_RULES: tuple[Rule, ...] = (
    Rule("InvalidAccessKeyId.NotFound", Outcome.FAIL,
         "the AccessKey the tool signs with is unknown to this cloud: " + _CREDENTIALS),
    Rule("InvalidAccessKeyId.Inactive", Outcome.FAIL, "the AccessKey the tool signs with is disabled: "
         "enable it in the RAM console or use another one"),
    Rule("SignatureDoesNotMatch", Outcome.FAIL, "the AccessKey secret is wrong: " + _CREDENTIALS),
    Rule("InvalidCredentials", Outcome.FAIL, "no usable credentials were found: " + _CREDENTIALS),
    Rule("InvalidAction.NotFound", Outcome.FAIL, "the endpoint does not offer this action: check the site, "
         "region and PROVISION_ENDPOINT"),
    Rule("InvalidResponse", Outcome.FAIL, "the endpoint did not answer with JSON: check PROVISION_ENDPOINT, "
         "proxies and the region"),
    Rule("NoPermission*", Outcome.FAIL, "the tool's identity may not call {permission}: attach {policy} "
         "to it (or a custom policy allowing {permission})"),
    Rule("Forbidden*", Outcome.FAIL, "the tool's identity may not call {permission}: attach {policy} "
         "to it (or a custom policy allowing {permission})"),
    Rule("Workspace.AccessDenied", Outcome.FAIL, "the caller is not a member of that workspace: add it in "
         "the Model Studio console (Permission management → Accounts)"),
    Rule("LimitExceeded.User.AccessKey", Outcome.FAIL, "the user already has 2 AccessKeys, the RAM maximum: "
         "declare fewer access_keys or delete an unused key"),
    Rule("LimitExceeded*", Outcome.FAIL, "an account quota is reached: remove unused resources or ask "
         "Alibaba Cloud support to raise the quota"),
    Rule("ModelNotFound", Outcome.FAIL, "the model is not in the Model Studio catalog, or not offered in "
         "this region: fix the model id in the manifest (plan checks ids against ListModels)"),
    Rule("VpcNotFound", Outcome.FAIL, "the VPC does not exist in that region: check vpc_id and region"),
    Rule("VSwitchNotFound", Outcome.FAIL, "a vSwitch is not in that VPC: check the zones' vswitch ids"),
    Rule("SecurityGroupNotFound", Outcome.FAIL, "a security group is not in that VPC: check "
         "security_group_ids"),
    Rule("EndpointService*", Outcome.FAIL, "the endpoint service is unknown here or does not serve that "
         "zone: check service_name / service_id, the region and the zones"),
    Rule("NeedOpenProduct", Outcome.FAIL, "PrivateLink is not activated for the account: activate it in the "
         "console (or OpenPrivateLinkService) and re-run"),
    Rule("EndpointZoneDuplicated", Outcome.EXISTS),
    Rule("EntityAlreadyExists.User", Outcome.EXISTS, "a user of that name exists and is not managed by "
         "provision: declare adopt: true to take it over, or choose another name"),
    Rule("EntityAlreadyExists.Policy", Outcome.EXISTS, "a custom policy of that name exists and is not "
         "managed by provision: declare adopt: true to take it over, or rename it"),
    Rule("EntityAlreadyExists*", Outcome.EXISTS),
    Rule("*AlreadyExist*", Outcome.EXISTS),
    Rule("*NotExist*", Outcome.FAIL, "it does not exist (any more): re-run plan"),
    Rule("*NotFound*", Outcome.FAIL, "it does not exist (any more): re-run plan"),
    Rule("DeleteConflict*", Outcome.FAIL, "something is still attached to it: re-run plan, which lists "
         "the cascade, then apply"),
    Rule("MalformedPolicyDocument*", Outcome.FAIL, "fix the policy document in the manifest (RAM policy "
         "syntax: Version \"1\", Statement[] with Effect, Action, Resource)"),
    Rule("InvalidParameter.Password*", Outcome.FAIL, "the account's password policy rejects the generated "
         "password: check GetPasswordPolicy (length, character classes)"),
    Rule("Throttling*", Outcome.RETRY, "the API is throttling this account: retry later or lower "
         "--concurrency"),
    Rule("EndpointOperationDenied", Outcome.RETRY, "the endpoint is busy (being created or changed): "
         "retry later"),
    Rule("IncorrectStatus*", Outcome.RETRY, "the resource is busy changing state: retry later"),
    Rule("OperationDenied.EndpointProtected", Outcome.FAIL, "the endpoint is protected: only the identity "
         "that created it may change it"),
    Rule("ServiceUnavailable*", Outcome.RETRY, "the service is unavailable: retry later"),
    Rule("InternalError*", Outcome.RETRY, "the cloud had an internal error: retry later"),
    Rule("NetworkError", Outcome.RETRY, "the endpoint could not be reached: check the network, proxies "
         "and PROVISION_ENDPOINT"),
)
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
    "DeletePolicyVersion": ("EntityNotExist.Policy", "EntityNotExist.Policy.Version"),
    "DetachPolicyFromGroup": ("EntityNotExist.Group", "EntityNotExist.Group.Policy", "EntityNotExist.Policy"),
    # [UNVERIFIED] the role codes by analogy with the user's and group's (roles are not emulated)
    "DetachPolicyFromRole": ("EntityNotExist.Role", "EntityNotExist.Role.Policy", "EntityNotExist.Policy"),
    "DeleteApiKey": ("ApiKeyNotFound",), "GetApiKey": ("ApiKeyNotFound",),
    "DeleteWorkspace": ("WorkspaceNotExist",), "GetWorkspace": ("WorkspaceNotExist",),
    "ListApiKeys": ("WorkspaceNotExist",), "ListModelPermissions": ("WorkspaceNotExist",),
    "GetVpcEndpointAttribute": ("EndpointNotFound",), "DeleteVpcEndpoint": ("EndpointNotFound",),
    "ListVpcEndpointZones": ("EndpointNotFound",), "ListVpcEndpointSecurityGroups": ("EndpointNotFound",),
    "RemoveZoneFromVpcEndpoint": ("EndpointNotFound", "EndpointZoneNotFound"),
    "DetachSecurityGroupFromVpcEndpoint": ("EndpointNotFound",),
    "DescribeSecurityGroupAttribute": ("InvalidSecurityGroupId.NotFound",),
}.items()}
_TABLE = RuleTable(_RULES, _GONE)

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


def rule_for(code: str) -> Rule:
    """The one table entry for a cloud error code."""
    return _TABLE.rule_for(code)


def outcome_of(code: str, action: str = "") -> Outcome:
    """What ``code`` means for ``action``: GONE only for the exact codes the action answers for a missing
    resource (``_GONE``); otherwise the table's outcome (an unknown not-found code fails)."""
    return _TABLE.outcome_of(code, action)


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


def retry_after_s(exc: BaseException) -> float | None:
    """The seconds a throttled answer asked to wait (its ``retry_after``, in milliseconds)."""
    failure = _failure(exc)
    return failure.retry_after_ms / 1000.0 if failure is not None and failure.retry_after_ms else None


def _retryable(exc: BaseException) -> bool:
    failure = _failure(exc)
    return failure is not None and failure.outcome is Outcome.RETRY


def call(resource: str, action: str, fn: Callable[[], T], retry: RetryPolicy = DEFAULT_RETRY,
         gate: Governor | None = None) -> T:
    """Run one SDK call, retrying transient failures; raise :class:`CallError` for cloud failures.
    With ``gate`` (the service's governor) each attempt holds one of the service's slots, and a
    throttled answer pauses the whole service (governor.py)."""

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

    try:
        return retried(resource, action, attempt, retry, retryable=_retryable, retry_after=retry_after_s)
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


def paginate(resource: str, action: str, pager: Pager[I], retry: RetryPolicy = DEFAULT_RETRY,
             gate: Governor | None = None) -> list[I]:
    """Every item of a paged list call, each page fetched through :func:`call`."""
    return paginate_with(lambda fetch: call(resource, action, fetch, retry, gate).body, pager)

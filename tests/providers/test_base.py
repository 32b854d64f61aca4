"""Target, clients, the call wrapper and the paginator, driven through the real SDKs against the emulator."""

from __future__ import annotations

import sys
from functools import partial
from typing import Any

import pytest
from alibabacloud_ram20150501 import models as ram
from alibabacloud_tea_openapi.exceptions import ServerException, ThrottlingException
from alibabacloud_vpc20160428 import models as vpc
from tenacity import RetryCallState, Retrying

from provision.emulator.testing import EmulatorHandle
from provision.errors import CloudCallError, ProvisionError
from provision.providers.alibaba import CallError, Clients, CloudTarget, Outcome, RetryPolicy
from provision.providers.alibaba.calls import call, outcome_of, retry_after_s
from provision.providers.common.pagers import marker_pager, page_number_pager
from provision.providers.common.policies import once_then_find

from .conftest import FAST_POLL, FAST_RETRY


def test_default_hosts_follow_the_site_and_region() -> None:
    public = CloudTarget.from_env()
    assert (public.region, public.protocol) == ("cn-beijing", "https")
    assert public.host("ram") == "ram.aliyuncs.com"
    assert public.host("modelstudio") == "modelstudio.cn-beijing.aliyuncs.com"
    assert public.host("privatelink", "ap-southeast-1") == "privatelink.ap-southeast-1.aliyuncs.com"
    finance = CloudTarget.from_env("finance")
    assert finance.region == "cn-shanghai-finance-1"
    assert finance.host("vpc") == "vpc.aliyuncs.com"
    assert finance.host("privatelink") == "privatelink.cn-shanghai-finance-1.aliyuncs.com"
    assert finance.dashscope().base_url == "https://dashscope-finance.aliyuncs.com"
    assert finance.dashscope().headers() == {}


def test_endpoint_overrides_win_over_defaults() -> None:
    target = CloudTarget.from_env(endpoints={"modelstudio": "modelstudio.ap-southeast-1.aliyuncs.com"})
    assert target.host("modelstudio") == "modelstudio.ap-southeast-1.aliyuncs.com"
    assert target.host("bailian") == "bailian.cn-beijing.aliyuncs.com"


def test_provision_endpoint_sends_every_client_to_the_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVISION_ENDPOINT", "http://127.0.0.1:8765")
    target = CloudTarget.from_env("finance")
    assert target.protocol == "http"
    products = ("ram", "sts", "modelstudio", "bailian", "privatelink", "vpc")
    assert {target.host(p, "cn-beijing") for p in products} == {"127.0.0.1:8765"}
    dashscope = target.dashscope()
    assert dashscope.openai_base_url == "http://127.0.0.1:8765/compatible-mode/v1"
    assert dashscope.headers() == {"Host": "dashscope-finance.aliyuncs.com"}


def test_a_malformed_provision_endpoint_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVISION_ENDPOINT", "ftp://somewhere")
    with pytest.raises(ProvisionError, match="PROVISION_ENDPOINT"):
        CloudTarget.from_env()


def test_credentials_come_from_the_environment_set_after_import(clients: Clients) -> None:
    identity = clients.call("sts", "GetCallerIdentity", lambda: clients.sts().get_caller_identity()).body
    assert identity.identity_type == "Account"


def test_missing_credentials_become_an_actionable_error(target: CloudTarget,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALIBABA_CLOUD_ACCESS_KEY_ID")
    monkeypatch.setenv("ALIBABA_CLOUD_CLI_PROFILE_DISABLED", "true")
    clients = Clients(target, retry=FAST_RETRY)
    with pytest.raises(CloudCallError) as caught:
        clients.call("ram.user/*", "ListUsers", lambda: clients.ram().list_users(ram.ListUsersRequest()))
    assert caught.value.code in ("InvalidCredentials", "InvalidAccessKeyId.NotFound")
    assert "ALIBABA_CLOUD_ACCESS_KEY_ID" in caught.value.hint


def test_a_wrong_secret_names_resource_action_code_and_hint(target: CloudTarget,
                                                             emulator: EmulatorHandle) -> None:
    clients = Clients(target, retry=FAST_RETRY).for_access_key(emulator.root_key_id, "not-the-secret")
    with pytest.raises(CallError) as caught:
        clients.call("ram.user/alice", "GetUser",
                     lambda: clients.ram().get_user(ram.GetUserRequest(user_name="alice")))
    err = caught.value
    assert (err.resource, err.action, err.code, err.outcome) == \
        ("ram.user/alice", "GetUser", "SignatureDoesNotMatch", Outcome.FAIL)
    assert "secret is wrong" in err.hint
    assert "ram.user/alice: GetUser failed with SignatureDoesNotMatch" in str(err)


def test_no_permission_hint_names_the_policy_the_identity_needs(clients: Clients, run: Any,
                                                                  sink: Any) -> None:
    from provision.desired.resources import AccessKeysSpec, UserSpec
    run.create(UserSpec(user="nobody"))
    run.create(AccessKeysSpec(user="nobody", count=1))
    key_id, secret = next(iter(sink.access_keys("nobody").items()))
    as_nobody = clients.for_access_key(key_id, secret)
    with pytest.raises(CallError) as caught:
        as_nobody.call("ram.user/x", "CreateUser",
                       lambda: as_nobody.ram().create_user(ram.CreateUserRequest(user_name="x")))
    assert caught.value.code == "NoPermission" and caught.value.status == 403
    assert "AliyunRAMFullAccess" in caught.value.hint and "ram:CreateUser" in caught.value.hint


def test_error_codes_map_once_to_outcomes() -> None:
    assert outcome_of("EntityNotExist.User.LoginProfile", "GetLoginProfile") is Outcome.GONE
    assert outcome_of("EndpointNotFound", "DeleteVpcEndpoint") is Outcome.GONE
    assert outcome_of("WorkspaceNotExist", "DeleteWorkspace") is Outcome.GONE
    # a custom policy's delete steps: what vanished between the plan's read and the step is done
    assert outcome_of("EntityNotExist.Group.Policy", "DetachPolicyFromGroup") is Outcome.GONE
    assert outcome_of("EntityNotExist.Role.Policy", "DetachPolicyFromRole") is Outcome.GONE
    assert outcome_of("EntityNotExist.Policy.Version", "DeletePolicyVersion") is Outcome.GONE
    assert outcome_of("EntityNotExist.Policy.Version", "DeletePolicy") is Outcome.FAIL
    # a not-found code is "already gone" only for the action that answers it: anything else fails
    assert outcome_of("EntityNotExist.User.LoginProfile", "DeleteUser") is Outcome.FAIL
    assert outcome_of("EntityNotExist.Role", "DeleteUser") is Outcome.FAIL
    assert outcome_of("Workspace.ModelNotFound", "DeleteApiKey") is Outcome.FAIL
    assert outcome_of("EndpointNotFound") is Outcome.FAIL
    assert outcome_of("EntityAlreadyExists.User.Policy") is Outcome.EXISTS
    assert outcome_of("Throttling.User") is Outcome.RETRY
    assert outcome_of("ServiceUnavailable") is Outcome.RETRY
    assert outcome_of("EndpointOperationDenied") is Outcome.RETRY
    assert outcome_of("InvalidAccessKeyId.NotFound") is Outcome.FAIL  # not "gone": credentials are wrong
    assert outcome_of("VSwitchNotFound") is Outcome.FAIL
    assert outcome_of("DeleteConflict.User.AccessKey") is Outcome.FAIL


def _after(exc: BaseException, attempt: int = 1) -> RetryCallState:
    state = RetryCallState(retry_object=Retrying(), fn=None, args=(), kwargs={})
    state.attempt_number = attempt
    state.set_exception((type(exc), exc, sys.exc_info()[2]))
    return state


def test_retry_after_is_honoured_in_milliseconds_and_capped() -> None:
    throttled = ThrottlingException(status_code=400, code="Throttling.User", retry_after=750, data={})
    assert RetryPolicy().wait(_after(throttled), retry_after_s) == pytest.approx(0.75)
    assert RetryPolicy(max_retry_after_s=0.2).wait(_after(throttled), retry_after_s) == pytest.approx(0.2)


def test_backoff_grows_and_stays_bounded() -> None:
    policy = RetryPolicy(base_delay_s=0.1, max_delay_s=1.0)
    server_error = CallError("r", "A", "InternalError", 500, "")
    waits = [policy.wait(_after(server_error, n), retry_after_s) for n in range(1, 8)]
    assert waits[0] < 0.3 and all(w <= 1.1 for w in waits) and max(waits) >= 0.8


@pytest.mark.parametrize("fault", [
    {"throttle_rate": 0.6},
    {"throttle_rate": 0.6, "retry_after_ms": 1000},
    {"error_rate": 0.6},
    {"error_rate": 0.6, "error_code": "ServiceUnavailable"},
])
def test_a_create_under_faults_succeeds_exactly_once(clients: Clients, emulator: EmulatorHandle,
                                                     fault: dict[str, Any]) -> None:
    emulator.set_faults(**fault)
    for name in ("u1", "u2", "u3"):
        request = ram.CreateUserRequest(user_name=name)
        clients.call(f"ram.user/{name}", "CreateUser", partial(clients.ram().create_user, request))
    injected = sum(emulator.stats()["faults_injected"].values())
    emulator.clear_faults()
    users = clients.ram().list_users(ram.ListUsersRequest()).body.users.user
    assert sorted(u.user_name for u in users) == ["u1", "u2", "u3"]
    assert injected > 0

def test_retries_stop_after_the_configured_attempts(clients: Clients, emulator: EmulatorHandle) -> None:
    emulator.set_faults(action="ListUsers", throttle_rate=1.0)
    with pytest.raises(CallError) as caught:
        clients.call("ram.user/*", "ListUsers", lambda: clients.ram().list_users(ram.ListUsersRequest()))
    assert caught.value.code == "Throttling.User" and caught.value.outcome is Outcome.RETRY
    assert "concurrency" in caught.value.hint
    assert emulator.stats()["actions"]["ListUsers"] == FAST_RETRY.attempts


def test_unsuccessful_model_studio_body_becomes_an_error(clients: Clients) -> None:
    class Body:
        success, code, http_status_code, message, request_id = False, "Workspace.Busy", 200, "busy", "r-1"

    class Response:
        body = Body()

    with pytest.raises(CallError) as caught:
        clients.call("modelstudio.workspace/w", "CreateWorkspace", lambda: Response())
    assert (caught.value.code, caught.value.cloud_message, caught.value.request_id) == \
        ("Workspace.Busy", "busy", "r-1")


def test_marker_pagination_collects_every_page(clients: Clients) -> None:
    for i in range(5):
        clients.ram().create_user(ram.CreateUserRequest(user_name=f"page-{i}"))
    users = clients.paginate("ram.user/*", "ListUsers", marker_pager(
        lambda marker: clients.ram().list_users(ram.ListUsersRequest(marker=marker, max_items=2)),
        lambda body: body.users.user))
    assert sorted(u.user_name for u in users) == [f"page-{i}" for i in range(5)]


def test_page_number_pagination_collects_every_page(clients: Clients) -> None:
    def page(number: str | None) -> Any:
        return clients.vpc("cn-beijing").describe_vswitches(vpc.DescribeVSwitchesRequest(
            region_id="cn-beijing", vpc_id="vpc-2zedemo0000000001", page_number=int(number or "1"),
            page_size=1))

    found = clients.paginate("vpc", "DescribeVSwitches", page_number_pager(
        page, lambda body: body.v_switches.v_switch, 1))
    assert len(found) == 3 and len({v.v_switch_id for v in found}) == 3


def test_network_failures_are_retried_then_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVISION_ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAIexample")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "example")
    clients = Clients(CloudTarget.from_env(), retry=RetryPolicy(attempts=2, base_delay_s=0.001),
                      poll=FAST_POLL)
    with pytest.raises(CallError) as caught:
        clients.call("ram.user/*", "ListUsers", lambda: clients.ram().list_users(ram.ListUsersRequest()))
    assert caught.value.code == "NetworkError" and caught.value.outcome is Outcome.RETRY


def test_a_create_whose_response_was_lost_is_found_not_repeated() -> None:
    made: list[str] = []

    def create() -> str:
        made.append("ws-1")
        if len(made) == 1:  # the cloud created it, then the response was lost
            raise ServerException(status_code=503, code="ServiceUnavailable", data={})
        return "ws-again"

    def find() -> str | None:
        return made[0] if made else None

    found = call("modelstudio.workspace/w", "CreateWorkspace", once_then_find(create, find), FAST_RETRY)
    assert found == "ws-1"
    assert made == ["ws-1"]


def test_a_not_found_code_another_action_gives_fails_instead_of_reading_as_gone(clients: Clients) -> None:
    client = clients.ram()
    client.create_user(ram.CreateUserRequest(user_name="nolog"))
    no_profile = partial(client.get_login_profile, ram.GetLoginProfileRequest(user_name="nolog"))
    assert clients.call_or_none("ram.login_profile/nolog", "GetLoginProfile", no_profile) is None  # its code
    with pytest.raises(CallError) as raised:  # the same answer where DeleteUser is expected: not "gone"
        clients.call_or_none("ram.user/nolog", "DeleteUser", no_profile)
    assert raised.value.code == "EntityNotExist.User.LoginProfile" and raised.value.outcome is Outcome.FAIL

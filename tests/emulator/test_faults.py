"""Fault injection as the SDK sees it: throttling with and without retry-after, 5xx, latency, QPS cap."""

from __future__ import annotations

import pytest
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi.exceptions import ClientException, ServerException, ThrottlingException

from provision.emulator.faults import FaultRule, Faults
from provision.emulator.testing import EmulatorHandle


def _outcomes(emu: EmulatorHandle, calls: int) -> list[str]:
    client = StsClient(emu.sdk_config())
    seen = []
    for _ in range(calls):
        try:
            client.get_caller_identity()
            seen.append("ok")
        except ClientException as error:
            seen.append(error.code)
    return seen


def test_throttle_with_retry_after_raises_throttling_exception(emulator: EmulatorHandle) -> None:
    emulator.set_faults(action="GetCallerIdentity", throttle_rate=1.0, retry_after_ms=1500)
    with pytest.raises(ThrottlingException) as caught:
        StsClient(emulator.sdk_config()).get_caller_identity()
    error = caught.value
    assert (error.code, error.status_code, error.retry_after) == ("Throttling.User", 400, 1500)


def test_throttle_without_retry_after_is_a_client_exception(emulator: EmulatorHandle) -> None:
    emulator.set_faults(throttle_rate=1.0)
    with pytest.raises(ClientException) as caught:
        StsClient(emulator.sdk_config()).get_caller_identity()
    assert not isinstance(caught.value, ThrottlingException)
    assert (caught.value.code, caught.value.status_code) == ("Throttling.User", 400)


@pytest.mark.parametrize(("error_code", "status"), [("InternalError", 500), ("ServiceUnavailable", 503)])
def test_error_rate_raises_server_exception(emulator: EmulatorHandle, error_code: str, status: int) -> None:
    emulator.set_faults(error_rate=1.0, error_code=error_code)
    with pytest.raises(ServerException) as caught:
        StsClient(emulator.sdk_config()).get_caller_identity()
    assert (caught.value.code, caught.value.status_code) == (error_code, status)


def test_action_rule_leaves_other_actions_alone(emulator: EmulatorHandle) -> None:
    emulator.set_faults(action="CreateUser", error_rate=1.0)
    assert StsClient(emulator.sdk_config()).get_caller_identity().body.account_id == emulator.account_id
    with pytest.raises(ServerException):
        RamClient(emulator.sdk_config()).create_user(ram_models.CreateUserRequest(user_name="x"))


def test_action_rule_replaces_the_global_rule(emulator: EmulatorHandle) -> None:
    emulator.set_faults(throttle_rate=1.0)
    emulator.set_faults(action="GetCallerIdentity", latency_ms=1)
    assert _outcomes(emulator, 1) == ["ok"]


def test_latency_shows_in_request_log(emulator: EmulatorHandle) -> None:
    emulator.set_faults(latency_ms=40, jitter_ms=10)
    StsClient(emulator.sdk_config()).get_caller_identity()
    stats = emulator.stats()
    assert stats["recent"][-1]["duration_ms"] >= 40
    assert 40 <= stats["faults_injected"]["latency_ms"] <= 50


def test_qps_cap_throttles_calls_beyond_the_limit(emulator: EmulatorHandle) -> None:
    emulator.set_faults(action="GetCallerIdentity", qps=3)
    assert _outcomes(emulator, 6) == ["ok"] * 3 + ["Throttling.User"] * 3


def test_clear_removes_faults(emulator: EmulatorHandle) -> None:
    emulator.set_faults(throttle_rate=1.0)
    emulator.clear_faults()
    assert _outcomes(emulator, 2) == ["ok", "ok"]


def test_same_seed_injects_the_same_faults() -> None:
    def draws(seed: str) -> list[str | None]:
        faults = Faults(seed)
        faults.set(FaultRule(throttle_rate=0.5))
        return [(d.error.code if d.error else None) for d in (faults.decide("A") for _ in range(40))]

    first = draws("s1")
    assert first == draws("s1")
    assert first != draws("s2")
    assert {None, "Throttling.User"} == set(first)


def test_data_plane_is_untouched_unless_the_rule_says_so() -> None:
    faults = Faults("s")
    faults.set(FaultRule(error_rate=1.0))
    assert faults.decide("POST /x", data_plane=True).error is None
    faults.set(FaultRule(error_rate=1.0, data_plane=True))
    error = faults.decide("POST /x", data_plane=True).error
    assert error is not None and (error.code, error.status) == ("InternalError", 500)


def _users(emu: EmulatorHandle) -> list[str]:
    body = RamClient(emu.sdk_config()).list_users(ram_models.ListUsersRequest()).body
    return sorted(u.user_name for u in body.users.user or [])


def test_commit_then_fail_performs_the_write_and_answers_503(emulator: EmulatorHandle) -> None:
    emulator.set_faults(after_commit_rate=1.0)  # every action: reads are answered as usual
    ram = RamClient(emulator.sdk_config())
    with pytest.raises(ServerException) as caught:
        ram.create_user(ram_models.CreateUserRequest(user_name="ghost"))
    assert (caught.value.code, caught.value.status_code) == ("ServiceUnavailable", 503)
    assert _users(emulator) == ["ghost"]  # the write was committed; only its answer was lost
    assert emulator.control("GET", "stats")["faults_injected"] == {"after_commit:ServiceUnavailable": 1}


def test_commit_then_drop_closes_the_connection_without_an_answer(emulator: EmulatorHandle) -> None:
    emulator.set_faults(action="CreateUser", after_commit_rate=1.0, after_commit="drop", after_commit_limit=1)
    ram = RamClient(emulator.sdk_config())
    with pytest.raises(Exception) as caught:  # the SDK sees a dropped connection, not a cloud error
        ram.create_user(ram_models.CreateUserRequest(user_name="ghost"))
    assert not isinstance(caught.value, ClientException)
    created = ram.create_user(ram_models.CreateUserRequest(user_name="second"))  # the limit is used up
    assert created.body.user.user_name == "second"
    assert _users(emulator) == ["ghost", "second"]


def test_commit_then_fail_spares_a_failed_write(emulator: EmulatorHandle) -> None:
    emulator.set_faults(action="DeleteUser", after_commit_rate=1.0, after_commit_limit=1)
    ram = RamClient(emulator.sdk_config())
    with pytest.raises(ClientException) as caught:  # nothing to delete: the cloud's own error, no fault
        ram.delete_user(ram_models.DeleteUserRequest(user_name="nobody"))
    assert caught.value.code.startswith("EntityNotExist")
    assert emulator.control("GET", "stats")["faults_injected"] == {}

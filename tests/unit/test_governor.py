"""Calls in flight per service (PROVISION_WORKERS) and the backing off of a throttled service."""

from __future__ import annotations

import threading

import pytest

from provision.errors import ProvisionError
from provision.providers.alibaba.base import PRODUCTS
from provision.providers.alibaba.calls import CallError, _Failure, call
from provision.providers.alibaba.governor import DEFAULT_WORKERS, Governor, Governors, Workers


def test_workers_default_and_per_service_counts() -> None:
    assert Workers.parse("", PRODUCTS).of("ram") == DEFAULT_WORKERS
    assert Workers.parse("4", PRODUCTS).of("modelstudio") == 4
    parsed = Workers.parse("ram=12, modelstudio=2", PRODUCTS)
    assert (parsed.of("ram"), parsed.of("modelstudio"), parsed.of("vpc")) == (12, 2, DEFAULT_WORKERS)
    assert Workers.parse("3,ram=5", PRODUCTS).of("sts") == 3


@pytest.mark.parametrize("text, says", [("rma=4", "unknown service 'rma'"), ("ram=0", "0 is not a count"),
                                        ("many", "many is not a count"), ("ram=", "nothing is not")])
def test_a_bad_workers_setting_names_the_fix(text: str, says: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVISION_WORKERS", text)
    with pytest.raises(ProvisionError) as err:
        Workers.from_env(PRODUCTS)
    assert says in str(err.value) and "PROVISION_WORKERS=8" in str(err.value)


def test_no_more_calls_in_flight_than_the_limit() -> None:
    governor = Governor(3)
    inside, most, lock = [0], [0], threading.Lock()
    release = threading.Event()

    def work() -> None:
        with governor.slot():
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            release.wait(5)
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    release.set()
    for thread in threads:
        thread.join(10)
    assert most[0] <= 3 and inside[0] == 0


def test_a_throttle_halves_the_limit_and_successes_grow_it_back() -> None:
    governor = Governor(8)
    governor.throttle(0.0)
    governor.throttle(0.0)
    assert (governor.limit, governor.throttled) == (2, 2)
    for _ in range(2 * 32):  # limit × 32 successes in a row: one more slot
        governor.succeeded()
    assert governor.limit == 3
    for _ in range(1000):
        governor.succeeded()
    assert governor.limit == 8  # never above the configured count


def test_a_call_made_while_holding_a_slot_reuses_it() -> None:
    """A create's retry looks its resource up through the same service: with one slot it must not wait
    for itself."""
    governor = Governor(1)
    with governor.slot():
        with governor.slot():
            pass


def test_a_throttled_call_is_retried_and_counted_once_per_answer() -> None:
    governors = Governors(Workers(2))
    gate = governors.of("ram")
    answers = iter([_Failure("Throttling.User", 400, "slow down", retry_after_ms=1), "ok"])

    def fn() -> object:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert call("ram.user/a", "GetUser", fn, gate=gate) == "ok"
    assert governors.throttled() == {"ram": 1} and gate.limit == 1


def test_a_call_that_keeps_failing_still_raises_the_mapped_error() -> None:
    gate = Governor(2)

    def fn() -> object:
        raise _Failure("EntityNotExist.User", 404, "no such user")

    with pytest.raises(CallError) as err:
        call("ram.user/a", "GetUser", fn, gate=gate)
    assert err.value.code == "EntityNotExist.User" and gate.throttled == 0 and gate.limit == 2

"""Huawei verify against the emulator: the delivered AK/SK, V1 (SDK) and V2 (openai) completions, a refused
deployment, the agent-run stream, each again through the VPC endpoint; failures diagnosed in words."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from huaweicloudsdkmodelarts.v1 import UpdateWorkspaceReq, UpdateWorkspaceRequest

from provision.checks.huawei.smoke import agent_run, sse_events, v1_chat_token
from provision.checks.huawei.verify import DeliveredKey, HuaweiVerifyCheck, _activated, run_verify
from provision.checks.results import Credential, Reply
from provision.emulator.huawei.testing import HuaweiClients as EmuClients
from provision.emulator.seed import default_seed
from provision.emulator.testing import EmulatorHandle, running_emulator
from provision.providers.common.policies import PollPolicy
from provision.providers.huawei.clients import HuaweiClients, HuaweiCredentials, HuaweiTarget
from tests.emulator.huawei.conftest import password_token
from tests.huawei_checks.conftest import (
    AGENT,
    AGENT_WORKSPACE,
    DEPLOYMENT,
    FAST_RETRY,
    PASSWORD,
    Delivered,
    deliver,
)

OTHER_DEPLOYMENT = "5d1e7a3c-0000-4000-8000-0000000d0002"  # gated by a workspace alice is not granted
FAST = PollPolicy(interval_s=0.05, timeout_s=5.0)


@pytest.fixture
def emulator() -> Iterator[EmulatorHandle]:
    """The default world plus a second deployment in another workspace."""
    seed = default_seed(use_env=False)
    deployments = [
        {"deployment_id": DEPLOYMENT, "model": "Pangu-NLP-N1-32K-3.1.34", "workspace": AGENT_WORKSPACE},
        {"deployment_id": OTHER_DEPLOYMENT, "model": "Pangu-NLP-N2-32K-3.1.35", "workspace": "other"},
    ]
    first = seed.accounts[0].model_copy(update={"huawei": {"deployments": deployments}})
    seed = seed.model_copy(update={"accounts": [first, *seed.accounts[1:]]})
    with running_emulator(seed=seed) as handle:
        yield handle


def _check(d: Delivered, **changes: object) -> HuaweiVerifyCheck:
    fields: dict[str, object] = dict(
        entry="verify.checks[0] (manifests/huawei.yaml:40)",
        user="alice",
        access_key=Credential("access-key", d.access_key_id, d.secret),
        deployment_id=DEPLOYMENT,
        denied_deployment_id=OTHER_DEPLOYMENT,
        api_key=Credential("api-key", d.api_key_id, d.api_key, workspace=AGENT_WORKSPACE, key_name="main"),
        model="pangu-nlp-n1-32k",
        agent_id=AGENT,
        endpoints=(d.endpoint_domain,),
    )
    fields.update(changes)
    return HuaweiVerifyCheck(**fields)  # type: ignore[arg-type]


def _accepted(emulator: EmulatorHandle) -> None:
    emulator.advance_clock(5)  # the endpoint is accepted, the new API key valid


def test_a_delivery_verifies_directly_and_through_the_endpoint(
    emulator: EmulatorHandle, hw: EmuClients, clients: HuaweiClients
) -> None:
    d = deliver(hw)
    _accepted(emulator)
    key = DeliveredKey(
        "alice", "users[0] (manifests/huawei.yaml:12)", Credential("access-key", d.access_key_id, d.secret)
    )
    report = run_verify(clients, [_check(d)], [key], activation=FAST)
    assert report.passed, [r.diagnosis for r in report.results if not r.passed]
    by_id = {r.id: r for r in report.results}
    assert set(by_id) == {f"access-key/alice/{d.access_key_id}"} | {
        f"verify.checks[0].{kind}@{via}"
        for kind in ("v1", "denied-v1", "v2", "agent")
        for via in ("direct", d.endpoint_domain)
    }
    assert by_id[f"access-key/alice/{d.access_key_id}"].diagnosis.endswith(":user:alice")
    assert by_id["verify.checks[0].denied-v1@direct"].code == "PANGU.0011"
    assert by_id["verify.checks[0].v1@direct"].diagnosis == "answered: pong"
    assert "events" in by_id[f"verify.checks[0].agent@{d.endpoint_domain}"].diagnosis
    text = json.dumps(report.to_list())
    assert d.secret not in text and d.api_key not in text and "manifests/huawei.yaml:40" in text


def test_a_new_api_key_is_refused_until_its_delay_has_passed(monkeypatch: pytest.MonkeyPatch) -> None:
    with running_emulator(async_delay_s=60) as slow:
        hw = EmuClients.root(slow)
        monkeypatch.setenv("PROVISION_ENDPOINT", slow.url)
        clients = HuaweiClients(HuaweiTarget.from_env(), HuaweiCredentials(hw.ak, hw.sk), retry=FAST_RETRY)
        d = deliver(hw)
        check = _check(d, access_key=None, endpoints=())
        [early] = run_verify(clients, [check], activation=PollPolicy(interval_s=0.01, timeout_s=0.05)).results
        assert (early.passed, early.status, early.code) == (False, 401, "PANGU.0011")
        assert (
            "becomes valid a few minutes after creation" in early.diagnosis
            and "wait and re-run" in early.diagnosis
        )
        slow.advance_clock(61)
        assert run_verify(clients, [check], activation=FAST).passed


def test_activation_retries_only_the_invalid_key_answer() -> None:
    invalid, other, ok = Reply(401, "PANGU.0011"), Reply(403, "PANGU.0011"), Reply(200, text="pong")
    answers = iter([invalid, invalid, ok])
    assert _activated(lambda: next(answers), PollPolicy(interval_s=0, timeout_s=5)) == ok
    calls: list[Reply] = []
    assert _activated(lambda: calls.append(other) or other, PollPolicy(interval_s=0, timeout_s=5)) == other
    assert len(calls) == 1  # a refusal other than "not valid yet" is not waited for


def test_v1_with_an_iam_token(hw: EmuClients, clients: HuaweiClients) -> None:
    deliver(hw)
    token = password_token(clients.target.url("iam"), "alice", PASSWORD).headers["X-Subject-Token"]
    assert v1_chat_token(clients, token, DEPLOYMENT).text == "pong"
    refused = v1_chat_token(clients, "not-a-token", DEPLOYMENT)
    assert (refused.status, refused.code) == (401, "APIG.0301") and "not-a-token" not in refused.message


def test_failures_are_diagnosed_with_cause_and_what_to_do(
    emulator: EmulatorHandle, hw: EmuClients, clients: HuaweiClients
) -> None:
    d = deliver(hw)
    _accepted(emulator)
    hw.modelarts().update_workspace(
        UpdateWorkspaceRequest(workspace_id=d.workspace_id, body=UpdateWorkspaceReq(grants=[]))
    )
    report = run_verify(
        clients,
        [
            _check(
                d,
                endpoints=("nope.vpcep.cn-southwest-2.huaweicloud.com",),
                denied_deployment_id=DEPLOYMENT,
                api_key=None,
            )
        ],
        activation=FAST,
    )
    by_id = {r.id: r for r in report.results}
    assert not report.passed and report.exit_code == 1
    v1 = by_id["verify.checks[0].v1@direct"]
    assert not v1.passed and v1.code == "PANGU.0011"
    assert "does not grant the user" in v1.diagnosis and "members" in v1.diagnosis
    assert v1.diagnosis.endswith("[verify.checks[0] (manifests/huawei.yaml:40)]")
    assert by_id["verify.checks[0].denied-v1@direct"].passed  # ungranted now: refused, as a denial must be
    via = by_id["verify.checks[0].v1@nope.vpcep.cn-southwest-2.huaweicloud.com"]
    assert via.code == "EndpointNotFound" and "enable_dns" in via.diagnosis


def test_an_allowed_denial_fails_and_says_which_grant_is_extra(
    emulator: EmulatorHandle, hw: EmuClients, clients: HuaweiClients
) -> None:
    d = deliver(hw)
    check = _check(
        d, deployment_id=None, denied_deployment_id=DEPLOYMENT, api_key=None, agent_id=None, endpoints=()
    )
    [result] = run_verify(clients, [check]).results
    assert not result.passed and "holds a grant" in result.diagnosis


def test_the_agent_stream_is_read_until_done(hw: EmuClients, clients: HuaweiClients) -> None:
    d = deliver(hw)
    reply = agent_run(clients.for_key(d.access_key_id, d.secret), AGENT, "c1", "ping the room")
    assert (reply.ok, reply.text, reply.session_id) == (True, "pong the room", "c1") and reply.chunks >= 5
    assert sse_events(
        'data:{"event":"start"}\n\ndata: {"event":"done"}\n\nevent:{"usage":{}}\n\ndata:[DONE]'
    ) == [{"event": "start"}, {"event": "done"}]

"""Pangu V1 (the official SDK, AK/SK and tokens), V2 (the official openai client with a MaaS key) and the
agent-run SSE stream; the verbatim stream dialects; workspace grants gate the calls."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import openai
import pytest
from huaweicloudsdkmodelarts.v1 import CreateWorkspaceReq, CreateWorkspaceReqGrants, CreateWorkspaceRequest
from huaweicloudsdkpangulargemodels.v1 import ChatCompletionReq, ExecuteChatCompletionRequest, Message

from provision.emulator.huawei.policy import SYSTEM_BY_NAME
from provision.emulator.huawei.testing import HuaweiClients
from provision.emulator.testing import EmulatorHandle, running_emulator
from tests.emulator.huawei.conftest import PASSWORD, new_user, password_token, sdk_error, with_login

DEPLOYMENT = "5d1e7a3c-0000-4000-8000-0000000d0001"
AGENT = "6a2f8b4d-0000-4000-8000-0000000a0001"


def _chat(client: HuaweiClients, content: str = "ping", **extra: object) -> object:
    body = ChatCompletionReq(messages=[Message(role="user", content=content)], **extra)
    return client.pangu().execute_chat_completion(
        ExecuteChatCompletionRequest(deployment_id=DEPLOYMENT, body=body)
    )


def _workspace(hw: HuaweiClients, grants: list[str]) -> None:
    body = CreateWorkspaceReq(
        name="agent-delivery",
        auth_type="INTERNAL",
        grants=[CreateWorkspaceReqGrants(user_name=g) for g in grants],
    )
    hw.modelarts().create_workspace(CreateWorkspaceRequest(body=body))


def _pangu_user(hw: HuaweiClients) -> tuple[str, HuaweiClients]:
    user_id, alice = new_user(hw)
    hw.signed(
        "POST",
        f"/v5/policies/{SYSTEM_BY_NAME['PanguInvokePolicy'].policy_id}/attach-user",
        {"user_id": user_id},
    )
    return user_id, alice


def test_v1_chat_through_the_sdk_with_the_root_key(hw: HuaweiClients) -> None:
    answer = _chat(hw)
    assert answer.choices[0].message.content == "pong"
    assert answer.usage.total_tokens == answer.usage.prompt_tokens + answer.usage.completion_tokens
    body = answer.to_json_object()
    assert body["object"] == "chat.completion" and body["choices"][0]["finish_reason"] == "stop"
    missing = sdk_error(
        lambda: hw.pangu().execute_chat_completion(
            ExecuteChatCompletionRequest(
                deployment_id="nope", body=ChatCompletionReq(messages=[Message(role="user", content="x")])
            )
        )
    )
    assert (missing.status_code, missing.error_code) == (404, "PANGU.3254")
    assert sdk_error(lambda: _chat(hw, n=3)).error_code == "PANGU.3320"


def test_v1_needs_the_action_and_a_grant_on_the_deployments_workspace(hw: HuaweiClients) -> None:
    user_id, alice = new_user(hw)
    assert sdk_error(lambda: _chat(alice)).error_code == "PAP5.0001"
    hw.signed(
        "POST",
        f"/v5/policies/{SYSTEM_BY_NAME['PanguInvokePolicy'].policy_id}/attach-user",
        {"user_id": user_id},
    )
    no_workspace = sdk_error(lambda: _chat(alice))
    assert (no_workspace.status_code, no_workspace.error_code) == (403, "PANGU.0011")
    assert "agent-delivery" in no_workspace.error_msg
    _workspace(hw, ["alice"])
    assert _chat(alice).choices[0].message.content == "pong"


def test_v1_stream_is_the_manuals_dialect_verbatim(hw: HuaweiClients) -> None:
    answer = hw.signed(
        "POST",
        f"/v1/{hw.project_id}/deployments/{DEPLOYMENT}/chat/completions",
        {"messages": [{"role": "user", "content": "say ping now"}], "stream": "true"},
    )
    assert answer.headers["content-type"].startswith("text/event-stream")
    units = answer.text.split("\n\n")
    assert units[-1] == "" and units[-2] == "data:[DONE]"
    assert units[-3].startswith('event:{"usage":{"completionTokens":')
    chunks = [json.loads(u.removeprefix("data:")) for u in units[:-3]]
    assert all(u.startswith("data:{") for u in units[:-3])
    assert chunks[0]["choices"][0]["message"] == {"role": "assistant"}
    text = "".join(c["choices"][0]["message"].get("content", "") for c in chunks if c["choices"])
    assert text == "say pong now"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop" and chunks[-1]["choices"] == []
    assert (
        chunks[-1]["usage"]["total_tokens"]
        == json.loads(units[-3].removeprefix("event:"))["usage"]["totalTokens"]
    )


def test_an_iam_token_calls_v1_and_the_agent_run_stream(hw: HuaweiClients) -> None:
    user_id, _ = _pangu_user(hw)
    with_login(hw, user_id)
    _workspace(hw, ["alice"])
    token = password_token(hw.url, "alice", PASSWORD).headers["X-Subject-Token"]
    headers = {"X-Auth-Token": token}
    v1 = httpx.post(
        f"{hw.url}/v1/{hw.project_id}/deployments/{DEPLOYMENT}/chat/completions",
        headers=headers,
        json={"messages": [{"role": "user", "content": "ping"}]},
        trust_env=False,
    )
    assert v1.json()["choices"][0]["message"]["content"] == "pong"
    path = f"{hw.url}/v1/{hw.project_id}/agent-run/agents/{AGENT}/conversations/c1"
    refused = httpx.post(path, headers=headers, json={"query": "ping"}, trust_env=False)
    assert (refused.status_code, refused.json()["error_code"]) == (400, "PANGU.0010")
    answer = httpx.post(
        path, headers={**headers, "stream": "true"}, json={"query": "ping the room"}, trust_env=False
    )
    units = [json.loads(u.removeprefix("data:")) for u in answer.text.split("\n\n") if u]
    events = [u["event"] for u in units]
    assert events[0] == "start" and events[-3:] == ["statistic_data", "summary_response", "done"]
    assert {"message"} == set(events[1:-3])
    summary = units[-2]
    assert summary == {
        "event": "summary_response",
        "content": "pong the room",
        "role": "assistant",
        "createdTime": summary["createdTime"],
    }
    assert all(isinstance(u["createdTime"], int) for u in units)


def _maas_key(hw: HuaweiClients, **body: object) -> str:
    created = hw.signed("POST", f"/v2/{hw.project_id}/maas/api-auth/api-keys", {"allow_all": True, **body})
    return str(created.json()["api_key"])


def _openai(hw: HuaweiClients, key: str) -> openai.OpenAI:
    return openai.OpenAI(
        api_key=key, base_url=hw.url + "/api/v2", max_retries=0, http_client=httpx.Client(trust_env=False)
    )


def test_v2_through_the_openai_client_after_the_keys_delay(
    emulator: EmulatorHandle, hw: HuaweiClients
) -> None:
    emulator.world.settings["async_delay_s"] = 120
    key = _maas_key(hw, label="v2")
    client = _openai(hw, key)
    with pytest.raises(openai.AuthenticationError) as early:
        client.chat.completions.create(
            model="pangu-nlp-n1-32k", messages=[{"role": "user", "content": "ping"}]
        )
    assert early.value.body["error_code"] == "PANGU.0011" and "not valid yet" in early.value.body["error_msg"]
    emulator.advance_clock(121)
    answer = client.chat.completions.create(
        model="pangu-nlp-n1-32k", messages=[{"role": "user", "content": "ping"}]
    )
    assert answer.choices[0].message.content == "pong"
    stream = client.chat.completions.create(
        model="pangu-nlp-n1-32k", stream=True, messages=[{"role": "user", "content": "ping twice ping"}]
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "pong twice pong"
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="gpt-4", messages=[{"role": "user", "content": "ping"}])
    key_id = hw.signed("GET", f"/v2/{hw.project_id}/maas/api-auth/api-keys").json()["api_key_list"]["items"][
        0
    ]["id"]
    hw.signed("DELETE", f"/v1/{hw.project_id}/maas/api-auth/api-keys/{key_id}")
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(
            model="pangu-nlp-n1-32k", messages=[{"role": "user", "content": "ping"}]
        )


def test_v2_stream_has_delta_chunks_and_no_event_line(emulator: EmulatorHandle, hw: HuaweiClients) -> None:
    emulator.world.settings["async_delay_s"] = 0
    key = _maas_key(hw)
    answer = httpx.post(
        hw.url + "/api/v2/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": "pangu-nlp-n1-32k", "stream": True, "messages": [{"role": "user", "content": "ping"}]},
        trust_env=False,
    )
    units = answer.text.split("\n\n")
    assert units[-2] == "data:[DONE]" and not any(u.startswith("event:") for u in units)
    first = json.loads(units[0].removeprefix("data:"))
    assert (
        first["choices"][0]["delta"] == {"role": "assistant"} and first["object"] == "chat.completion.chunk"
    )


def test_v2_ip_whitelist(emulator: EmulatorHandle, hw: HuaweiClients) -> None:
    emulator.world.settings["async_delay_s"] = 0
    outside = _openai(hw, _maas_key(hw, label="outside", allow_all=False, ip_whitelist=["10.0.0.0/8"]))
    with pytest.raises(openai.PermissionDeniedError):
        outside.chat.completions.create(
            model="pangu-nlp-n1-32k", messages=[{"role": "user", "content": "ping"}]
        )
    inside = _openai(hw, _maas_key(hw, label="inside", allow_all=False, ip_whitelist=["127.0.0.1"]))
    inside.chat.completions.create(model="pangu-nlp-n1-32k", messages=[{"role": "user", "content": "ping"}])


def test_the_huawei_state_survives_a_restart(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    with running_emulator(state_file=state_file) as emu:
        hw = HuaweiClients.root(emu)
        _, alice = new_user(hw)
        _workspace(hw, ["alice"])
    with running_emulator(state_file=state_file) as emu:
        again = HuaweiClients.root(emu)
        assert again.signed("GET", "/v5/users").json()["users"][0]["user_name"] == "alice"
        restored = alice.as_key(alice.ak, alice.sk)
        restored.url = emu.url
        assert restored.signed("GET", "/v5/caller-identity").status_code == 200
        assert "Delivery" not in state_file.read_text()

"""The DashScope data plane in the emulator: openai and dashscope SDKs with workspace API keys."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from alibabacloud_modelstudio20260210 import models as ms
from dashscope import Application, Generation, MultiModalConversation
from dashscope.api_entities.dashscope_response import GenerationResponse

from provision.emulator.alibaba import modelstudio
from tests.emulator.conftest import APP_ID, FIN_APP_ID, Setup, new_key, new_workspace

PING = [{"role": "user", "content": "ping"}]
def oai(setup: Setup, key: str | None = None, host: str | None = None) -> openai.OpenAI:
    headers = {"Host": host} if host else None
    return openai.OpenAI(api_key=key or setup.key, base_url=setup.emulator.url + "/compatible-mode/v1",
                         max_retries=0, default_headers=headers)


def ask(setup: Setup, model: str = "qwen-plus", key: str | None = None, host: str | None = None) -> str:
    reply = oai(setup, key, host).chat.completions.create(model=model, messages=PING)  # type: ignore[arg-type]
    return str(reply.choices[0].message.content)


# -- successful calls ---------------------------------------------------------------------------------
def test_granted_model_answers_through_the_openai_sdk(setup: Setup) -> None:
    reply = oai(setup).chat.completions.create(model="qwen-plus", messages=PING)  # type: ignore[arg-type]
    assert (reply.model, reply.choices[0].message.content, reply.choices[0].finish_reason) == \
        ("qwen-plus", "pong", "stop")
    assert reply.usage is not None
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens, reply.usage.total_tokens) == (9, 1, 10)


def test_reply_is_derived_from_the_prompt(setup: Setup) -> None:
    reply = oai(setup).chat.completions.create(
        model="qwen-plus", messages=[{"role": "user", "content": "hello there"}])
    assert reply.choices[0].message.content == "Echo: hello there"


def test_openai_stream_sends_chunks_then_usage_then_done(setup: Setup) -> None:
    stream: Iterator[Any] = oai(setup).chat.completions.create(
        model="qwen-plus", messages=[{"role": "user", "content": "say ping twice"}], stream=True,
        stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "say pong twice"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0


def test_stream_payload_ends_with_done(setup: Setup) -> None:
    response = httpx.post(setup.emulator.url + "/compatible-mode/v1/chat/completions",
                          headers={"Authorization": f"Bearer {setup.key}"},
                          json={"model": "qwen-plus", "messages": PING, "stream": True})
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.text.rstrip().endswith("data: [DONE]")


def test_native_generation_returns_message_or_text(setup: Setup) -> None:
    as_message = Generation.call(model="qwen-plus", messages=PING, result_format="message", api_key=setup.key)
    assert as_message.status_code == 200
    assert as_message.output.choices[0].message.content == "pong"
    assert (as_message.usage.input_tokens, as_message.usage.output_tokens) == (9, 1)
    as_text = Generation.call(model="qwen-plus", prompt="ping", result_format="text", api_key=setup.key)
    assert (as_text.status_code, as_text.output.text, as_text.output.finish_reason) == (200, "pong", "stop")


def test_native_generation_streams_incremental_output(setup: Setup) -> None:
    parts = list(Generation.call(model="qwen-plus", messages=[{"role": "user", "content": "one ping two"}],
                                 result_format="message", stream=True, incremental_output=True,
                                 api_key=setup.key))
    assert all(p.status_code == 200 for p in parts) and len(parts) == 3
    assert "".join(p.output.choices[0].message.content for p in parts) == "one pong two"
    assert parts[-1].output.choices[0].finish_reason == "stop"


def test_app_completion_in_the_keys_workspace(setup: Setup) -> None:
    response = Application.call(app_id=APP_ID, prompt="ping", api_key=setup.key)
    assert (response.status_code, response.output.text) == (200, "pong")
    assert response.output.session_id and response.usage.models[0].model_id == "qwen-plus"


# -- refusals -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("model", "openai_error", "openai_code", "native"), [
    ("qwen-max", openai.PermissionDeniedError, "Model.AccessDenied",
     (403, "Model.AccessDenied", "Model access denied.")),
    # bailian-sub-workspace-model-calls, error table: a wrong model name is 400 InvalidParameter "Model not
    # exist." on the native API, 404 model_not_found on the OpenAI-compatible one
    ("qwen-nope", openai.NotFoundError, "model_not_found",
     (400, "InvalidParameter", "Model not exist.")),
], ids=["not-granted-to-the-workspace-is-403", "unknown-is-404-openai-400-native"])
def test_a_refused_model_answers_both_sdks_with_their_own_codes(
        setup: Setup, model: str, openai_error: type[openai.APIStatusError], openai_code: str,
        native: tuple[int, str, str]) -> None:
    with pytest.raises(openai_error) as info:
        ask(setup, model=model)
    assert info.value.code == openai_code
    answer = Generation.call(model=model, prompt="ping", api_key=setup.key)
    assert isinstance(answer, GenerationResponse)
    assert (answer.status_code, answer.code, answer.message) == native


def test_missing_or_unknown_key_is_401(setup: Setup) -> None:
    with pytest.raises(openai.AuthenticationError) as info:
        ask(setup, key="sk-" + "0" * 32)
    assert info.value.code == "invalid_api_key"
    response = httpx.post(setup.emulator.url + "/api/v1/services/aigc/text-generation/generation",
                          json={"model": "qwen-plus", "input": {"prompt": "ping"}})
    assert (response.status_code, response.json()["code"]) == (401, "InvalidApiKey")


def test_disable_enable_reset_and_delete_take_effect_at_once(setup: Setup) -> None:
    client, key_id = setup.client, setup.key_id
    client.disable_api_key(key_id, ms.DisableApiKeyRequest())
    assert client.get_api_key(key_id).body.api_key.disabled == 1
    with pytest.raises(openai.AuthenticationError):
        ask(setup)
    client.enable_api_key(key_id, ms.EnableApiKeyRequest())
    assert ask(setup) == "pong"
    new_value = client.reset_api_key(key_id, ms.ResetApiKeyRequest()).body.api_key.api_key_value
    assert new_value != setup.key
    with pytest.raises(openai.AuthenticationError):
        ask(setup)
    assert ask(setup, key=new_value) == "pong"
    client.delete_api_key(key_id)
    with pytest.raises(openai.AuthenticationError):
        ask(setup, key=new_value)


def test_a_key_only_works_on_its_own_site(setup: Setup) -> None:
    assert ask(setup, host="dashscope.aliyuncs.com") == "pong"
    with pytest.raises(openai.AuthenticationError):
        ask(setup, host="dashscope-finance.aliyuncs.com")
    world, account = setup.emulator.world, setup.emulator.account_id
    modelstudio.seed(world, account, {"workspaces": [
        {"name": "agent-delivery-fin", "region": "cn-shanghai-finance-1", "models": ["qwen-plus"]}]})
    [fin] = setup.client.list_workspaces(ms.ListWorkspacesRequest(workspace_name="-fin")).body.workspaces
    fin_key = new_key(setup.client, fin.workspace_id).api_key_value
    assert ask(setup, key=fin_key, host="dashscope-finance.aliyuncs.com") == "pong"
    with pytest.raises(openai.AuthenticationError):
        ask(setup, key=fin_key, host="dashscope.aliyuncs.com")


def test_a_workspace_host_accepts_only_its_own_keys(setup: Setup) -> None:
    own = f"{setup.workspace}.cn-beijing.maas.aliyuncs.com"
    assert ask(setup, host=own) == "pong"
    other = new_workspace(setup.client, "other", "qwen-plus")
    with pytest.raises(openai.AuthenticationError):
        ask(setup, key=new_key(setup.client, other).api_key_value, host=own)


def test_ip_whitelist_restricts_the_caller(setup: Setup) -> None:
    remote_only = new_key(setup.client, setup.workspace, ips=["10.0.0.0/8"]).api_key_value
    with pytest.raises(openai.PermissionDeniedError) as info:
        ask(setup, key=remote_only)
    assert info.value.code == "AccessDenied"
    local = new_key(setup.client, setup.workspace, ips=["127.0.0.0/8"]).api_key_value
    assert ask(setup, key=local) == "pong"


def test_key_model_scope_narrows_the_workspace_grants(setup: Setup) -> None:
    setup.client.update_model_permissions(ms.UpdateModelPermissionsRequest(
        workspace_id=setup.workspace, access_all_entities="OPEN"))
    scoped = new_key(setup.client, setup.workspace, models=["qwen-plus"]).api_key_value
    assert ask(setup, key=scoped) == "pong"
    with pytest.raises(openai.PermissionDeniedError):
        ask(setup, model="qwen-max", key=scoped)
    assert ask(setup, model="qwen-max") == "pong"  # the unrestricted key of the same workspace


def test_app_of_another_workspace_is_403_and_unknown_app_404(setup: Setup) -> None:
    new_workspace(setup.client, "agent-delivery-fin")
    other = Application.call(app_id=FIN_APP_ID, prompt="ping", api_key=setup.key)
    assert (other.status_code, other.code) == (403, "Workspace.AccessDenied")
    unknown = Application.call(app_id="0" * 32, prompt="ping", api_key=setup.key)
    assert unknown.status_code == 404


def test_bad_request_bodies_are_400(setup: Setup) -> None:
    response = httpx.post(setup.emulator.url + "/api/v1/services/aigc/text-generation/generation",
                          headers={"Authorization": f"Bearer {setup.key}"},
                          json={"model": "qwen-plus", "messages": PING})
    assert (response.status_code, response.json()["code"]) == (400, "InvalidParameter")
    with pytest.raises(openai.BadRequestError):
        oai(setup).chat.completions.create(model="qwen-plus", messages=[])


# -- multimodal (bailian-sub-workspace-model-calls: VL and Audio models take multimodal-generation) ----------
def test_a_vl_model_answers_on_the_multimodal_endpoint_and_each_endpoint_refuses_the_other_kind(
        setup: Setup) -> None:
    setup.client.update_model_permissions(ms.UpdateModelPermissionsRequest(
        workspace_id=setup.workspace, access_all_entities="KEEP",
        models=[ms.UpdateModelPermissionsRequestModels(model="qwen-vl-plus", inference=True)]))
    content = [{"role": "user", "content": [{"image": "https://example.com/a.png"}, {"text": "ping"}]}]
    answer = MultiModalConversation.call(model="qwen-vl-plus", messages=content, api_key=setup.key)
    assert answer.status_code == 200 and answer.output.choices[0].message.content == [{"text": "pong"}]
    assert answer.usage.input_tokens == 9

    text_model = MultiModalConversation.call(model="qwen-plus", messages=content, api_key=setup.key)
    vl_on_text = Generation.call(model="qwen-vl-plus", prompt="ping", api_key=setup.key)
    for refused in (text_model, vl_on_text):
        assert (refused.status_code, refused.code, refused.message) == \
            (400, "InvalidParameter", "url error, please check url!")
    assert ask(setup, model="qwen-vl-plus") == "pong"  # OpenAI-compatible mode serves both kinds

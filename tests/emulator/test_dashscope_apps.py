"""Agent apps in the emulator, as dashscope-application-call.txt describes them, through the official
``dashscope`` SDK (and raw HTTP for the wire format): sessions, messages, streaming, parameters, errors,
and the sfm:CreateSession rule of bailian-sub-workspace-model-calls.txt."""

from __future__ import annotations

import json
import socket
from typing import Any

import httpx
import pytest
from alibabacloud_bailian20231229 import models as bl
from alibabacloud_bailian20231229.client import Client as BailianClient
from alibabacloud_modelstudio20260210.client import Client as ModelStudioClient
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_ram20150501.client import Client as RamClient
from dashscope import Application, Generation

from provision.emulator.alibaba.modelstudio_state import ms_state
from tests.emulator.conftest import APP_ID, Setup, new_key, ram_user

KB, DOC, MEMORY = "kb0delivery01", "file_delivery_manual_01", "4c1e9a7b2d3f4e5a8b6c7d0e1f2a3b4c"


def call(setup: Setup, **kwargs: Any) -> Any:
    return Application.call(app_id=APP_ID, api_key=setup.key, **kwargs)


# -- multi-turn -----------------------------------------------------------------------------------------
def test_a_session_keeps_its_history_and_messages_take_precedence(setup: Setup) -> None:
    first = call(setup, prompt="ping")
    assert (first.status_code, first.output.text) == (200, "pong") and len(first.output.session_id) == 32

    second = call(setup, prompt="recall what I said", session_id=first.output.session_id)
    assert second.output.text == "You said before: ping"
    assert second.output.session_id == first.output.session_id
    assert second.usage.models[0].input_tokens > first.usage.models[0].input_tokens  # the history is sent

    # messages and session_id together: the messages win, the session is ignored (a new one starts)
    instead = call(setup, prompt="recall", session_id=first.output.session_id,
                   messages=[{"role": "user", "content": "pang"}, {"role": "assistant", "content": "ok"}])
    assert instead.output.text == "You said before: pang"
    assert instead.output.session_id != first.output.session_id
    # the first session did not take the messages in
    again = call(setup, prompt="recall", session_id=first.output.session_id)
    assert again.output.text == "You said before: recall what I said"


def test_an_unknown_session_starts_a_new_one(setup: Setup) -> None:
    fresh = call(setup, prompt="recall", session_id="0" * 32)
    assert fresh.output.text == "You said nothing before." and fresh.output.session_id != "0" * 32


def test_sessions_are_kept_in_the_world_state(setup: Setup) -> None:
    first = call(setup, prompt="ping")
    dumped = json.dumps(setup.emulator.world.dump())
    assert first.output.session_id in dumped and "dashscope-apps" in dumped


# -- streaming ------------------------------------------------------------------------------------------
def test_incremental_stream_chunks_concatenate_to_the_answer(setup: Setup) -> None:
    whole = call(setup, prompt="one ping two three").output.text
    chunks = list(call(setup, prompt="one ping two three", stream=True, incremental_output=True))
    assert len(chunks) == 4 and all(c.status_code == 200 for c in chunks)
    assert "".join(c.output.text for c in chunks) == whole == "one pong two three"
    assert [c.output.finish_reason for c in chunks] == ["null", "null", "null", "stop"]
    assert len({c.output.session_id for c in chunks}) == 1


def _raw_sse(setup: Setup, path: str, body: dict[str, Any]) -> list[bytes]:
    """The chunks of a streamed answer, as the server wrote them (chunked transfer encoding)."""
    payload = json.dumps(body).encode()
    host, port = setup.emulator.host_port.rsplit(":", 1)
    request = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {setup.key}\r\n"
               f"Content-Type: application/json\r\nX-DashScope-SSE: enable\r\nConnection: close\r\n"
               f"Content-Length: {len(payload)}\r\n\r\n").encode() + payload
    with socket.create_connection((host, int(port))) as conn:
        conn.sendall(request)
        raw = b""
        while data := conn.recv(65536):
            raw += data
    head, _, rest = raw.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower() and b"content-length" not in head.lower()
    chunks = []
    while True:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            return chunks
        chunks.append(rest[:size])
        rest = rest[size + 2:]


@pytest.mark.parametrize("path,body", [
    (f"/api/v1/apps/{APP_ID}/completion", {"input": {"prompt": "a ping b"},
                                          "parameters": {"incremental_output": True}}),
    ("/api/v1/services/aigc/text-generation/generation",
     {"model": "qwen-plus", "input": {"prompt": "a ping b"}, "parameters": {"incremental_output": True}}),
], ids=["app", "generation"])
def test_native_streams_are_dashscope_events_written_one_by_one(setup: Setup, path: str,
                                                               body: dict[str, Any]) -> None:
    chunks = _raw_sse(setup, path, body)
    assert len(chunks) == 3  # one write per event, not one body
    for number, chunk in enumerate(chunks, start=1):
        lines = chunk.decode().split("\n")
        assert lines[:3] == [f"id:{number}", "event:result", ":HTTP_STATUS/200"]
        assert lines[3].startswith("data:") and lines[4:] == ["", ""]
    texts = [json.loads(c.decode().split("\n")[3].removeprefix("data:"))["output"] for c in chunks]
    assert "".join(o.get("text", "") for o in texts) == "a pong b"


def test_openai_streams_keep_the_data_only_format(setup: Setup) -> None:
    response = httpx.post(setup.emulator.url + "/compatible-mode/v1/chat/completions",
                          headers={"Authorization": f"Bearer {setup.key}"},
                          json={"model": "qwen-plus", "messages": [{"role": "user", "content": "ping"}],
                                "stream": True})
    assert response.text.startswith("data: {") and "event:" not in response.text


# -- parameters -----------------------------------------------------------------------------------------
def test_declared_parameters_are_accepted_and_the_knowledge_is_referenced(setup: Setup) -> None:
    answer = call(setup, prompt="ping", biz_params={"user_prompt_params": {"city": "北京"}},
                  rag_options={"pipeline_ids": [KB], "file_ids": [DOC]}, memory_id=MEMORY)
    assert answer.status_code == 200, answer.message
    assert [(r.index_id, r.doc_id) for r in answer.output.doc_references] == [(KB, DOC)]


@pytest.mark.parametrize("kwargs,named", [
    ({"biz_params": {"user_prompt_params": {"country": "CN"}}}, "biz_params.user_prompt_params.country"),
    ({"biz_params": {"user_prompt_params": ["city"]}}, "biz_params.user_prompt_params must be an object"),
    ({"biz_params": {"user_defined_params": {"tool-x": {"a": 1}}}}, "biz_params.user_defined_params.tool-x"),
    ({"rag_options": {"pipeline_ids": ["kb-nope"]}}, "knowledge base kb-nope does not exist"),
    ({"rag_options": {"file_ids": [DOC]}}, "rag_options.file_ids needs the pipeline_ids"),
    ({"rag_options": {"pipeline_ids": [KB], "file_ids": ["file-other"]}}, "document file-other"),
    ({"rag_options": {"session_file_ids": ["file_123"]}}, "not a session file id"),
    ({"memory_id": "0" * 32}, f"memory {'0' * 32} does not exist"),
], ids=["unknown-variable", "variables-not-an-object", "unknown-tool", "unknown-kb", "files-without-kb",
        "file-of-another-kb", "bad-session-file", "unknown-memory"])
def test_a_malformed_parameter_is_400_naming_it_with_a_request_id(setup: Setup, kwargs: dict[str, Any],
                                                                   named: str) -> None:
    answer = call(setup, prompt="ping", **kwargs)
    assert (answer.status_code, answer.code) == (400, "InvalidParameter")
    assert named in answer.message and answer.request_id


# -- refusals -------------------------------------------------------------------------------------------
def test_an_unpublished_app_is_refused_and_not_listed(setup: Setup) -> None:
    bailian = BailianClient(setup.emulator.sdk_config())

    def listed() -> list[str]:
        body = bailian.list_published_agent(setup.workspace, bl.ListPublishedAgentRequest()).body
        return [a.code for a in body.data.list]

    assert listed() == [APP_ID]
    world = setup.emulator.world
    with world.lock:
        for app in ms_state(world, setup.emulator.account_id).apps:
            app.published = app.app_id != APP_ID
    answer = call(setup, prompt="ping")
    assert (answer.status_code, answer.code) == (400, "App.NotPublished") and answer.request_id
    assert listed() == []


def test_a_ram_users_key_needs_sfm_create_session_which_the_read_only_data_policy_lacks(
        setup: Setup) -> None:
    """bailian-sub-workspace-model-calls: NoPermission on sfm:CreateSession is fixed by
    AliyunBailianDataFullAccess; AliyunBailianDataReadOnlyAccess is not enough."""
    builder = ram_user(setup.emulator, "builder", "AliyunBailianControlFullAccess",
                       "AliyunBailianDataReadOnlyAccess")
    ram = RamClient(setup.emulator.sdk_config())
    allow = {"Effect": "Allow", "Action": "modelstudio:*", "Resource": "*"}
    ram.create_policy(ram_models.CreatePolicyRequest(
        policy_name="ModelStudioKeys", policy_document=json.dumps({"Version": "1", "Statement": [allow]})))
    ram.attach_policy_to_user(ram_models.AttachPolicyToUserRequest(
        policy_type="Custom", policy_name="ModelStudioKeys", user_name="builder"))
    setup.emulator.add_member(setup.workspace, "builder", "admin")
    as_user = ModelStudioClient(setup.emulator.sdk_config(builder.key_id, builder.secret))
    own_key = new_key(as_user, setup.workspace).api_key_value

    refused = Generation.call(model="qwen-plus", prompt="ping", api_key=own_key)
    app_refused = Application.call(app_id=APP_ID, prompt="ping", api_key=own_key)
    for answer in (refused, app_refused):
        assert (answer.status_code, answer.code) == (403, "NoPermission")
        assert "Action: sfm:CreateSession" in answer.message
    ram.attach_policy_to_user(ram_models.AttachPolicyToUserRequest(
        policy_type="System", policy_name="AliyunBailianDataFullAccess", user_name="builder"))
    assert Generation.call(model="qwen-plus", prompt="ping", api_key=own_key).status_code == 200
    assert call(setup, prompt="ping").status_code == 200  # the root's key never needed it

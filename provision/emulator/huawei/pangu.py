"""The Pangu data plane (reference §4): V1 chat completions (AK/SK or ``X-Auth-Token``), the V2
OpenAI-compatible chat completions (``Authorization: Bearer`` MaaS API key) and the agent-run SSE API.

Replies are canned like DashScope's ("ping" → "pong", anything else echoed). Streams are written
verbatim as the manual gives them: ``data:`` without a space, one unit per SSE event (``\\n\\n``); V1
chunks carry ``message``, V2 chunks ``delta``; V1 adds the ``event:`` usage line before ``data:[DONE]``.

A deployment or agent names the workspace whose grants gate it: an IAM user must be able to use that
workspace (``modelarts.can_access``) or gets 403 ``PANGU.0011``; a workspace that does not exist (yet,
or any more) refuses everyone but root.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from provision.emulator.alibaba.dashscope import Completion, complete
from provision.emulator.huawei.maas import auth_failed
from provision.emulator.huawei.modelarts import can_access, live_workspaces
from provision.emulator.huawei.routing import HwCtx, HwRoute, Reply
from provision.emulator.wire import Body, CloudError


def bad(code: str, message: str) -> CloudError:
    return CloudError(code, message, 400)


def _dumps(value: Body) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _pieces(text: str) -> list[str]:
    return re.findall(r"\S+\s*", text) or [text]


def _check_workspace(ctx: HwCtx, workspace: str, what: str) -> None:
    if not workspace or ctx.caller.is_root:
        return
    ws = next((w for w in live_workspaces(ctx.world, ctx.state) if w.name == workspace), None)
    if ws is None or ws.deleted_ts is not None or not can_access(ctx.state, ws, ctx.caller):
        raise auth_failed(
            f"{ctx.caller.user_name or 'the caller'} is not granted on the workspace {workspace} of {what}",
            403,
        )


def _stream_flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _completion(body: dict[str, Any]) -> tuple[Completion, bool]:
    """Validate a chat body (PANGU codes of reference §2.3) and answer it."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise bad("PANGU.3278", "The parameter messages is missing.")
    contents = []
    for message in messages:
        if (
            not isinstance(message, dict)
            or message.get("role") not in ("system", "user", "assistant")
            or not isinstance(message.get("content"), str)
        ):
            raise bad(
                "PANGU.0010", "Each message needs a role (system, user or assistant) and a content string."
            )
        contents.append(message["content"])
    max_tokens, n, stream = body.get("max_tokens"), body.get("n", 1), _stream_flag(body.get("stream"))
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        raise bad("PANGU.3317", "max_tokens must be an integer of at least 1.")
    if n not in (1, 2):
        raise bad("PANGU.3320", "n must be 1 or 2.")
    if stream and n != 1:
        raise bad("PANGU.3321", "n must be 1 when stream is true.")
    temperature = body.get("temperature")
    if temperature is not None and (not isinstance(temperature, int | float) or not 0 <= temperature <= 1):
        raise bad("PANGU.0010", "temperature must be from 0 to 1.")
    return complete(contents, max_tokens), stream


def _usage(prompt: int, completion: int) -> Body:
    return {"prompt_tokens": prompt, "total_tokens": prompt + completion, "completion_tokens": completion}


def _chat_reply(ctx: HwCtx, model: str, body: dict[str, Any], part: str) -> Reply:
    result, stream = _completion(body)
    chat_id, created = f"chat-{uuid.uuid4().hex}", int(ctx.now_ts())
    head = {
        "id": chat_id,
        "object": "chat.completion.chunk" if stream else "chat.completion",
        "created": created,
        "model": model,
    }
    if not stream:
        return Reply(
            200,
            {
                **head,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": result.text, "tool_calls": []},
                        "logprobs": None,
                        "finish_reason": result.finish_reason,
                        "stop_reason": None,
                    }
                ],
                "usage": _usage(result.prompt_tokens, result.completion_tokens),
                "prompt_logprobs": None,
            },
        )
    pieces, lines, sent = _pieces(result.text), [], 0

    def chunk(delta: Body, finish: str | None, done: int) -> str:
        choice: Body = {"index": 0, "logprobs": None, "finish_reason": finish}
        if finish is not None:
            choice["stop_reason"] = None
        choice[part] = delta
        return "data:" + _dumps({**head, "choices": [choice], "usage": _usage(result.prompt_tokens, done)})

    lines.append(chunk({"role": "assistant"}, None, 0))
    for index, piece in enumerate(pieces):
        sent += 1
        last = index == len(pieces) - 1
        lines.append(
            chunk(
                {"content": piece},
                result.finish_reason if last else None,
                result.completion_tokens if last else min(sent, result.completion_tokens),
            )
        )
    lines.append(
        "data:"
        + _dumps({**head, "choices": [], "usage": _usage(result.prompt_tokens, result.completion_tokens)})
    )
    if part == "message":  # V1 only: the usage event line
        lines.append(
            "event:"
            + _dumps(
                {
                    "usage": {
                        "completionTokens": result.completion_tokens,
                        "promptTokens": result.prompt_tokens,
                        "totalTokens": result.total_tokens,
                    },
                    "tokens": result.prompt_tokens,
                    "token_number": result.completion_tokens,
                }
            )
        )
    lines.append("data:[DONE]")
    return Reply(200, stream="".join(f"{line}\n\n" for line in lines))


def v1_chat(ctx: HwCtx) -> Reply:
    deployment = next(
        (d for d in ctx.state.deployments if d.deployment_id == ctx.params["deployment_id"]), None
    )
    if deployment is None:
        raise CloudError(
            "PANGU.3254",
            f"The resource does not exist: check the project id and the deployment id "
            f"{ctx.params['deployment_id']}.",
            404,
        )
    _check_workspace(ctx, deployment.workspace, f"deployment {deployment.deployment_id}")
    return _chat_reply(ctx, deployment.model.lower(), ctx.body(), "message")


def v2_chat(ctx: HwCtx) -> Reply:
    body = ctx.body()
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise bad("PANGU.3278", "The parameter model is missing.")
    if model not in ctx.state.models:
        raise bad(
            "PANGU.3306",
            f"The model {model} does not match a model available to this account "
            f"({', '.join(ctx.state.models)}).",
        )
    return _chat_reply(ctx, model, body, "delta")


def agent_run(ctx: HwCtx) -> Reply:
    agent = next((a for a in ctx.state.agents if a.agent_id == ctx.params["agent_id"]), None)
    if agent is None:
        raise CloudError("PANGU.3254", f"The agent {ctx.params['agent_id']} does not exist.", 404)
    _check_workspace(ctx, agent.workspace, f"agent {agent.name}")
    if not _stream_flag(ctx.request.headers.get("stream")):
        raise bad("PANGU.0010", "The agent only supports streaming: send the header stream: true.")
    query = ctx.body().get("query")
    if not isinstance(query, str) or not query.strip():
        raise bad("PANGU.3278", "The parameter query is missing.")
    answer, at = complete([query]).text, ctx.world.clock.millis()
    units: list[Body] = [{"event": "start", "createdTime": at}]
    units += [{"event": "message", "content": piece, "createdTime": at} for piece in _pieces(answer)]
    units += [
        {"event": "statistic_data", "latency": {"overall": 0.01, "model": 0.01}, "createdTime": at},
        {"event": "summary_response", "content": answer, "role": "assistant", "createdTime": at},
        {"event": "done", "createdTime": at},
    ]
    return Reply(200, stream="".join(f"data:{_dumps(unit)}\n\n" for unit in units))


ROUTES: tuple[HwRoute, ...] = (
    HwRoute(
        "PanguV1ChatCompletions",
        "POST",
        "/v1/{project_id}/deployments/{deployment_id}/chat/completions",
        v1_chat,
        "pangu:deployments:chat",
        data_plane=True,
    ),
    HwRoute(
        "PanguV2ChatCompletions",
        "POST",
        "/api/v2/chat/completions",
        v2_chat,
        "pangu:v2:chat",
        auth="apikey",
        data_plane=True,
    ),
    HwRoute(
        "PanguAgentRun",
        "POST",
        "/v1/{project_id}/agent-run/agents/{agent_id}/conversations/{conversation_id}",
        agent_run,
        "pangu:agents:run",
        data_plane=True,
    ),
)

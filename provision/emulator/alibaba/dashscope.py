"""The DashScope data plane (Bearer API keys): OpenAI-compatible chat, native generation, agent apps.

Replies are canned and deterministic ("ping" → "pong", anything else is echoed) with token counts
of about four characters per token. Each request is checked in the order the cloud documents:
key (401), site of the Host (401), IP whitelist (403), model known (404), model granted to the key's
workspace and inside the key's model scope (403). Errors use the body of the route's style.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from provision.emulator.alibaba.modelstudio_rules import app_workspace, find_api_key, find_app, model_granted
from provision.emulator.alibaba.modelstudio_state import ApiKey, Workspace, model_known, ms_state
from provision.emulator.httpio import host_name
from provision.emulator.wire import Body, DataResponse, DataRoute, Request, Service
from provision.emulator.world import World

_SITE_BY_HOST = {"dashscope.aliyuncs.com": "cn", "dashscope-intl.aliyuncs.com": "intl",
                 "dashscope-finance.aliyuncs.com": "finance"}
_MAAS_SUFFIX = ".maas.aliyuncs.com"
PROMPT_OVERHEAD_TOKENS = 8  # the chat template around the messages


class DataError(Exception):
    """A data-plane refusal with its native code and its OpenAI-compatible code."""

    def __init__(self, status: int, code: str, message: str, openai_code: str | None = None,
                 openai_message: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message = status, code, message
        self.openai_code = openai_code or code
        self.openai_message = openai_message or message

    def response(self, openai_style: bool) -> DataResponse:
        request_id = str(uuid.uuid4())
        if not openai_style:
            return DataResponse(self.status, {"code": self.code, "message": self.message,
                                              "request_id": request_id})
        kind = "invalid_request_error" if self.status in (400, 401, 404) else self.openai_code
        error = {"message": self.openai_message, "type": kind, "param": None, "code": self.openai_code}
        return DataResponse(self.status, {"error": error, "request_id": request_id})


def invalid_key() -> DataError:
    return DataError(401, "InvalidApiKey", "Invalid API-key provided.", "invalid_api_key",
                     "Incorrect API key provided.")


def bad_request(message: str) -> DataError:
    return DataError(400, "InvalidParameter", message, "invalid_parameter_error")


def workspace_denied() -> DataError:
    return DataError(403, "Workspace.AccessDenied", "Workspace access denied.")


# -- checks -------------------------------------------------------------------------------------------
def region_site(region: str) -> str:
    """Which public site serves a region: finance, the China site, or international."""
    if "finance" in region:
        return "finance"
    return "cn" if region.startswith("cn-") and region != "cn-hongkong" else "intl"


def _check_host(host: str, key: ApiKey, ws: Workspace) -> None:
    """A key only works on its own site; other hosts (IPs, PrivateLink domains) are not checked."""
    site = _SITE_BY_HOST.get(host)
    if site is not None and site != region_site(ws.region):
        raise invalid_key()
    if host.endswith(_MAAS_SUFFIX) and host != ws.api_host:
        raise invalid_key()


@dataclass(frozen=True)
class KeyContext:
    """The authenticated key, its account and its workspace."""

    account_id: str
    key: ApiKey
    workspace: Workspace


def authenticate(world: World, request: Request) -> KeyContext:
    """The request's Bearer key, checked for status, site, client IP and workspace header."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    found = find_api_key(world, token.strip()) if scheme.lower() == "bearer" and token.strip() else None
    if found is None or not found[1].usable:
        raise invalid_key()
    account_id, key = found
    ws = ms_state(world, account_id).workspaces.get(key.workspace_id)
    if ws is None:
        raise invalid_key()
    _check_host(host_name(request.host).lower(), key, ws)
    if not key.auth.allows_ip(request.client_ip):
        raise DataError(403, "AccessDenied", f"Access denied: {request.client_ip} is not in the API key's IP "
                        "whitelist.")
    named = request.headers.get("x-dashscope-workspace")
    if named and named != ws.workspace_id:
        raise workspace_denied()
    return KeyContext(account_id, key, ws)


def check_model(world: World, ctx: KeyContext, model: Any) -> str:
    """The model id if it exists and this key may call it."""
    if not isinstance(model, str) or not model:
        raise bad_request("Model not specified.")
    if not model_known(world, model):
        raise DataError(404, "ModelNotFound", f"Model not found ({model})!", "model_not_found",
                        f"The model `{model}` does not exist or you do not have access to it.")
    if not (model_granted(world, ctx.account_id, ctx.workspace.workspace_id, model)
            and ctx.key.auth.allows_model(model)):
        raise DataError(403, "Model.AccessDenied", "Model access denied.")
    return model


# -- canned replies -----------------------------------------------------------------------------------
def count_tokens(text: str) -> int:
    return max(1, (len(text) + 3) // 4)


def reply_for(prompt: str) -> str:
    """The deterministic answer: "ping" becomes "pong"; any other prompt is echoed."""
    text = prompt.strip()
    if "ping" in text.lower():
        return re.sub("ping", "pong", text, flags=re.IGNORECASE)
    return f"Echo: {text[:200]}"


def _text(content: Any) -> str:
    if isinstance(content, list):  # multimodal parts: [{"type": "text", "text": ...}, {"image": ...}]
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and "text" in p)
    return "" if content is None else str(content)


def _messages(value: Any) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(m, dict) for m in value):
        raise bad_request("messages must be a non-empty list of {role, content} objects.")
    return [_text(m.get("content")) for m in value]


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def complete(contents: list[str], max_tokens: Any = None) -> Completion:
    """Answer the last message; ``max_tokens`` truncates (finish_reason "length")."""
    text, finish = reply_for(contents[-1]), "stop"
    if isinstance(max_tokens, int) and 0 < max_tokens < count_tokens(text):
        text, finish = text[:max_tokens * 4], "length"
    prompt = sum(count_tokens(c) for c in contents) + PROMPT_OVERHEAD_TOKENS
    return Completion(text, prompt, count_tokens(text), finish)


def _pieces(text: str) -> list[str]:
    return re.findall(r"\S+\s*", text) or [text]


def _json_body(request: Request) -> dict[str, Any]:
    if not isinstance(request.json_body, dict):
        raise bad_request("The request body must be a JSON object.")
    return request.json_body


# -- handlers -----------------------------------------------------------------------------------------
def chat_completions(world: World, request: Request) -> DataResponse:
    """POST /compatible-mode/v1/chat/completions (OpenAI format; ``stream`` → SSE ending in [DONE])."""
    try:
        ctx = authenticate(world, request)
        body = _json_body(request)
        model = check_model(world, ctx, body.get("model"))
        result = complete(_messages(body.get("messages")), body.get("max_tokens"))
    except DataError as error:
        return error.response(openai_style=True)
    head: Body = {"id": f"chatcmpl-{uuid.uuid4()}", "created": int(world.clock.timestamp()), "model": model,
                  "system_fingerprint": None}
    usage = {"prompt_tokens": result.prompt_tokens, "completion_tokens": result.completion_tokens,
             "total_tokens": result.total_tokens}
    if not body.get("stream"):
        return DataResponse(200, {**head, "object": "chat.completion", "usage": usage, "choices": [
            {"index": 0, "message": {"role": "assistant", "content": result.text},
             "finish_reason": result.finish_reason, "logprobs": None}]})
    chunk = {**head, "object": "chat.completion.chunk"}
    deltas: list[tuple[Body, str | None]] = [({"role": "assistant", "content": ""}, None)]
    deltas += [({"content": piece}, None) for piece in _pieces(result.text)]
    deltas.append(({}, result.finish_reason))
    events = [{**chunk, "choices": [{"index": 0, "delta": d, "finish_reason": f, "logprobs": None}]}
              for d, f in deltas]
    options = body.get("stream_options")
    if isinstance(options, dict) and options.get("include_usage"):
        events.append({**chunk, "choices": [], "usage": usage})
    return DataResponse(200, stream=[_dumps(e) for e in events] + ["[DONE]"])


def generation(world: World, request: Request) -> DataResponse:
    """POST /api/v1/services/aigc/text-generation/generation (native; result_format message|text)."""
    try:
        ctx = authenticate(world, request)
        body = _json_body(request)
        check_model(world, ctx, body.get("model"))
        source = body.get("input")
        if not isinstance(source, dict) or not (source.get("messages") or source.get("prompt")):
            raise bad_request("Required parameter(s) missing or invalid, please check the request "
                              "parameters: input.messages or input.prompt.")
        raw_params = body.get("parameters")
        params: dict[str, Any] = raw_params if isinstance(raw_params, dict) else {}
        contents = _messages(source["messages"]) if source.get("messages") else [_text(source["prompt"])]
        result = complete(contents, params.get("max_tokens"))
    except DataError as error:
        return error.response(openai_style=False)
    as_message = params.get("result_format") == "message"
    request_id = str(uuid.uuid4())

    def event(text: str, finish: str, output_tokens: int) -> Body:
        output: Body = ({"choices": [{"finish_reason": finish,
                                      "message": {"role": "assistant", "content": text}}]}
                        if as_message else {"text": text, "finish_reason": finish})
        return {"output": output, "request_id": request_id, "usage": {
            "input_tokens": result.prompt_tokens, "output_tokens": output_tokens,
            "total_tokens": result.prompt_tokens + output_tokens}}

    if request.headers.get("x-dashscope-sse", "").lower() != "enable":
        return DataResponse(200, event(result.text, result.finish_reason, result.completion_tokens))
    incremental, sent, events = bool(params.get("incremental_output")), "", []
    pieces = _pieces(result.text)
    for i, piece in enumerate(pieces):
        sent += piece
        last = i == len(pieces) - 1
        events.append(event(piece if incremental else sent, result.finish_reason if last else "null",
                            count_tokens(sent)))
    return DataResponse(200, stream=[_dumps(e) for e in events])


def app_completion(world: World, request: Request) -> DataResponse:
    """POST /api/v1/apps/{app_id}/completion: the app must live in the key's workspace."""
    try:
        ctx = authenticate(world, request)
        app = find_app(world, ctx.account_id, request.path_params["app_id"])
        if app is None:
            raise DataError(404, "NotFound", f"App not found ({request.path_params['app_id']})!")
        home = app_workspace(world, ctx.account_id, app)
        if home is None or home.workspace_id != ctx.workspace.workspace_id:
            raise workspace_denied()
        source = _json_body(request).get("input")
        if not isinstance(source, dict) or not (source.get("prompt") or source.get("messages")):
            raise bad_request("Required parameter(s) missing or invalid: input.prompt.")
        contents = _messages(source["messages"]) if source.get("messages") else [_text(source["prompt"])]
        result = complete(contents)
    except DataError as error:
        return error.response(openai_style=False)
    session_id = str(source.get("session_id") or uuid.uuid4().hex)
    return DataResponse(200, {
        "output": {"text": result.text, "finish_reason": result.finish_reason, "session_id": session_id},
        "usage": {"models": [{"model_id": app.model, "input_tokens": result.prompt_tokens,
                              "output_tokens": result.completion_tokens}]},
        "request_id": str(uuid.uuid4())})


def _dumps(value: Body) -> str:
    return json.dumps(value, ensure_ascii=False)


SERVICE = Service(
    name="dashscope",
    data_routes=(
        DataRoute("POST", "/compatible-mode/v1/chat/completions", chat_completions),
        DataRoute("POST", "/api/v1/services/aigc/text-generation/generation", generation),
        DataRoute("POST", "/api/v1/apps/{app_id}/completion", app_completion),
    ),
)

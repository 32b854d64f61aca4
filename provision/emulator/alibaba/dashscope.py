"""The DashScope data plane (Bearer API keys): OpenAI-compatible chat, native text generation and
multimodal generation (VL models); agent apps are in ``dashscope_apps.py`` on the same checks.

Replies are canned and deterministic ("ping" → "pong", anything else is echoed) with token counts
of about four characters per token. Each request is checked in the order the cloud documents:
key (401), site of the Host (401), IP whitelist (403), the key owner's ``sfm:CreateSession`` (403
``NoPermission``), model known (native 400 ``InvalidParameter`` "Model not exist.", OpenAI-compatible 404
``model_not_found``), model granted to the key's workspace and inside the key's model scope (403).
Errors use the body of the route's style; native streams are DashScope SSE events.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from provision.emulator import auth  # a module: auth imports this package while it loads
from provision.emulator.alibaba.modelstudio_rules import find_api_key, model_granted
from provision.emulator.alibaba.modelstudio_state import ApiKey, Workspace, catalog_model, ms_state
from provision.emulator.alibaba.ram import effective_policy_documents
from provision.emulator.httpio import host_name
from provision.emulator.wire import Body, DataResponse, DataRoute, Request, Service
from provision.emulator.world import World

_SITE_BY_HOST = {"dashscope.aliyuncs.com": "cn", "dashscope-intl.aliyuncs.com": "intl",
                 "dashscope-finance.aliyuncs.com": "finance"}
_MAAS_SUFFIX = ".maas.aliyuncs.com"
PROMPT_OVERHEAD_TOKENS = 8  # the chat template around the messages
VISION = "VU"  # the catalog capability of the models the multimodal endpoint serves


class DataError(Exception):
    """A data-plane refusal with its native code and its OpenAI-compatible code."""

    def __init__(self, status: int, code: str, message: str, openai_code: str | None = None,
                 openai_message: str | None = None, openai_status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message = status, code, message
        self.openai_code = openai_code or code
        self.openai_message = openai_message or message
        self.openai_status = openai_status or status

    def response(self, openai_style: bool) -> DataResponse:
        request_id = str(uuid.uuid4())
        if not openai_style:
            return DataResponse(self.status, {"code": self.code, "message": self.message,
                                              "request_id": request_id})
        status = self.openai_status
        kind = "invalid_request_error" if status in (400, 401, 404) else self.openai_code
        error = {"message": self.openai_message, "type": kind, "param": None, "code": self.openai_code}
        return DataResponse(status, {"error": error, "request_id": request_id})


def invalid_key() -> DataError:
    return DataError(401, "InvalidApiKey", "Invalid API-key provided.", "invalid_api_key",
                     "Incorrect API key provided.")


def bad_request(message: str) -> DataError:
    return DataError(400, "InvalidParameter", message, "invalid_parameter_error")


def workspace_denied() -> DataError:
    return DataError(403, "Workspace.AccessDenied", "Workspace access denied.")


def model_not_exist(model: str) -> DataError:
    """A wrong model name (bailian-sub-workspace-model-calls, error table): 400 ``InvalidParameter``
    "Model not exist." on the native API, 404 ``model_not_found`` on the OpenAI-compatible one."""
    return DataError(400, "InvalidParameter", "Model not exist.", "model_not_found",
                     f"The model `{model}` does not exist or you do not have access to it.",
                     openai_status=404)


SESSION_ACTION = "sfm:CreateSession"


def no_session_permission(account_id: str) -> DataError:
    """The key's owner (a RAM user) may not create sessions: AliyunBailianDataFullAccess is needed,
    AliyunBailianDataReadOnlyAccess is not enough (bailian-sub-workspace-model-calls, error table)."""
    return DataError(403, "NoPermission", "You are not authorized to do this operation. Action: "
                     f"{SESSION_ACTION};Resource: acs:sfm::{account_id}:* (1-1).")


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
    # A call opens a session as the key's owner: a RAM user's key needs sfm:CreateSession (root keys pass)
    if key.creator_user is not None and auth.evaluate(
            effective_policy_documents(world, account_id, key.creator_user), SESSION_ACTION) != "Allow":
        raise no_session_permission(account_id)
    return KeyContext(account_id, key, ws)


def wrong_endpoint() -> DataError:
    """A model called on the other native endpoint: VL (and Audio) models take multimodal-generation, text
    models text-generation (bailian-sub-workspace-model-calls) [UNVERIFIED: the cloud's wording]."""
    return bad_request("url error, please check url!")


def check_model(world: World, ctx: KeyContext, model: Any, multimodal: bool | None = None) -> str:
    """The model id if it exists, suits the endpoint (``multimodal``: None = any) and this key may call it."""
    if not isinstance(model, str) or not model:
        raise bad_request("Model not specified.")
    found = catalog_model(world, model)
    if found is None:
        raise model_not_exist(model)
    if multimodal is not None and multimodal != (VISION in found.capabilities):
        raise wrong_endpoint()
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


def text_of(content: Any) -> str:
    if isinstance(content, list):  # multimodal parts: [{"type": "text", "text": ...}, {"image": ...}]
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and "text" in p)
    return "" if content is None else str(content)


def messages_of(value: Any) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(m, dict) for m in value):
        raise bad_request("messages must be a non-empty list of {role, content} objects.")
    return [text_of(m.get("content")) for m in value]


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


def pieces(text: str) -> list[str]:
    return re.findall(r"\S+\s*", text) or [text]


def json_body(request: Request) -> dict[str, Any]:
    if not isinstance(request.json_body, dict):
        raise bad_request("The request body must be a JSON object.")
    return request.json_body


# -- handlers -----------------------------------------------------------------------------------------
def chat_completions(world: World, request: Request) -> DataResponse:
    """POST /compatible-mode/v1/chat/completions (OpenAI format; ``stream`` → SSE ending in [DONE])."""
    try:
        ctx = authenticate(world, request)
        body = json_body(request)
        model = check_model(world, ctx, body.get("model"))
        result = complete(messages_of(body.get("messages")), body.get("max_tokens"))
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
    deltas += [({"content": piece}, None) for piece in pieces(result.text)]
    deltas.append(({}, result.finish_reason))
    events = [{**chunk, "choices": [{"index": 0, "delta": d, "finish_reason": f, "logprobs": None}]}
              for d, f in deltas]
    options = body.get("stream_options")
    if isinstance(options, dict) and options.get("include_usage"):
        events.append({**chunk, "choices": [], "usage": usage})
    return DataResponse(200, stream=[dumps(e) for e in events] + ["[DONE]"])


def generation(world: World, request: Request) -> DataResponse:
    """POST /api/v1/services/aigc/text-generation/generation (native; result_format message|text)."""
    try:
        ctx = authenticate(world, request)
        body = json_body(request)
        check_model(world, ctx, body.get("model"), multimodal=False)
        source = body.get("input")
        if not isinstance(source, dict) or not (source.get("messages") or source.get("prompt")):
            raise bad_request("Required parameter(s) missing or invalid, please check the request "
                              "parameters: input.messages or input.prompt.")
        raw_params = body.get("parameters")
        params: dict[str, Any] = raw_params if isinstance(raw_params, dict) else {}
        contents = messages_of(source["messages"]) if source.get("messages") else [text_of(source["prompt"])]
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
    parts = pieces(result.text)
    for i, piece in enumerate(parts):
        sent += piece
        last = i == len(parts) - 1
        events.append(event(piece if incremental else sent, result.finish_reason if last else "null",
                            count_tokens(sent)))
    return DataResponse(200, stream=[dumps(e) for e in events], sse="dashscope")


def multimodal_generation(world: World, request: Request) -> DataResponse:
    """POST /api/v1/services/aigc/multimodal-generation/generation: VL models, ``input.messages`` whose
    contents are lists of ``{"text"}``/``{"image"}`` parts; the answer's content is such a list."""
    try:
        ctx = authenticate(world, request)
        body = json_body(request)
        check_model(world, ctx, body.get("model"), multimodal=True)
        source = body.get("input")
        if not isinstance(source, dict) or not source.get("messages"):
            raise bad_request("Required parameter(s) missing or invalid, please check the request "
                              "parameters: input.messages.")
        result = complete(messages_of(source["messages"]))
    except DataError as error:
        return error.response(openai_style=False)
    return DataResponse(200, {
        "output": {"choices": [{"finish_reason": result.finish_reason, "message": {
            "role": "assistant", "content": [{"text": result.text}]}}]},
        "usage": {"input_tokens": result.prompt_tokens, "output_tokens": result.completion_tokens,
                  "total_tokens": result.total_tokens, "image_tokens": 0},
        "request_id": str(uuid.uuid4())})


def dumps(value: Body) -> str:
    return json.dumps(value, ensure_ascii=False)


SERVICE = Service(
    name="dashscope",
    data_routes=(
        DataRoute("POST", "/compatible-mode/v1/chat/completions", chat_completions),
        DataRoute("POST", "/api/v1/services/aigc/text-generation/generation", generation),
        DataRoute("POST", "/api/v1/services/aigc/multimodal-generation/generation", multimodal_generation),
    ),
)

"""The smoke calls verify and revoke make with an API key: a chat completion (``openai``), a native
generation and an agent-app completion (``dashscope``). A call never raises: it returns a :class:`Reply`,
and no reply holds the key (a cloud message naming it shows its fingerprint instead).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

import requests

from provision.checks.results import PROMPT as PROMPT
from provision.checks.results import Reply as Reply
from provision.checks.results import masked as masked
from provision.manifest.schema_verify import BizParams, RagOptions
from provision.providers.alibaba import DashScopeTarget

_TIMEOUT_S = 30
_MAX_TOKENS = 8
_MESSAGES = [{"role": "user", "content": PROMPT}]


def via_endpoint(site: DashScopeTarget, domain: str) -> DashScopeTarget:
    """The site's calls sent through a PrivateLink endpoint domain instead."""
    if site.host_header:  # the site target is an emulator: keep its URL, name the endpoint in the Host
        return DashScopeTarget(base_url=site.base_url, host_header=domain)
    return DashScopeTarget(base_url=f"https://{domain}")


def host_of(target: DashScopeTarget) -> str:
    """The host a call to ``target`` names (the Host header under an emulator)."""
    return target.host_header or urlsplit(target.base_url).netloc


def _unreachable(err: Exception, key: str) -> Reply:
    return Reply(None, "Unreachable", masked(str(err.__cause__ or err), key))


# The model-call SDKs (openai, dashscope) are imported on first use: they cost ~0.5 s of start-up that
# plan, apply and audit never need.


def chat(target: DashScopeTarget, key: str, model: str) -> Reply:
    """POST /compatible-mode/v1/chat/completions with the ``openai`` client."""
    import openai

    client = openai.OpenAI(api_key=key, base_url=target.openai_base_url, default_headers=target.headers(),
                           max_retries=1, timeout=_TIMEOUT_S)
    try:
        answer = client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": PROMPT}], max_tokens=_MAX_TOKENS)
    except openai.APIStatusError as err:
        body = err.body if isinstance(err.body, dict) else {}
        return Reply(err.status_code, str(err.code or body.get("code") or ""),
                     masked(str(body.get("message") or err.message), key))
    except openai.APIConnectionError as err:
        return _unreachable(err, key)
    finally:
        client.close()
    return Reply(200, text=str(answer.choices[0].message.content or "") if answer.choices else "")


def _native_failure(response: Any, key: str) -> Reply:
    return Reply(int(response.status_code), str(response.code or ""),
                 masked(str(response.message or ""), key), request_id=str(response.request_id or ""))


def _native(response: Any, key: str, text: Callable[[Any], str]) -> Reply:
    if response.status_code != 200:
        return _native_failure(response, key)
    return Reply(200, text=text(response.output), request_id=str(response.request_id or ""))


_MULTIMODAL = re.compile(r"(^|[-.])(vl|audio)([-.]|$)|^qvq")


def multimodal(model: str) -> bool:
    """Whether a model takes the multimodal endpoint: Qwen-VL and Qwen-Audio models (by their ids:
    qwen-vl-plus, qwen2.5-vl-72b-instruct, qwen-audio-turbo, qvq-max), as bailian-sub-workspace-model-calls
    says: "使用通义千问VL或通义千问Audio模型: …/multimodal-generation/generation"."""
    return _MULTIMODAL.search(model) is not None


def generation(target: DashScopeTarget, key: str, model: str) -> Reply:
    """The native call: POST /api/v1/services/aigc/text-generation/generation with ``dashscope.Generation``,
    or, for a VL or Audio model, …/multimodal-generation/generation with ``MultiModalConversation``."""
    if multimodal(model):
        return _multimodal_generation(target, key, model)
    from dashscope import Generation

    try:
        response = Generation.call(  # messages as dicts: the stub's Message type is not exported at runtime
            model=model, messages=cast(Any, _MESSAGES), result_format="message",
            max_tokens=_MAX_TOKENS, api_key=key, base_address=target.native_base_url,
            headers=target.headers(), request_timeout=_TIMEOUT_S)
    except requests.RequestException as err:
        return _unreachable(err, key)
    return _native(response, key, lambda out: str(out.choices[0].message.content) if out.choices else "")


def _multimodal_generation(target: DashScopeTarget, key: str, model: str) -> Reply:
    from dashscope import MultiModalConversation

    try:
        response = MultiModalConversation.call(
            model=model, messages=[{"role": "user", "content": [{"text": PROMPT}]}], max_tokens=_MAX_TOKENS,
            api_key=key, base_address=target.native_base_url, headers=target.headers(),
            request_timeout=_TIMEOUT_S)
    except requests.RequestException as err:
        return _unreachable(err, key)

    def text(out: Any) -> str:
        parts = out.choices[0].message.content if out.choices else []
        return "".join(str(p.get("text", "")) for p in parts if isinstance(p, dict))

    return _native(response, key, text)


@dataclass(frozen=True)
class AppAsk:
    """One agent-app call: the prompt, the session to continue or the messages to use instead, whether
    to stream (incrementally), and the declared app parameters (passed as the manifest writes them)."""

    prompt: str = PROMPT
    session_id: str | None = None
    messages: tuple[tuple[str, str], ...] = ()  # (role, content)
    stream: bool = False
    biz_params: BizParams | None = None
    rag_options: RagOptions | None = None
    memory_id: str | None = None

    def arguments(self) -> dict[str, Any]:
        """The keyword arguments of ``Application.call`` for what is set."""
        given: dict[str, Any] = {
            "session_id": self.session_id, "memory_id": self.memory_id,
            "messages": [{"role": r, "content": c} for r, c in self.messages] or None,
            "biz_params": self.biz_params.model_dump(exclude_defaults=True) if self.biz_params else None,
            "rag_options": self.rag_options.model_dump(exclude_defaults=True) if self.rag_options else None}
        if self.stream:
            given |= {"stream": True, "incremental_output": True}
        return {name: value for name, value in given.items() if value is not None}


def app_completion(target: DashScopeTarget, key: str, app_id: str, ask: AppAsk | None = None) -> Reply:
    """POST /api/v1/apps/{app_id}/completion with ``dashscope.Application``; a stream's chunks are joined
    (``chunks`` counts them) and its first failed event is the reply."""
    from dashscope import Application

    ask = ask or AppAsk()
    try:
        response = Application.call(app_id=app_id, prompt=ask.prompt, api_key=key,
                                    base_address=target.native_base_url, headers=target.headers(),
                                    request_timeout=_TIMEOUT_S, **ask.arguments())
        if not ask.stream:
            return _app_reply(response, key)
        parts = list(cast(Any, response))
    except requests.RequestException as err:
        return _unreachable(err, key)
    failed = next((p for p in parts if p.status_code != 200), None)
    if failed is not None or not parts:
        return _native_failure(failed, key) if failed is not None else Reply(200, chunks=0)
    last = parts[-1]
    return Reply(200, text="".join(str(p.output.text or "") for p in parts), chunks=len(parts),
                 session_id=str(last.output.session_id or ""), request_id=str(last.request_id or ""))


def _app_reply(response: Any, key: str) -> Reply:
    if response.status_code != 200:
        return _native_failure(response, key)
    return Reply(200, text=str(response.output.text or ""), session_id=str(response.output.session_id or ""),
                 request_id=str(response.request_id or ""))

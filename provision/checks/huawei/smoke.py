"""The Huawei smoke calls verify and revoke make: who an AK/SK is (STS), a Pangu V1 chat completion signed
with an AK/SK (official SDK) or an IAM token, a Pangu V2 OpenAI-compatible completion with a MaaS API key
(official ``openai`` client), and an agent-run conversation read until ``done``. Each call may go through a
VPC endpoint domain (``via``): on the real cloud the call connects to that domain; under the emulator
(``PROVISION_ENDPOINT``) it keeps the emulator URL and names the domain in the Host header, as the Alibaba
checks do. A call never raises: it returns the :class:`~provision.checks.smoke.Reply` the Alibaba checks
use, and no reply holds a secret (an echoed key shows as its fingerprint).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from huaweicloudsdkpangulargemodels.v1 import ChatCompletionReq, ExecuteChatCompletionRequest, Message

from provision.checks.results import PROMPT, Reply, masked
from provision.providers.huawei.clients import HuaweiCallError, HuaweiClients

_MAX_TOKENS = 8
_TIMEOUT_S = 30.0


def _failed(err: HuaweiCallError, secret: str = "") -> Reply:
    if err.code == "NetworkError":
        return Reply(None, "Unreachable", masked(err.cloud_message, secret), request_id=err.request_id)
    return Reply(err.status, err.code, masked(err.cloud_message, secret), request_id=err.request_id)


def _answer(response: httpx.Response, secret: str = "") -> Reply | None:
    """The failure a raw answer carries (``{error_code, error_msg}``), ``None`` when it is a 200."""
    if response.status_code == 200:
        return None
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    return Reply(
        response.status_code,
        str(body.get("error_code") or response.status_code),
        masked(str(body.get("error_msg") or response.text[:200]), secret),
        request_id=response.headers.get("X-Request-Id", ""),
    )


def caller(clients: HuaweiClients) -> Reply:
    """STS ``get_caller_identity`` signed with the clients' key: ``text`` is the principal URN."""
    from huaweicloudsdksts.v1 import GetCallerIdentityRequest

    try:
        answer = clients.call(
            "sts.caller",
            "GetCallerIdentity",
            lambda: clients.sts().get_caller_identity(GetCallerIdentityRequest()),
        )
    except HuaweiCallError as err:
        return _failed(err, clients.credentials.secret_access_key)
    return Reply(200, text=str(answer.principal_urn or ""))


def v1_chat(clients: HuaweiClients, deployment_id: str, via: str | None = None) -> Reply:
    """POST /v1/{project_id}/deployments/{id}/chat/completions signed with the clients' AK/SK: the official
    SDK directly; through a VPC endpoint (``via``) the SDK's signer with that Host."""
    messages = [Message(role="user", content=PROMPT)]
    secret = clients.credentials.secret_access_key
    if via is None:
        request = ExecuteChatCompletionRequest(
            deployment_id=deployment_id, body=ChatCompletionReq(messages=messages, max_tokens=_MAX_TOKENS)
        )
        try:
            answer = clients.call(
                "pangu.deployment/" + deployment_id,
                "ExecuteChatCompletion",
                lambda: clients.pangu().execute_chat_completion(request),
            )
        except HuaweiCallError as err:
            return _failed(err, secret)
        return Reply(200, text=str(answer.choices[0].message.content or "") if answer.choices else "")
    try:
        response = clients.signed("pangu", "POST", _v1_path(clients, deployment_id), _v1_body(), host=via)
    except httpx.TransportError as err:
        return Reply(None, "Unreachable", type(err).__name__)
    return _answer(response, secret) or Reply(200, text=_v1_text(response.json()))


def v1_chat_token(clients: HuaweiClients, token: str, deployment_id: str, via: str | None = None) -> Reply:
    """The same V1 call authenticated by an IAM token (``X-Auth-Token``), not signed."""
    url, headers = _data_plane(clients, "pangu", via)
    try:
        response = httpx.post(
            url + _v1_path(clients, deployment_id),
            json=_v1_body(),
            headers={**headers, "X-Auth-Token": token},
            timeout=_TIMEOUT_S,
            trust_env=False,
        )
    except httpx.TransportError as err:
        return Reply(None, "Unreachable", type(err).__name__)
    return _answer(response, token) or Reply(200, text=_v1_text(response.json()))


def _v1_path(clients: HuaweiClients, deployment_id: str) -> str:
    return f"/v1/{clients.project_id}/deployments/{deployment_id}/chat/completions"


def _v1_body() -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": PROMPT}], "max_tokens": _MAX_TOKENS}


def _v1_text(body: Any) -> str:
    choices = body.get("choices") if isinstance(body, dict) else None
    return str(((choices or [{}])[0].get("message") or {}).get("content") or "")


def _data_plane(clients: HuaweiClients, service: str, via: str | None) -> tuple[str, dict[str, str]]:
    """Base URL and extra headers of an unsigned data-plane call, direct or through a VPC endpoint."""
    if via is None:
        return clients.target.url(service), {}
    if clients.target.emulator_url:
        return clients.target.emulator_url, {"Host": via}
    return f"https://{via}", {}


def v2_chat(clients: HuaweiClients, api_key: str, model: str, via: str | None = None) -> Reply:
    """POST /api/v2/chat/completions with the ``openai`` client and ``Authorization: Bearer <api key>``."""
    import openai

    url, headers = _data_plane(clients, "pangu", via)
    client = openai.OpenAI(
        api_key=api_key,
        base_url=f"{url}/api/v2",
        default_headers=headers,
        max_retries=0,
        timeout=_TIMEOUT_S,
    )
    try:
        answer = client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": PROMPT}], max_tokens=_MAX_TOKENS
        )
    except openai.APIStatusError as err:
        body = err.body if isinstance(err.body, dict) else {}
        return Reply(
            err.status_code,
            str(body.get("error_code") or err.code or err.status_code),
            masked(str(body.get("error_msg") or err.message), api_key),
            request_id=err.response.headers.get("X-Request-Id", ""),
        )
    except openai.APIConnectionError as err:
        return Reply(None, "Unreachable", masked(str(err.__cause__ or err), api_key))
    finally:
        client.close()
    return Reply(200, text=str(answer.choices[0].message.content or "") if answer.choices else "")


def agent_run(
    clients: HuaweiClients, agent_id: str, conversation_id: str, query: str = PROMPT, via: str | None = None
) -> Reply:
    """POST /v1/{project_id}/agent-run/agents/{agent}/conversations/{id} (header ``stream: true``, signed),
    the SSE stream read until ``done``: ``text`` is the ``summary_response``, ``chunks`` the events read. A
    stream that ends without ``done`` or with an empty summary is a failure (code ``IncompleteStream``)."""
    path = f"/v1/{clients.project_id}/agent-run/agents/{agent_id}/conversations/{conversation_id}"
    try:
        response = clients.signed(
            "pangu", "POST", path, {"query": query}, headers={"stream": "true"}, host=via
        )
    except httpx.TransportError as err:
        return Reply(None, "Unreachable", type(err).__name__)
    failed = _answer(response, clients.credentials.secret_access_key)
    if failed is not None:
        return failed
    events = sse_events(response.text)
    names = [str(e.get("event", "")) for e in events]
    summary = next((str(e.get("content") or "") for e in events if e.get("event") == "summary_response"), "")
    request_id = response.headers.get("X-Request-Id", "")
    if "done" not in names:
        return Reply(
            200,
            "IncompleteStream",
            f"the stream ended after {len(events)} events without 'done' "
            f"({', '.join(names[-3:]) or 'no events'})",
            chunks=len(events),
            request_id=request_id,
            session_id=conversation_id,
        )
    if not summary.strip():
        return Reply(
            200,
            "IncompleteStream",
            "the stream reached 'done' with an empty summary_response",
            chunks=len(events),
            request_id=request_id,
            session_id=conversation_id,
        )
    return Reply(200, text=summary, chunks=len(events), request_id=request_id, session_id=conversation_id)


def sse_events(text: str) -> list[dict[str, Any]]:
    """The ``data:{…}`` units of a Pangu stream (``data:`` with or without a space), in order; ``[DONE]``
    and ``event:`` usage lines are skipped."""
    events: list[dict[str, Any]] = []
    for line in text.splitlines():
        payload = line.removeprefix("data:").strip() if line.startswith("data:") else ""
        if not payload or payload == "[DONE]":
            continue
        try:
            unit = json.loads(payload)
        except ValueError:
            continue
        if isinstance(unit, dict):
            events.append(unit)
    return events

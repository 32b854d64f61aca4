"""DashScope agent apps: ``POST /api/v1/apps/{app_id}/completion`` as dashscope-application-call.txt
describes it.

* The key's checks are the model calls' (``dashscope.authenticate``). The app must exist (404
  ``NotFound``), live in the key's workspace (403 ``Workspace.AccessDenied``) and be published (400
  ``App.NotPublished`` [UNVERIFIED: the code is not documented]).
* Multi-turn: every call answers with a ``session_id`` whose history the cloud keeps. A later call with
  that ``session_id`` continues it; ``messages`` given as well take precedence and the ``session_id`` is
  ignored (a new session starts from the messages, ``prompt`` appended last). An unknown ``session_id``
  starts a new session with a new id [UNVERIFIED].
* Replies are the canned ones of ``dashscope.reply_for``; a prompt asking to "recall" answers with the
  user's previous message in the context, which makes the history observable.
* ``biz_params`` (``user_prompt_params`` must name variables of the app's prompt, ``user_defined_params``
  and ``user_defined_tokens`` its plugin tools), ``rag_options`` (``pipeline_ids`` knowledge bases of the
  app, ``file_ids`` documents of those, never without ``pipeline_ids``; ``session_file_ids`` starting with
  ``file_session_``) and ``memory_id`` (a memory of the app) are checked; anything malformed or unknown is
  400 ``InvalidParameter`` naming the parameter [UNVERIFIED: the cloud's wording]. Accepted knowledge is
  shown as ``doc_references``.
* ``X-DashScope-SSE: enable`` streams DashScope events; ``parameters.incremental_output`` makes each event
  carry only the new text, else each carries the text so far.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from provision.emulator.alibaba.dashscope import (
    PROMPT_OVERHEAD_TOKENS,
    DataError,
    authenticate,
    bad_request,
    count_tokens,
    dumps,
    json_body,
    messages_of,
    pieces,
    reply_for,
    text_of,
    workspace_denied,
)
from provision.emulator.alibaba.modelstudio_rules import app_workspace, find_app
from provision.emulator.alibaba.modelstudio_state import App
from provision.emulator.wire import Body, DataResponse, DataRoute, Request, Service
from provision.emulator.world import StateModel, World, register_state

MAX_TURNS = 100  # messages a session keeps (the oldest are dropped)
RECALL = "recall"


class Turn(BaseModel):
    role: str
    content: str


class AppSession(BaseModel):
    app_id: str
    turns: list[Turn] = Field(default_factory=list)


@register_state
class AppSessionsState(StateModel):
    """One account's agent-app sessions by session id (the cloud-side history of multi-turn calls)."""

    service: ClassVar[str] = "dashscope-apps"
    sessions: dict[str, AppSession] = Field(default_factory=dict)


def not_found(app_id: str) -> DataError:
    return DataError(404, "NotFound", f"App not found ({app_id})!")


def not_published(app_id: str) -> DataError:
    return DataError(400, "App.NotPublished", f"The app {app_id} is not published: publish it in the "
                     "Model Studio console first.")


# -- parameters -----------------------------------------------------------------------------------------
def _object(value: Any, name: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise bad_request(f"{name} must be an object.")
    return value


def _strings(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise bad_request(f"{name} must be a list of non-empty strings.")
    return value


def check_biz_params(app: App, value: Any) -> None:
    """``biz_params``: prompt variables the app's prompt references, parameters and tokens of its tools."""
    params = _object(value, "biz_params")
    for name, got in params.items():
        if name == "user_prompt_params":
            for variable, setting in _object(got, "biz_params.user_prompt_params").items():
                if variable not in app.prompt_variables:
                    raise bad_request(f"biz_params.user_prompt_params.{variable}: the app's prompt has no "
                                      f"variable {variable!r}.")
                if not isinstance(setting, str | int | float):
                    raise bad_request(f"biz_params.user_prompt_params.{variable} must be a string.")
        elif name in ("user_defined_params", "user_defined_tokens"):
            for tool, setting in _object(got, f"biz_params.{name}").items():
                if tool not in app.tools:
                    raise bad_request(f"biz_params.{name}.{tool}: the app has no plugin tool {tool!r}.")
                _object(setting, f"biz_params.{name}.{tool}")
        else:
            raise bad_request(f"biz_params.{name} is not a known parameter.")


def check_rag_options(app: App, value: Any) -> list[Body]:
    """``rag_options``: the knowledge bases and documents to search → the doc references of the answer."""
    options = _object(value, "rag_options")
    pipelines = _strings(options.get("pipeline_ids", []), "rag_options.pipeline_ids")
    files = _strings(options.get("file_ids", []), "rag_options.file_ids")
    for pipeline in pipelines:
        if pipeline not in app.knowledge:
            raise bad_request(f"rag_options.pipeline_ids: knowledge base {pipeline} does not exist in the "
                              "app's workspace.")
    if files and not pipelines:
        raise bad_request("rag_options.file_ids needs the pipeline_ids of the knowledge bases the documents "
                          "belong to.")
    for file_id in files:
        if not any(file_id in app.knowledge[p] for p in pipelines):
            raise bad_request(f"rag_options.file_ids: document {file_id} is in none of the given knowledge "
                              "bases.")
    for file_id in _strings(options.get("session_file_ids", []), "rag_options.session_file_ids"):
        if not file_id.startswith("file_session_"):
            raise bad_request(f"rag_options.session_file_ids: {file_id} is not a session file id "
                              "(file_session_…).")
    for name in ("metadata_filter", "structured_filter"):
        if name in options:
            _object(options[name], f"rag_options.{name}")
    if "tags" in options:
        _strings(options["tags"], "rag_options.tags")
    chosen = [(p, f) for p in pipelines for f in app.knowledge[p] if not files or f in files]
    return [{"index_id": p, "doc_id": f, "doc_name": f, "title": f, "text": "", "index": str(i)}
            for i, (p, f) in enumerate(chosen, start=1)]


def check_memory(app: App, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise bad_request("memory_id must be a non-empty string.")
    if not app.memory_ids:
        raise bad_request("memory_id: long-term memory is not enabled for this app.")
    if value not in app.memory_ids:
        raise bad_request(f"memory_id: memory {value} does not exist for this app.")


# -- the conversation -----------------------------------------------------------------------------------
def answer(turns: list[Turn]) -> str:
    """The canned reply to the last user turn; "recall" answers with the user turn before it."""
    users = [t.content for t in turns if t.role == "user"]
    last = users[-1] if users else ""
    if RECALL in last.lower():
        return f"You said before: {users[-2]}" if len(users) > 1 else "You said nothing before."
    return reply_for(last)


def _context(world: World, sessions: AppSessionsState, app: App, source: Mapping[str, Any]
             ) -> tuple[str, list[Turn]]:
    """(session id, the turns the answer is based on): messages first, else the session, else new."""
    prompt = text_of(source.get("prompt")) if source.get("prompt") else ""
    asked = [Turn(role="user", content=prompt)] if prompt else []
    if source.get("messages"):
        contents = messages_of(source["messages"])
        given = [Turn(role=str(m.get("role") or "user"), content=c)
                 for m, c in zip(source["messages"], contents, strict=True)]
        return _new_session(world), given + asked
    if not prompt:
        raise bad_request("Required parameter(s) missing or invalid: input.prompt or input.messages.")
    wanted = source.get("session_id")
    session = sessions.sessions.get(wanted) if isinstance(wanted, str) else None
    if session is not None and session.app_id == app.app_id:
        return str(wanted), [*session.turns, *asked]
    return _new_session(world), asked


def _new_session(world: World) -> str:
    return world.ids.next("session", 32).removeprefix("session-")


def app_completion(world: World, request: Request) -> DataResponse:
    """POST /api/v1/apps/{app_id}/completion."""
    try:
        ctx = authenticate(world, request)
        app_id = request.path_params["app_id"]
        app = find_app(world, ctx.account_id, app_id)
        if app is None:
            raise not_found(app_id)
        home = app_workspace(world, ctx.account_id, app)
        if home is None or home.workspace_id != ctx.workspace.workspace_id:
            raise workspace_denied()
        if not app.published:
            raise not_published(app_id)
        body = json_body(request)
        source = _object(body.get("input"), "input")
        raw_params = body.get("parameters")
        params: Mapping[str, Any] = raw_params if isinstance(raw_params, dict) else {}
        if "biz_params" in source:
            check_biz_params(app, source["biz_params"])
        references = check_rag_options(app, params["rag_options"]) if "rag_options" in params else None
        if "memory_id" in source:
            check_memory(app, source["memory_id"])
        sessions = world.state(ctx.account_id, AppSessionsState)
        session_id, turns = _context(world, sessions, app, source)
    except DataError as error:
        return error.response(openai_style=False)
    text = answer(turns)
    turns = [*turns, Turn(role="assistant", content=text)]
    sessions.sessions[session_id] = AppSession(app_id=app.app_id, turns=turns[-MAX_TURNS:])
    input_tokens = sum(count_tokens(t.content) for t in turns[:-1]) + PROMPT_OVERHEAD_TOKENS
    request_id = str(uuid.uuid4())

    def event(chunk: str, finish: str, output_tokens: int) -> Body:
        output: Body = {"text": chunk, "finish_reason": finish, "session_id": session_id,
                        "thoughts": None, "doc_references": references}
        return {"output": output, "request_id": request_id, "usage": {"models": [
            {"model_id": app.model, "input_tokens": input_tokens, "output_tokens": output_tokens}]}}

    if request.headers.get("x-dashscope-sse", "").lower() != "enable":
        return DataResponse(200, event(text, "stop", count_tokens(text)), changed=True)
    incremental, sent, events = bool(params.get("incremental_output")), "", []
    parts = pieces(text)
    for i, piece in enumerate(parts):
        sent += piece
        events.append(event(piece if incremental else sent, "stop" if i == len(parts) - 1 else "null",
                            count_tokens(sent)))
    return DataResponse(200, stream=[dumps(e) for e in events], sse="dashscope", changed=True)


SERVICE = Service(
    name="dashscope-apps",
    data_routes=(DataRoute("POST", "/api/v1/apps/{app_id}/completion", app_completion),),
)

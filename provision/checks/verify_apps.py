"""The agent-app conversation `provision verify` runs for a check that names an ``app_id``
(dashscope-application-call.txt): an app is accepted when a conversation works, not one call.

With the workspace's API key, on one target (the site, or one PrivateLink endpoint's domain), in order:

* ``app``: a first call answers ``output.text`` and a ``session_id``;
* ``app-session``: a second call with that ``session_id`` continues the same session;
* ``app-messages``: ``messages`` given with the ``session_id`` take precedence (documented), and answer;
* ``app-stream``: ``stream`` with ``incremental_output`` yields several chunks whose concatenation is
  the answer;
* ``app-params``: when the check declares ``biz_params``, ``rag_options`` or ``memory_id``, a call passing
  them is accepted.

When the first call fails the rest are not made: they would fail the same way. Each step is judged
here; ``verify.py`` turns a step into a result row and diagnoses a refused one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from provision.checks.smoke import PROMPT, AppAsk, Reply, app_completion
from provision.manifest.schema_verify import VerifyCheck
from provision.providers.alibaba import DashScopeTarget

FOLLOW_UP = "recall what I said before"
STREAMED = "ping: who are you?"  # an answer of several words: several chunks
# a history other than the session's, so an answer drawing on it shows that messages took precedence
GIVEN = (("user", f"{PROMPT} twice"), ("assistant", "pong twice"))
APP_KINDS = ("app", "app-session", "app-messages", "app-stream", "app-params")
PARAMS = ("biz_params", "rag_options", "memory_id")


@dataclass(frozen=True)
class Step:
    """One call of the conversation: what came back and the verdict; ``seen`` says what passed, or why an
    answered call still fails (the session not continued, one chunk only)."""

    kind: str
    reply: Reply
    passed: bool
    seen: str
    duration_ms: int


def declared_params(check: VerifyCheck) -> list[str]:
    """The app parameters the check declares, in manifest order."""
    return [name for name in PARAMS if getattr(check, name) is not None]


def conversation(target: DashScopeTarget, key: str, check: VerifyCheck) -> list[Step]:
    """The steps above for ``check.app_id`` on ``target``."""
    assert check.app_id is not None
    app_id = check.app_id

    def send(ask: AppAsk) -> tuple[Reply, int]:
        start = time.perf_counter()
        reply = app_completion(target, key, app_id, ask)
        return reply, round((time.perf_counter() - start) * 1000)

    steps: list[Step] = []

    def step(kind: str, ask: AppAsk, judge: Callable[[Reply], tuple[bool, str]]) -> Reply:
        reply, ms = send(ask)
        passed, seen = judge(reply) if reply.ok else (False, "")
        steps.append(Step(kind, reply, passed, seen, ms))
        return reply

    first = step("app", AppAsk(), _first)
    if not (first.ok and first.session_id):
        return steps
    session = first.session_id
    step("app-session", AppAsk(prompt=FOLLOW_UP, session_id=session), lambda r: _continued(r, session))
    step("app-messages", AppAsk(prompt=FOLLOW_UP, session_id=session, messages=GIVEN), _answered_messages)
    step("app-stream", AppAsk(prompt=STREAMED, stream=True), _streamed)
    if declared_params(check):
        step("app-params", AppAsk(biz_params=check.biz_params, rag_options=check.rag_options,
                                  memory_id=check.memory_id), lambda r: _accepted(r, check))
    return steps


def _first(reply: Reply) -> tuple[bool, str]:
    if not reply.text or not reply.session_id:
        return False, (f"answered without {'output.text' if not reply.text else 'a session_id'}: the app "
                       "must answer with text and the session to continue")
    return True, f"answered {reply.text!r} in session {reply.session_id}"


def _continued(reply: Reply, session: str) -> tuple[bool, str]:
    if reply.session_id != session:
        return False, (f"answered in session {reply.session_id or '(none)'}, not {session}: the session was "
                       "not continued (is multi-turn conversation enabled in the published app?)")
    return True, f"continued session {session}: answered {reply.text!r}"


def _answered_messages(reply: Reply) -> tuple[bool, str]:
    if not reply.text:
        return False, "answered no text for the messages given"
    return True, f"messages took precedence over session_id: answered {reply.text!r}"


def _streamed(reply: Reply) -> tuple[bool, str]:
    if reply.chunks < 2 or not reply.text:
        return False, (f"the streamed answer came in {reply.chunks} chunk(s): stream with incremental_output "
                       "must yield several chunks whose concatenation is the answer")
    return True, f"{reply.chunks} chunks, together {reply.text!r}"


def _accepted(reply: Reply, check: VerifyCheck) -> tuple[bool, str]:
    return True, f"accepted {', '.join(declared_params(check))}: answered {reply.text!r}"

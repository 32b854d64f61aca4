"""Write-ahead intents: a create whose answer the tool must remember is recorded before it is sent.

The cloud shows a secret (an AccessKey secret, an API key's value) and some ids (a workspace's: Model
Studio has no tags) only in the answer to the create. A run killed, or an answer lost, between the cloud
committing the create and the tool recording it would leave a credential nobody holds or a resource
nobody manages. So a provider records an :class:`Intent` (durably, in ``state.json``) before the call and
closes it after the result is recorded; the next run settles every intent still open before it plans
(``engine/intents.py``). The records are kind-agnostic: ``kind`` is a resource kind's value, ``name`` the
resource's natural key within it, ``before`` the cloud ids of its kind that existed before the create
(what was there already is never taken for what the intent made).

``SecretRecord``: a secret the tool stored in the sink (by the cloud id of its key, with the secret's
fingerprint), and whether it was handed off (``provision handoff``, e.g. to a CI job's secret store). A
key missing from the sink is then told apart: handed off (a warning), lost (the tool stored it, no
hand-off: the manifest is not delivered) or older than these records (a warning).

``crash_point``: the test hook ``PROVISION_TEST_CRASH_AT=after-create:<kind>`` kills the process with
SIGKILL right after the cloud answered a create of that kind and before the answer is recorded
(``after-reset:<kind>``: the same after a call that resets a key's secret).
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from typing import Protocol

CRASH_ENV = "PROVISION_TEST_CRASH_AT"
AFTER_CREATE = "after-create"
AFTER_RESET = "after-reset"  # a reset that shows a new secret once (ResetApiKey): settled like a create


@dataclass(frozen=True)
class Intent:
    """A create about to be sent: what it makes, when, and what of its kind was there before."""

    id: str  # unique within the state file
    kind: str  # a resource kind's value: "ram.access_keys", "modelstudio.workspace", ...
    name: str  # the resource's name within its kind (``ws-delivery/main``): its key is ``kind/name``
    started_at: str  # ISO-8601 UTC
    before: tuple[str, ...] = ()  # cloud ids of the same resource that existed before the create
    owner: str = ""  # the manifest whose marker the created resource carries

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class SecretRecord:
    """A secret the tool stored in the sink: the key it belongs to, and its hand-off if any."""

    key: str  # resource key (``ram.access_keys/alice``, ``modelstudio.api_key/ws/main``)
    fingerprint: str  # ``sha256:…`` of the secret (``SecretSink.fingerprint``), never the secret
    stored_at: str  # ISO-8601 UTC
    handed_off_at: str | None = None  # set by ``provision handoff``


def crash_point(point: str) -> None:
    """Kill this process (SIGKILL: no cleanup, no flush) when ``PROVISION_TEST_CRASH_AT`` names ``point``
    (a comma-separated list may name several). For crash-recovery tests only; unset, it does nothing."""
    wanted = os.environ.get(CRASH_ENV, "")
    if wanted and point in {p.strip() for p in wanted.split(",")}:
        os.kill(os.getpid(), signal.SIGKILL)


def after_create(kind: str) -> None:
    """The crash point between a create's answer and its record: ``after-create:<kind>``."""
    crash_point(f"{AFTER_CREATE}:{kind}")


@dataclass(frozen=True)
class Settlement:
    """What settling one open intent found and did (``act``) or would do (a plan)."""

    key: str
    message: str  # one line, never a secret: what the intent made and what is (or will be) done about it
    undelivered: bool = False  # a plan: the manifest is not delivered until apply settles this intent
    orphaned: tuple[str, ...] = ()  # cloud ids of keys it made whose secret never reached the sink


class Settler(Protocol):
    """A provider's side of settling intents: find what an open intent made, then record it (a
    workspace id), or delete it (a key whose secret was lost), or tell what apply would do (``act``)."""

    def settle(self, intent: Intent, act: bool) -> Settlement: ...

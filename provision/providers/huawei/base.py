"""What every Huawei provider shares: ownership markers (the one marker vocabulary and ``Owner`` rule of
``providers/common/markers.py``), the one way a create is made, and initial passwords.

Markers (docs/architecture.md): an IAM v5 user and a VPC endpoint carry the tags ``managed-by=provision``
and ``provision-manifest=<manifest>``; a custom identity policy, a workspace and an SCP carry
``managed-by=provision manifest=<manifest>`` at the end of their description (stripped again when read, so
the declared description is what is compared); a MaaS API key's description is its ``KeyMarker``
(``provision:<ws>/<key> to=<user> manifest=<name> managed-by=provision``, ≤100 characters).

Every create goes through :func:`create`: one call, and a create the cloud answers "it exists" (a retried
create whose first answer was lost) is found instead; a retry after an ambiguous failure looks first; a
create whose answer carries a secret or an id to remember takes a write-ahead intent (:class:`WriteAhead`,
``state/intents.py``), settled after a crash by ``providers/huawei/intents.py``.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from provision.desired.kinds import Kind
from provision.providers.common.delete_steps import ALREADY_GONE, DONE, StepResult
from provision.providers.common.markers import (
    KeyMarker,
    Owner,
    comments_marker,
    comments_owner,
    marker_tags,
)
from provision.providers.common.outcomes import Outcome
from provision.providers.common.policies import once_then_find
from provision.providers.huawei.clients import HuaweiCallError, HuaweiClients
from provision.state.intents import after_create
from provision.state.statefile import StateFile

T = TypeVar("T")

TAG_NAME = "provision-name"  # the declared name of a VPC endpoint (endpoints have no name of their own)
MAAS_DESCRIPTION_MAX = 100  # MaaS API key descriptions


def owner_tags(manifest: str) -> list[tuple[str, str]]:
    return list(marker_tags(manifest))


def marked(description: str | None, manifest: str) -> str:
    """A description with the ownership marker at its end."""
    return f"{description} {comments_marker(manifest)}" if description else comments_marker(manifest)


def unmarked(description: str) -> tuple[str, Owner]:
    """The declared description and the owner its marker names."""
    owner = comments_owner(description)
    if owner is None:
        return description, Owner(None)
    return description[:description.rfind(comments_marker(owner))].rstrip(), Owner(owner)


def key_description(workspace: str, key_name: str, issued_to: str | None, manifest: str) -> str:
    """A MaaS key's marker: the whole KeyMarker when it fits in 100 characters, else without the manifest."""
    text = KeyMarker(workspace, key_name, issued_to, manifest).text()
    return text if len(text) <= MAAS_DESCRIPTION_MAX else KeyMarker(workspace, key_name, issued_to).text()


@dataclass(frozen=True)
class WriteAhead(Generic[T]):
    """The write-ahead intent of a create whose answer the tool must remember (a secret, an id):
    ``record`` stores that answer (the secret in the sink, the id in the state file)."""

    state: StateFile
    kind: Kind
    name: str  # the resource's name within its kind (the intent's key is ``kind/name``)
    record: Callable[[T], object]
    before: tuple[str, ...] = ()  # the cloud ids of that resource there before the create
    owner: str = ""  # the manifest whose marker the created resource carries


def create(clients: HuaweiClients, key: str, action: str, call: Callable[[], T],
           find: Callable[[], T | None], ahead: WriteAhead[T] | None = None) -> T:
    """The one way a resource is created: ``call``; if the cloud answers that it exists (a retry of a create
    whose answer was lost), the existing one ``find`` returns.

    With ``ahead`` (a create whose answer carries a secret or an id: not idempotent, and not refused as a
    duplicate when retried), the intent is recorded (durably) before the first attempt; an ambiguous failure
    (timeout, dropped connection, 5xx after the request was sent) may hide a create the cloud committed, so
    the retry looks first (``find``) and creates only if nothing is found (a ``find`` of a key whose secret
    died with the lost answer deletes that key and returns None); the crash hook ``after-create:<kind>``
    runs right after the answer, ``ahead.record`` stores it, and only then is the intent closed. A failure
    that may have committed leaves the intent open for the next run's settler. Without ``ahead`` (names
    unique in the account, attachments), a retried create is answered "it exists" and ``find`` returns it."""
    intent = ahead.state.open_intent(ahead.kind, ahead.name, ahead.before, ahead.owner) if ahead else None
    try:
        made = clients.call(key, action, once_then_find(call, find) if ahead is not None else call)
    except HuaweiCallError as err:
        found = find() if err.outcome is Outcome.EXISTS else None
        if found is None:
            if ahead is not None and intent is not None and err.outcome in (Outcome.FAIL, Outcome.GONE):
                ahead.state.close_intent(intent)  # refused: nothing was made
            raise
        made = found
    if ahead is not None and intent is not None:
        after_create(ahead.kind)
        ahead.record(made)
        ahead.state.close_intent(intent)
    return made


def removed(clients: HuaweiClients, key: str, action: str, call: Callable[[], object]) -> StepResult:
    """One removal call: done, or already gone when the cloud says it does not exist."""
    return DONE if clients.call_or_none(key, action, call) is not None else ALREADY_GONE


def password() -> str:
    """An initial console password: 20 characters with letters, digits and a symbol (IAM's rule)."""
    alphabet = string.ascii_letters + string.digits
    while True:
        value = "".join(secrets.choice(alphabet) for _ in range(18)) + "!" + secrets.choice(string.digits)
        if any(c.islower() for c in value) and any(c.isupper() for c in value):
            return value

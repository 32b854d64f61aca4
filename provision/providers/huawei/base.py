"""What every Huawei provider shares: ownership markers (the one marker vocabulary and ``Owner`` rule of
``providers/common/markers.py``), the one way a create is made, and initial passwords.

Markers (docs/architecture.md): an IAM v5 user and a VPC endpoint carry the tags ``managed-by=provision``
and ``provision-manifest=<manifest>``; a custom identity policy, a workspace and an SCP carry
``managed-by=provision manifest=<manifest>`` at the end of their description (stripped again when read, so
the declared description is what is compared); a MaaS API key's description is its ``KeyMarker``
(``provision:<ws>/<key> to=<user> manifest=<name> managed-by=provision``, ≤100 characters).

Every create goes through :func:`create` (the choke point write-ahead intents can wrap): one call, and a
create the cloud answers "it exists" (a retried create whose first answer was lost) is found instead.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable
from typing import TypeVar

from provision.providers.common.markers import KeyMarker, Owner, comments_marker, comments_owner, marker_tags
from provision.providers.common.outcomes import Outcome
from provision.providers.huawei.clients import HuaweiCallError, HuaweiClients

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


def create(clients: HuaweiClients, key: str, action: str, call: Callable[[], T],
           find: Callable[[], T | None]) -> T:
    """The one way a resource is created: ``call``; if the cloud answers that it exists (a retry of a create
    whose answer was lost), the existing one ``find`` returns."""
    try:
        return clients.call(key, action, call)
    except HuaweiCallError as err:
        if err.outcome is not Outcome.EXISTS:
            raise
        found = find()
        if found is None:
            raise
        return found


def removed(clients: HuaweiClients, key: str, action: str, call: Callable[[], object]) -> str:
    """One removal call: "done", or "already gone" when the cloud says it does not exist."""
    return "done" if clients.call_or_none(key, action, call) is not None else "already gone"


def password() -> str:
    """An initial console password: 20 characters with letters, digits and a symbol (IAM's rule)."""
    alphabet = string.ascii_letters + string.digits
    while True:
        value = "".join(secrets.choice(alphabet) for _ in range(18)) + "!" + secrets.choice(string.digits)
        if any(c.islower() for c in value) and any(c.isupper() for c in value):
            return value

"""What every Huawei provider shares: ownership markers, the one way a create is made, secrets.

Markers (docs/architecture.md): an IAM v5 user and a VPC endpoint carry the tags ``managed-by=provision``
and ``provision-manifest=<manifest>``; a custom identity policy, a workspace and an SCP carry
``(managed-by=provision manifest=<manifest>)`` at the end of their description (stripped again when read, so
the declared description is what is compared); a MaaS API key ``provision:<ws>/<key> managed-by=provision``
as its description (≤100 characters: no manifest name).

Every create goes through :func:`create` (the choke point write-ahead intents can wrap): one call, and a
create the cloud answers "it exists" (a retried create whose first answer was lost) is found instead.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from provision.desired.resources import MARKER
from provision.providers.alibaba.calls import Outcome
from provision.providers.huawei.clients import HuaweiCallError, HuaweiClients

T = TypeVar("T")

TAG_MANAGED = ("managed-by", "provision")
TAG_MANIFEST = "provision-manifest"
TAG_NAME = "provision-name"  # the declared name of a VPC endpoint (endpoints have no name of their own)
_DESCRIPTION_MARK = re.compile(r"\s*\(managed-by=provision(?: manifest=([A-Za-z0-9._-]+))?\)\s*$")
_KEY_MARK = re.compile(r"^provision:([^/\s]+)/(\S+) managed-by=provision$")


@dataclass(frozen=True)
class Owner:
    """What a resource's marker says: managed by provision, and for which manifest ("" if unsaid)."""

    managed: bool
    manifest: str = ""

    def ours(self, manifest: str) -> bool:
        """Managed by provision and not by another manifest."""
        return self.managed and (not self.manifest or not manifest or self.manifest == manifest)


def tag_owner(tags: tuple[tuple[str, str], ...]) -> Owner:
    found = dict(tags)
    return Owner(found.get(TAG_MANAGED[0]) == TAG_MANAGED[1], found.get(TAG_MANIFEST, ""))


def owner_tags(manifest: str) -> list[tuple[str, str]]:
    return [TAG_MANAGED, *([(TAG_MANIFEST, manifest)] if manifest else [])]


def marked(description: str | None, manifest: str) -> str:
    """A description with the ownership mark at its end."""
    mark = f"({MARKER}" + (f" manifest={manifest}" if manifest else "") + ")"
    return f"{description} {mark}" if description else mark


def unmarked(description: str) -> tuple[str, Owner]:
    """The declared description and the owner its mark names."""
    found = _DESCRIPTION_MARK.search(description)
    if found is None:
        return description, Owner(False)
    return description[:found.start()], Owner(True, found.group(1) or "")


def key_description(workspace: str, key_name: str) -> str:
    return f"provision:{workspace}/{key_name} {MARKER}"


def key_of(description: str) -> tuple[str, str] | None:
    """(workspace, key name) of a MaaS key whose description carries the marker."""
    found = _KEY_MARK.match(description.strip())
    return (found.group(1), found.group(2)) if found else None


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

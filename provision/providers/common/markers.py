"""Ownership markers: how the tool marks what it created, and for which manifest.

RAM user ``Comments`` carry ``managed-by=provision manifest=<name>``; custom policies and endpoints are
tagged ``managed-by=provision`` and ``provision-manifest=<name>``; API key descriptions carry a
:class:`KeyMarker`. A marker without a manifest name (written before names were recorded) belongs to
every manifest. Pure: no SDK.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from provision.desired.kinds import MARKER
from provision.errors import ProvisionError

MANIFEST_TAG = "provision-manifest"  # tag key (policies, endpoints) naming the manifest that owns it
_OWNER_WORD = "manifest="  # in Comments and API key descriptions: the owning manifest
_TO_WORD = "to="  # in API key descriptions: the user the key is issued to
API_KEY_DESCRIPTION_MAX = 256  # [UNVERIFIED: the reference gives no limit for an API key description]


def same_manifest(built_for: str, asked: str, provider: str) -> None:
    """A provider is built for one manifest (the owner it writes into markers); reading or checking the
    desired state of another with it would judge ownership for one and mark for the other."""
    if asked != built_for:
        raise ProvisionError(f"{provider} was built for manifest {built_for!r}, not {asked!r}: build the "
                             "providers for the manifest they serve (an internal error: please report it)")


def owns(manifest: str, owner: str) -> bool:
    """Whether a resource whose marker names manifest ``owner`` belongs to ``manifest``: a marker without
    a name (written before names were recorded) and a run without a name match any manifest."""
    return not owner or not manifest or owner == manifest


@dataclass(frozen=True)
class Owner:
    """The one ownership rule: who a resource's marker says owns it, and whether that is a manifest.

    ``manifest`` is None without a marker, "" for a marker naming no manifest (every manifest's).
    """

    manifest: str | None

    @property
    def marked(self) -> bool:
        """Carries provision's marker, for whichever manifest."""
        return self.manifest is not None

    def ours(self, manifest: str) -> bool:
        """Whether the resource belongs to ``manifest`` (see :func:`owns`)."""
        return self.manifest is not None and owns(manifest, self.manifest)

    def describe(self) -> str:
        """How a refusal names the owner: ``manifest other-team``, ``no manifest (no marker)``."""
        if self.manifest is None:
            return "nobody: it carries no managed-by=provision marker"
        return f"manifest {self.manifest}" if self.manifest else "a provision manifest without a name"

    @classmethod
    def from_comments(cls, comments: str | None) -> Owner:
        """The owner a RAM user's ``Comments`` name."""
        return cls(comments_owner(comments))

    @classmethod
    def from_tags(cls, tags: Iterable[tuple[str, str]]) -> Owner:
        """The owner a policy's or an endpoint's tags name."""
        return cls(tags_owner(tags))


def comments_marker(manifest: str) -> str:
    """The ownership marker a RAM user's ``Comments`` carry: ``managed-by=provision manifest=<name>``."""
    return f"{MARKER} {_OWNER_WORD}{manifest}" if manifest else MARKER


def comments_owner(comments: str | None) -> str | None:
    """The manifest a user's ``Comments`` name as owner: None when unmarked, "" for a nameless marker."""
    text = comments or ""
    if MARKER not in text:
        return None
    named = re.search(rf"{re.escape(MARKER)} {_OWNER_WORD}(\S+)", text)
    return named.group(1) if named else ""


def marker_tags(manifest: str) -> tuple[tuple[str, str], ...]:
    """The ownership tags of a custom policy or an endpoint: the marker, then the manifest's name."""
    key, _, value = MARKER.partition("=")
    return ((key, value), (MANIFEST_TAG, manifest)) if manifest else ((key, value),)


def tags_owner(tags: Iterable[tuple[str, str]]) -> str | None:
    """The manifest a resource's tags name as owner: None without the marker tag, "" without a name."""
    found = dict(tags)
    key, _, value = MARKER.partition("=")
    if found.get(key) != value:
        return None
    return found.get(MANIFEST_TAG, "")


_KEY_MARKER = re.compile(rf"provision:(?P<workspace>[^/]+)/(?P<key>[^\s/]+)(?: {_TO_WORD}(?P<to>\S+))?"
                         rf"(?: {_OWNER_WORD}(?P<manifest>\S+))? {re.escape(MARKER)}")


@dataclass(frozen=True)
class KeyMarker:
    """An API key's description: ``provision:<ws>/<key> to=<user> manifest=<name> managed-by=provision``.

    ``to=`` and ``manifest=`` are written when known; older markers have neither (any holder, any manifest).
    """

    workspace: str
    key_name: str
    issued_to: str | None = None
    manifest: str = ""

    def text(self) -> str:
        """The description written to the cloud."""
        parts = [f"provision:{self.workspace}/{self.key_name}"]
        parts += [f"{_TO_WORD}{self.issued_to}"] if self.issued_to else []
        parts += [f"{_OWNER_WORD}{self.manifest}"] if self.manifest else []
        return " ".join([*parts, MARKER])

    @classmethod
    def parse(cls, description: str | None) -> KeyMarker | None:
        """The marker in a key's description, or None for a key the tool did not mark."""
        found = _KEY_MARKER.search(description or "")
        if found is None:
            return None
        return cls(found.group("workspace"), found.group("key"), found.group("to"),
                   found.group("manifest") or "")

"""What `provision verify` judges its smoke calls against: one smoke :class:`Call`, the live account
(:class:`LiveFacts`, read through the providers only when a check needs it, once) and the manifest's
entries named with the file and line they were written at (:class:`Entries`). The diagnoses:
``verify_explain.py``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from provision.checks.contexts import AlibabaContext
from provision.desired.kinds import Kind
from provision.desired.model import Desired
from provision.desired.resources import ApiKeySpec, EndpointSpec, GrantSpec
from provision.manifest import Manifest
from provision.manifest.marks import dotted
from provision.manifest.schema_verify import VerifyCheck
from provision.providers.alibaba import CallError, DashScopeTarget
from provision.providers.alibaba.membership import ProbeResult, membership_of
from provision.providers.alibaba.modelstudio import find_workspaces

T = TypeVar("T")


@dataclass(frozen=True)
class Call:
    """One smoke call of ``verify.checks[index]``: its kind, what it asks for, with which key, where."""

    index: int
    check: VerifyCheck
    kind: str  # chat | generation | app | denied-chat | denied-generation
    subject: str  # the model or app id asked for
    key_id: str  # the id of the API key whose value the sink holds
    target: DashScopeTarget
    endpoint: str | None = None  # the PrivateLink endpoint the call goes through

    @property
    def denied(self) -> bool:
        return self.kind.startswith("denied")


class LiveFacts:
    """The live account as verify needs it, read through the providers on first use and kept (a failed
    read is kept too: every later use raises the same CallError)."""

    def __init__(self, context: AlibabaContext, desired: Desired) -> None:
        self.context = context
        self.desired = desired
        self._lock = threading.Lock()
        self._kept: dict[str, object] = {}

    def _once(self, name: str, read: Callable[[], T]) -> T:
        with self._lock:
            if name not in self._kept:
                try:
                    self._kept[name] = read()
                except CallError as err:
                    self._kept[name] = err
            kept = self._kept[name]
        if isinstance(kept, CallError):
            raise kept
        return cast(T, kept)

    def workspace(self, name: str) -> Any | None:
        """The workspace of that exact name as ListWorkspaces shows it (id, region), or None."""
        found = self._once(f"workspace/{name}", lambda: find_workspaces(self.context.clients, name))
        return found[0] if found else None

    def _model_studio(self) -> list[Any]:
        return self._once("modelstudio", lambda: self.context.providers[Kind.API_KEY].read(self.desired))

    def api_key(self, workspace: str, key_name: str) -> ApiKeySpec | None:
        """The managed API key as the account has it (id, disabled, allowed models), or None."""
        return next((live.spec for live in self._model_studio() if isinstance(live.spec, ApiKeySpec)
                     and (live.spec.workspace, live.spec.key_name) == (workspace, key_name)), None)

    def grants(self, workspace: str) -> set[str]:
        """Models granted for inference to the workspace in the account (``*``: every model)."""
        return {live.spec.model for live in self._model_studio()
                if isinstance(live.spec, GrantSpec) and live.spec.workspace == workspace}

    def endpoint(self, name: str) -> EndpointSpec | None:
        """The endpoint of that name with its live domain and states (a managed one first), or None."""
        lives = self._once("endpoints", lambda: self.context.providers[Kind.ENDPOINT].read(self.desired))
        named = sorted((live for live in lives if isinstance(live.spec, EndpointSpec)
                        and live.spec.endpoint == name), key=lambda live: not live.managed)
        return cast(EndpointSpec, named[0].spec) if named else None

    def probe(self, workspace: str, user: str) -> ProbeResult:
        """The membership provider's probe: ListPublishedAgent signed with the member's own AccessKey."""
        return membership_of(self.context.providers).probe(workspace, user)

    def caller_arn(self, access_key_id: str, secret: str, resource: str) -> str:
        """STS GetCallerIdentity signed with that AccessKey: the ARN it authenticates as."""
        as_key = self.context.clients.for_access_key(access_key_id, secret)
        body = as_key.call(resource, "GetCallerIdentity", lambda: as_key.sts().get_caller_identity()).body
        return str(body.arn or "")


class Entries:
    """Manifest entries named as a user finds them: ``workspaces[0].models (manifests/example.yaml:38)``."""

    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest

    def at(self, *path: str | int) -> str:
        """A field path and the file:line it was written at (its nearest written ancestor's)."""
        origin = self.manifest.locate(path)
        where = f"{origin.file}:{origin.line}" if origin else (self.manifest.source_file or "the manifest")
        return f"{dotted(path)} ({where})"

    # Lint guarantees that checks, members and keys name declared entries.
    def workspace(self, name: str) -> int:
        return next(i for i, w in enumerate(self.manifest.workspaces) if w.name == name)

    def api_key(self, workspace: str, name: str) -> tuple[int, int]:
        w = self.workspace(workspace)
        return w, next(k for k, key in enumerate(self.manifest.workspaces[w].api_keys) if key.name == name)

    def member(self, workspace: str, user: str) -> tuple[int, int]:
        w = self.workspace(workspace)
        return w, next(m for m, s in enumerate(self.manifest.workspaces[w].members) if s.user == user)

    def user(self, name: str) -> int:
        return next(i for i, u in enumerate(self.manifest.users) if u.name == name)

    def endpoint(self, name: str) -> int:
        return next(i for i, e in enumerate(self.manifest.endpoints) if e.name == name)

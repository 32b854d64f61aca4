"""Model Studio workspace API keys: read (ListApiKeys) and change (create, update, disable, rotate, delete).

A key is managed when its description carries a ``markers.KeyMarker`` of its workspace and of this
manifest (or of no manifest: an older marker). The marker also records who the key is issued to.
Its value is shown only by CreateApiKey and ResetApiKey: it goes to the secrets sink at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from alibabacloud_modelstudio20260210 import models as ms

from provision.desired.kinds import Kind
from provision.desired.live import Live
from provision.desired.resources import ApiKeySpec
from provision.plan.diff import Action, Change, InSync
from provision.providers.alibaba.base import Clients, ordered_like
from provision.providers.alibaba.calls import CallError
from provision.providers.common.markers import KeyMarker, owns
from provision.providers.common.pagers import token_pager
from provision.providers.common.policies import once_then_find
from provision.state.intents import AFTER_RESET, after_create, crash_point
from provision.state.secrets import SecretSink
from provision.state.statefile import StateFile

T = TypeVar("T")
ANY_IP = frozenset({"0.0.0.0/0", "::/0"})  # what the cloud stores for an empty Custom allow-list


@dataclass(frozen=True)
class KeyAuth:
    """An API key's access scope as the cloud states it."""

    allow_all_models: bool
    models: tuple[str, ...]  # sorted; empty when every model is allowed
    ip_allow_list: tuple[str, ...]  # sorted, "anywhere" entries dropped: empty = reachable from anywhere


def key_auth(key: Any) -> KeyAuth:
    """The access scope of a ListApiKeys item: ``auth`` of type All, or Custom with IPs and a model scope."""
    auth = key.auth
    custom = auth is not None and auth.type == "Custom"
    scope = auth.model_access_scope if custom else None
    # accessibleModels applies only when allowAllModels is false (reference: CreateApiKey)
    restricted = scope is not None and scope.allow_all_models is False
    models = tuple(sorted(scope.accessible_models or ())) if scope is not None and restricted else ()
    ips = tuple(sorted(ip for ip in (auth.access_ips or ()) if ip not in ANY_IP)) if custom else ()
    return KeyAuth(not restricted, models, ips)


def list_api_keys(clients: Clients, workspace: str, workspace_id: str) -> list[Any]:
    """ListApiKeys of one workspace (paged), every key managed or not, by id."""
    def page(token: str | None) -> Any:
        return clients.modelstudio().list_api_keys(ms.ListApiKeysRequest(workspace_id=workspace_id,
                                                                          next_token=token))

    keys = clients.paginate(f"{Kind.WORKSPACE}/{workspace}", "ListApiKeys",
                            token_pager(page, lambda body: body.api_keys))
    return sorted(keys, key=lambda k: int(k.api_key_id))


def parse_description(description: str | None) -> tuple[str, str] | None:
    """(workspace, key name) from a managed key's description marker (see ``KeyMarker.parse``)."""
    marker = KeyMarker.parse(description)
    return (marker.workspace, marker.key_name) if marker else None


class ApiKeyManager:
    """The API-key part of the Model Studio provider."""

    def __init__(self, clients: Clients, sink: SecretSink, state: StateFile, manifest: str = "") -> None:
        self.clients = clients
        self.sink = sink
        self.state = state
        self.manifest = manifest  # the owner it judges by and writes into markers

    @property
    def ms(self) -> Any:
        return self.clients.modelstudio()

    def marker(self, spec: ApiKeySpec) -> KeyMarker:
        """The description marker of ``spec``'s key: workspace, name, holder and this manifest."""
        return KeyMarker(spec.workspace, spec.key_name, spec.issued_to, self.manifest)

    def list_managed(self, workspace: str, workspace_id: str) -> list[tuple[KeyMarker, Any]]:
        """ListApiKeys of one workspace: the keys marked for it and for this manifest, with their marker."""
        found = [(KeyMarker.parse(k.description), k) for k in list_api_keys(self.clients, workspace,
                                                                             workspace_id)]
        return [(m, k) for m, k in found
                if m is not None and m.workspace == workspace and owns(self.manifest, m.manifest)]

    def read(self, workspace: str, workspace_id: str, declared: dict[str, ApiKeySpec]) -> list[Live]:
        """Managed keys of a workspace as ApiKeySpec (auth normalised; issued_to from the marker, else as
        last applied, else as declared; missing_secret from the sink, in the holder's file)."""
        lives: dict[str, Live] = {}
        for marker, key in self.list_managed(workspace, workspace_id):
            name = marker.key_name
            want = declared.get(name)
            issued_to = marker.issued_to or self.last_issued_to(workspace, name) or (
                want.issued_to if want else None)
            spec = self._spec(workspace, name, key, want, issued_to)
            held = self._held(workspace, name, issued_to)
            if name in lives:  # a duplicated marker (lost create response): keep the key the sink holds
                if held is None or held[0] != spec.api_key_id:
                    continue
            spec = replace(spec, missing_secret=held is None or held[0] != spec.api_key_id)
            lives[name] = Live(spec, managed=True, cloud_id=str(key.api_key_id))
        return list(lives.values())

    @staticmethod
    def _spec(workspace: str, name: str, key: Any, want: ApiKeySpec | None,
              issued_to: str | None) -> ApiKeySpec:
        auth = key_auth(key)
        return ApiKeySpec(workspace=workspace, key_name=name,
                          allowed_models=ordered_like(auth.models, want.allowed_models if want else None),
                          ip_allow_list=ordered_like(auth.ip_allow_list,
                                                     want.ip_allow_list if want else None),
                          disabled=bool(key.disabled), issued_to=issued_to, api_key_id=str(key.api_key_id))

    # -- execute --------------------------------------------------------------------------------------
    def execute(self, change: Change, workspace_id: Callable[[str], str]) -> str:
        """CreateApiKey (value to the sink first; a retried create finds the key by its marker) /
        UpdateApiKey (marker, auth complete; a new holder gets the value in its secrets file),
        Disable/EnableApiKey, ResetApiKey (rotation) / DeleteApiKey."""
        spec = change.spec_as(ApiKeySpec)
        if change.action is Action.DELETE:
            return self._delete(change, spec)
        ws_id = workspace_id(spec.workspace)
        if change.action is Action.CREATE:
            return self._create(change.key, spec, ws_id)
        live = change.live_as(ApiKeySpec)
        key_id = (change.live.cloud_id if change.live else "") or self._find_id(spec, ws_id)
        done = []
        scope = any(getattr(spec, f) is not None and (live is None or getattr(live, f) != getattr(spec, f))
                    for f in ("allowed_models", "ip_allow_list"))
        holder = live.issued_to if live is not None else None
        moved = live is not None and spec.issued_to is not None and spec.issued_to != holder
        if scope or moved:
            auth = _auth(spec, live, ms.UpdateApiKeyRequestAuth,
                         ms.UpdateApiKeyRequestAuthModelAccessScope) if scope else None
            marker = self.marker(spec if spec.issued_to is not None else replace(spec, issued_to=holder))
            request = ms.UpdateApiKeyRequest(description=marker.text(), auth=auth)
            self.clients.call(change.key, "UpdateApiKey", lambda: self.ms.update_api_key(key_id, request))
            done += ["access scope"] if scope else []
        if moved:
            done.append(self._move(spec, holder, key_id))
        if spec.disabled is not None and (live is None or live.disabled != spec.disabled):
            self._set_disabled(change.key, key_id, spec.disabled)
            done.append("disabled" if spec.disabled else "enabled")
        if change.rotate and live is not None and live.missing_secret:
            done.append(self._rotate(change.key, spec, key_id))
        return f"updated {change.key}: {', '.join(done)}" if done else InSync(f"{change.key} already in sync")

    def _create(self, key: str, spec: ApiKeySpec, ws_id: str) -> str:
        existing = self._find_id(spec, ws_id, required=False)
        if existing:  # created before (e.g. an interrupted apply): keep it, rotate only if its value is lost
            held = self._held(spec.workspace, spec.key_name, spec.issued_to)
            if held is not None and held[0] == existing:
                return InSync(f"{key} already exists")
            return f"{key} existed: {self._rotate(key, spec, existing)}"
        auth = _auth(spec, None, ms.CreateApiKeyRequestAuth, ms.CreateApiKeyRequestAuthModelAccessScope)
        request = ms.CreateApiKeyRequest(workspace_id=ws_id, description=self.marker(spec).text(), auth=auth)
        intent = self.state.open_intent(Kind.API_KEY, spec.name, owner=self.manifest)

        def find() -> Any:  # the key an earlier attempt created: its value is lost, so reset it
            key_id = self._find_id(spec, ws_id, required=False)
            return self.ms.reset_api_key(key_id, ms.ResetApiKeyRequest()) if key_id else None

        resp = self.clients.call(key, "CreateApiKey",
                                 once_then_find(lambda: self.ms.create_api_key(request), find))
        after_create(Kind.API_KEY)
        key_id = str(resp.body.api_key.api_key_id)
        tag = self._store(spec, key_id, resp.body.api_key.api_key_value)
        self.state.close_intent(intent)
        if spec.disabled:
            self._set_disabled(key, key_id, True)
        return f"created {key} (value {tag} in the secrets sink)"

    def _rotate(self, key: str, spec: ApiKeySpec, key_id: str) -> str:
        """ResetApiKey behind a write-ahead intent, as a create: its answer is the new value's only copy, so a
        run killed before the value is stored leaves a key nobody holds, which the next run's settler
        deletes (and replaces). The new value goes to the sink before anything else."""
        request = ms.ResetApiKeyRequest()
        self.forget(spec)  # the old value stops working: a crash before the new one is stored shows it lost
        intent = self.state.open_intent(Kind.API_KEY, spec.name, owner=self.manifest)
        resp = self.clients.call(key, "ResetApiKey", lambda: self.ms.reset_api_key(key_id, request))
        crash_point(f"{AFTER_RESET}:{Kind.API_KEY}")
        tag = self._store(spec, key_id, resp.body.api_key.api_key_value)
        self.state.close_intent(intent)
        return f"rotated (value {tag})"

    def _move(self, spec: ApiKeySpec, old: str | None, key_id: str) -> str:
        """Move the key's value from the old holder's secrets file to the new holder's, if the sink has it
        (stored first, then forgotten: never lost on the way)."""
        held = self._held(spec.workspace, spec.key_name, old)
        if held is None or held[0] != key_id:
            return f"issued to {spec.issued_to} (the secrets sink does not hold its value)"
        self._store(spec, key_id, held[1])
        old_account = self.sink.api_key_account(spec.workspace, old)
        self.sink.forget_api_key(old_account, spec.workspace, spec.key_name)
        return f"issued to {spec.issued_to} (value moved to its secrets file)"

    def _held(self, workspace: str, name: str, issued_to: str | None) -> tuple[str, str] | None:
        return self.sink.api_key(self.sink.api_key_account(workspace, issued_to), workspace, name)

    def _store(self, spec: ApiKeySpec, key_id: str, value: str) -> str:
        account = self.sink.api_key_account(spec.workspace, spec.issued_to)
        tag = self.sink.store_api_key(account, spec.workspace, spec.key_name, key_id, value)
        self.state.record_secret(key_id, spec.key, tag)
        return tag

    def _delete(self, change: Change, spec: ApiKeySpec) -> str:
        key_id = change.live.cloud_id if change.live else spec.api_key_id
        if key_id:
            self.clients.call_or_none(change.key, "DeleteApiKey", lambda: self.ms.delete_api_key(key_id))
            self.state.forget_secret(key_id)
        self.forget(spec)
        return f"deleted {change.key}"

    def last_issued_to(self, workspace: str, name: str) -> str | None:
        """Who a key was issued to as last applied: the manifest stops declaring the keys of an expired
        user, yet the plan must still revoke them as that user's and the sink find their values."""
        applied = self.state.applied().get(f"{Kind.API_KEY}/{workspace}/{name}")
        return applied.issued_to if isinstance(applied, ApiKeySpec) else None

    def forget(self, spec: ApiKeySpec) -> None:
        """Drop a deleted key's value from the sink (its issued_to may only be known as last applied)."""
        issued_to = spec.issued_to or self.last_issued_to(spec.workspace, spec.key_name)
        self.sink.forget_api_key(self.sink.api_key_account(spec.workspace, issued_to), spec.workspace,
                                 spec.key_name)

    def _set_disabled(self, key: str, key_id: str, disabled: bool) -> None:
        if disabled:
            request = ms.DisableApiKeyRequest()
            self.clients.call(key, "DisableApiKey", lambda: self.ms.disable_api_key(key_id, request))
        else:
            enable = ms.EnableApiKeyRequest()
            self.clients.call(key, "EnableApiKey", lambda: self.ms.enable_api_key(key_id, enable))

    def _find_id(self, spec: ApiKeySpec, ws_id: str, required: bool = True) -> str:
        """The id of the key carrying ``spec``'s marker (lowest id if duplicated)."""
        matches = [k for m, k in self.list_managed(spec.workspace, ws_id) if m.key_name == spec.key_name]
        if not matches and required:
            raise CallError(spec.key, "ListApiKeys", "ApiKeyNotFound", 404,
                            "no key carries this key's marker", "re-run plan")
        return str(matches[0].api_key_id) if matches else ""


def _declared_or_live(declared: tuple[str, ...] | None, live: tuple[str, ...] | None) -> tuple[str, ...]:
    if declared is not None:
        return declared
    return live or ()


def _auth(spec: ApiKeySpec, live: ApiKeySpec | None, auth_cls: Callable[..., T],
          scope_cls: Callable[..., Any]) -> T:
    """The complete auth block (the API takes all of it or none): declared fields, else the live ones."""
    models = _declared_or_live(spec.allowed_models, live.allowed_models if live else None)
    ips = _declared_or_live(spec.ip_allow_list, live.ip_allow_list if live else None)
    if not models and not ips:
        return auth_cls(type="All")
    scope = scope_cls(allow_all_models=not models, accessible_models=list(models) or None)
    return auth_cls(type="Custom", access_ips=list(ips) or None, model_access_scope=scope)

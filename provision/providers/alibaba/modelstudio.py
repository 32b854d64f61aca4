"""Model Studio (2026-02-10): workspaces, model grants and workspace API keys.

The API has no tags: a workspace is managed when its id is in the state file (created or adopted by
the tool). Names are matched exactly (the ListWorkspaces name filter is fuzzy).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from typing import Any

from alibabacloud_modelstudio20260210 import models as ms

from provision.desired.kinds import Kind
from provision.desired.live import Live
from provision.desired.model import Desired, SpecProblem
from provision.desired.resources import ALL_MODELS, ApiKeySpec, GrantSpec, WorkspaceSpec
from provision.plan.diff import Action, Change, InSync
from provision.providers.alibaba.base import Clients
from provision.providers.alibaba.calls import CallError
from provision.providers.alibaba.delete_run import run_delete
from provision.providers.alibaba.delete_steps import run_step
from provision.providers.alibaba.modelstudio_keys import ApiKeyManager
from provision.providers.common.delete_steps import ALREADY_GONE, DONE, DeleteStep, Step, labels
from provision.providers.common.markers import API_KEY_DESCRIPTION_MAX, same_manifest
from provision.providers.common.pagers import token_pager
from provision.providers.common.policies import once_then_find
from provision.state.intents import after_create
from provision.state.secrets import SecretSink
from provision.state.statefile import StateFile


def find_workspaces(clients: Clients, name: str | None = None) -> list[Any]:
    """ListWorkspaces (paged), optionally narrowed to the exact ``name``."""

    def page(token: str | None) -> Any:
        return clients.modelstudio().list_workspaces(ms.ListWorkspacesRequest(workspace_name=name,
                                                                              next_token=token))

    found = clients.paginate(f"{Kind.WORKSPACE}/{name or '*'}", "ListWorkspaces",
                             token_pager(page, lambda body: body.workspaces))
    return [w for w in found if name is None or w.workspace_name == name]


def granted_models(clients: Clients, workspace: str, workspace_id: str) -> list[str]:
    """ListModelPermissions (AUTHORIZED, INFERENCE; paged): the models the workspace may call, sorted."""
    def page(token: str | None) -> Any:
        return clients.modelstudio().list_model_permissions(ms.ListModelPermissionsRequest(
            workspace_id=workspace_id, authorization_scope="AUTHORIZED", model_action="INFERENCE",
            next_token=token))

    found = clients.paginate(f"{Kind.WORKSPACE}/{workspace}", "ListModelPermissions",
                             token_pager(page, lambda body: body.list))
    return sorted(m.model for m in found if m.permissions is None or m.permissions.inference)


def catalog_models(clients: Clients) -> set[str]:
    """ListModels (paged): the ids of every model in the global catalog."""
    def page(token: str | None) -> Any:
        return clients.modelstudio().list_models(ms.ListModelsRequest(max_results=100, next_token=token))

    found = clients.paginate("modelstudio.model/*", "ListModels", token_pager(page, lambda body: body.models))
    return {str(m.model) for m in found}


def every_model_granted(clients: Clients, workspace: str, workspace_id: str, granted: list[str]) -> bool:
    """Whether ``granted`` covers every authorizable model (ListModelPermissions AUTHORIZABLE's total): the
    one-click OPEN grant, inferred [UNVERIFIED: the API has no read-back of the one-click flag]."""
    if not granted:
        return False
    request = ms.ListModelPermissionsRequest(workspace_id=workspace_id, authorization_scope="AUTHORIZABLE",
                                             model_action="INFERENCE", max_results=1)
    total = clients.call(f"{Kind.WORKSPACE}/{workspace}", "ListModelPermissions",
                         lambda: clients.modelstudio().list_model_permissions(request)).body.total_count
    return bool(total) and len(granted) >= int(total)


class ModelStudioProvider:
    """Reads and changes workspaces, their model grants and their API keys."""

    kinds: tuple[Kind, ...] = (Kind.WORKSPACE, Kind.GRANT, Kind.API_KEY)

    def __init__(self, clients: Clients, sink: SecretSink, state: StateFile, workers: int = 8,
                 manifest: str = "") -> None:
        self.clients = clients
        self.state = state
        self.workers = workers
        self.keys = ApiKeyManager(clients, sink, state, manifest)

    @property
    def ms(self) -> Any:
        return self.clients.modelstudio()

    # -- read -----------------------------------------------------------------------------------------
    def read(self, desired: Desired) -> list[Live]:
        """ListWorkspaces once; per managed (or adopted) workspace ListModelPermissions and ListApiKeys."""
        same_manifest(self.keys.manifest, desired.manifest, "the Model Studio provider")
        specs = (*desired.present, *desired.absent)
        declared = {s.workspace for s in specs if isinstance(s, WorkspaceSpec)}
        grants: dict[str, set[str]] = defaultdict(set)
        keys: dict[str, dict[str, ApiKeySpec]] = defaultdict(dict)
        for s in desired.present:
            if isinstance(s, GrantSpec):
                grants[s.workspace].add(s.model)
            elif isinstance(s, ApiKeySpec):
                keys[s.workspace][s.key_name] = s
        recorded = self.state.workspace_ids()
        managed_ids = set(recorded.values())
        by_name: dict[str, list[Any]] = defaultdict(list)
        for w in find_workspaces(self.clients):
            by_name[w.workspace_name].append(w)
        lives: list[Live] = []
        detailed: list[tuple[str, str]] = []
        for name in sorted(declared | set(recorded)):
            candidates = by_name.get(name, [])
            chosen = next((w for w in candidates if w.workspace_id in managed_ids), None) or \
                (candidates[0] if candidates else None)
            if chosen is None:
                continue
            managed = chosen.workspace_id in managed_ids
            spec = WorkspaceSpec(workspace=name, workspace_id=chosen.workspace_id)
            lives.append(Live(spec, managed=managed, cloud_id=chosen.workspace_id,
                              duplicates=len(candidates) if len(candidates) > 1 else 0))
            if managed or f"{Kind.WORKSPACE}/{name}" in desired.adopt:
                detailed.append((name, chosen.workspace_id))
        absent = {s.workspace for s in desired.absent if isinstance(s, WorkspaceSpec)}
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            children = [live for group in pool.map(
                lambda w: self._grants(w[0], w[1], grants.get(w[0], set()))
                + self.keys.read(w[0], w[1], keys.get(w[0], {})), detailed) for live in group]
            lives = list(pool.map(lambda live: replace(live, cascade=labels(self.delete_steps(
                live.spec.name, live.cloud_id))) if live.managed and live.spec.name in absent else live,
                lives))
        return lives + children

    def _grants(self, workspace: str, ws_id: str, declared: set[str]) -> list[Live]:
        """Models with inference granted. Every authorizable model granted reads as "*" (one-click OPEN)
        plus the declared models, so that undeclaring "*" plans a CLOSE rather than per-model revokes
        that OPEN would override."""
        granted = granted_models(self.clients, workspace, ws_id)
        if every_model_granted(self.clients, workspace, ws_id, granted):
            granted = [ALL_MODELS, *sorted(declared.intersection(granted))]
        return [Live(GrantSpec(workspace=workspace, model=m), managed=True) for m in granted]

    def validate(self, desired: Desired) -> list[SpecProblem]:
        """What the account says is wrong with the declared grants and API keys, before any change: models
        missing from the catalog (ListModels, paged, once) and key markers too long for a description."""
        same_manifest(self.keys.manifest, desired.manifest, "the Model Studio provider")
        uses: list[tuple[str, str, str]] = []  # (key, field, model)
        problems: list[SpecProblem] = []
        for s in desired.present:
            if isinstance(s, GrantSpec) and s.model != ALL_MODELS:
                uses.append((s.key, "model", s.model))
            elif isinstance(s, ApiKeySpec):
                uses += [(s.key, "allowed_models", m) for m in s.allowed_models or ()]
                text = self.keys.marker(s).text()
                if len(text) > API_KEY_DESCRIPTION_MAX:
                    problems.append(SpecProblem(s.key, "name", s.key_name, (
                        f"its description marker would be {len(text)} characters, over the "
                        f"{API_KEY_DESCRIPTION_MAX} a key description holds: shorten the workspace, key, "
                        "user or manifest name")))
        known = catalog_models(self.clients) if uses else set()
        problems += [SpecProblem(key, field, model, f"model {model} is not in the Model Studio catalog "
                                                    "(ListModels): check its id")
                     for key, field, model in uses if model not in known]
        return problems

    # -- execute --------------------------------------------------------------------------------------
    def execute(self, change: Change) -> str:
        """Carry out one Model Studio change (see each handler for its calls and idempotency)."""
        handlers: dict[str, Callable[[Change], str]] = {
            Kind.WORKSPACE: self._workspace, Kind.GRANT: self._grant,
            Kind.API_KEY: lambda c: self.keys.execute(c, self.workspace_id),
        }
        return handlers[change.kind](change)

    def workspace_id(self, name: str) -> str:
        """The id of a managed workspace (state file first, else an exact-name lookup)."""
        recorded = self.state.workspace_id(name)
        if recorded:
            return recorded
        found = find_workspaces(self.clients, name)
        if not found:
            raise CallError(f"{Kind.WORKSPACE}/{name}", "ListWorkspaces", "WorkspaceNotExist", 404,
                            f"no workspace named {name!r}", "re-run plan")
        return str(found[0].workspace_id)

    def _workspace(self, change: Change) -> str:
        """CreateWorkspace (id recorded at once; a retried create finds the first by exact name) /
        adopt (record the id) / DeleteWorkspace after its managed keys (gone = done; isDeleted checked)."""
        spec = change.spec_as(WorkspaceSpec)
        if change.action is Action.CREATE:
            return self._create_workspace(change.key, spec.workspace)
        ws_id = (change.live.cloud_id if change.live else "") or self.workspace_id(spec.workspace)
        if change.action is Action.DELETE:
            return self._delete_workspace(change, spec.workspace, ws_id)
        self.state.record_workspace(spec.workspace, ws_id)
        return f"adopted {change.key} ({ws_id})"

    def _create_workspace(self, key: str, name: str) -> str:
        """No ClientToken exists: look for the exact name first, and again before any retried create."""
        existing = find_workspaces(self.clients, name)
        managed = [w for w in existing if w.workspace_id == self.state.workspace_id(name)]
        if managed:
            return InSync(f"{key} already exists ({managed[0].workspace_id})")
        if existing:
            raise CallError(key, "CreateWorkspace", "WorkspaceNameExists", 409,
                            f"a workspace named {name!r} exists that provision did not create",
                            "declare adopt: true to take it over, or choose another name")
        request = ms.CreateWorkspaceRequest(workspace_name=name)
        intent = self.state.open_intent(Kind.WORKSPACE, name)  # its id is known from the answer only

        def find() -> Any:
            found = find_workspaces(self.clients, name)
            return found[0] if found else None

        created = self.clients.call(key, "CreateWorkspace",
                                    once_then_find(lambda: self.ms.create_workspace(request), find))
        after_create(Kind.WORKSPACE)
        body = getattr(created, "body", None)  # a create response, or the list item a retry found
        ws_id = str(body.workspace.workspace_id if body is not None else created.workspace_id)
        self.state.record_workspace(name, ws_id)
        self.state.close_intent(intent)
        return f"created {key} ({ws_id})"

    def delete_steps(self, name: str, ws_id: str) -> list[DeleteStep]:
        """The steps deleting a managed workspace takes, built from a fresh read (the plan shows their
        labels, apply runs them): DeleteApiKey per managed key, then DeleteWorkspace, which takes the model
        grants (named in its label) with it; isDeleted false fails the step."""
        key = f"{Kind.WORKSPACE}/{name}"
        steps = [DeleteStep(f"delete API key {marker.key_name} ({api_key.api_key_id})", partial(
            self._delete_key, key, name, marker.key_name, marker.issued_to, str(api_key.api_key_id)))
            for marker, api_key in sorted(self.keys.list_managed(name, ws_id),
                                          key=lambda found: (found[0].key_name, str(found[1].api_key_id)))]
        granted = granted_models(self.clients, name, ws_id)
        grants = f" (its model grants go with it: {', '.join(granted)})" if granted else ""
        label = f"delete workspace {ws_id}{grants}"
        return [*steps, DeleteStep(label, partial(self._delete_only_workspace, key, label, ws_id))]

    def _delete_key(self, key: str, workspace: str, name: str, issued_to: str | None,
                    api_key_id: str) -> Step:
        step = run_step(self.clients, key, f"delete API key {name}", "DeleteApiKey",
                        partial(self.ms.delete_api_key, api_key_id))
        if step.error is None:
            self.keys.forget(ApiKeySpec(workspace=workspace, key_name=name, issued_to=issued_to))
        return step

    def _delete_only_workspace(self, key: str, label: str, ws_id: str) -> Step:
        try:
            resp = self.clients.call_or_none(key, "DeleteWorkspace", lambda: self.ms.delete_workspace(
                ws_id, ms.DeleteWorkspaceRequest()))
        except CallError as err:
            return Step.failed(label, err)
        if resp is not None and resp.body.is_deleted is False:
            reasons = "; ".join(f"{r.resource_type}: {r.reason}" for r in resp.body.fail_reasons or [])
            refused = CallError(key, "DeleteWorkspace", "Workspace.NotDeleted", resp.status_code,
                                reasons or "the workspace was not deleted",
                                "remove what the workspace still holds (the reasons above) in the console")
            return Step.failed(label, refused)
        return Step(label, ALREADY_GONE if resp is None else DONE)

    def _delete_workspace(self, change: Change, name: str, ws_id: str) -> str:
        """The steps :meth:`delete_steps` builds from a fresh read, which must be those the plan showed."""
        if not any(w.workspace_id == ws_id for w in find_workspaces(self.clients, name)):
            self.state.forget_workspace(name)
            return InSync(f"{change.key} already absent")
        done = run_delete(change.key, self.delete_steps(name, ws_id), change.cascade)
        self.state.forget_workspace(name)
        return done

    def _grant(self, change: Change) -> str:
        """UpdateModelPermissions: "*" → OPEN / CLOSE; one model → KEEP with inference true / false. Both
        are idempotent. A CLOSE revokes every model: the plan grants the declared ones again, as changes
        of their own that wait for it (``GrantSpec.cleared_by``)."""
        spec = change.spec_as(GrantSpec)
        ws_id = self.workspace_id(spec.workspace)
        grant = change.action is not Action.DELETE
        if spec.model == ALL_MODELS:
            self._update(change.key, ws_id, "OPEN" if grant else "CLOSE", [])
        else:
            self._update(change.key, ws_id, "KEEP", [(spec.model, grant)])
        return f"{'granted' if grant else 'revoked'} {spec.model} in {spec.workspace}"

    def _update(self, key: str, ws_id: str, mode: str, models: list[tuple[str, bool]]) -> None:
        items = [ms.UpdateModelPermissionsRequestModels(model=m, inference=on) for m, on in models]
        request = ms.UpdateModelPermissionsRequest(workspace_id=ws_id, access_all_entities=mode,
                                                   models=items or None)
        self.clients.call(key, "UpdateModelPermissions", lambda: self.ms.update_model_permissions(request))

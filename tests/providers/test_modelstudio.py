"""The Model Studio provider against the emulator: workspaces, grants and API keys."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from alibabacloud_modelstudio20260210 import models as ms

from provision.desired.kinds import Kind
from provision.desired.resources import ALL_MODELS, ApiKeySpec, GrantSpec, WorkspaceSpec
from provision.emulator.testing import EmulatorHandle
from provision.errors import ProvisionError
from provision.providers.alibaba import CallError, Clients, Outcome
from provision.providers.alibaba.modelstudio_keys import list_api_keys
from provision.state.secrets import SecretSink
from provision.state.statefile import StateFile

from .conftest import Run

WS = WorkspaceSpec(workspace="ws-delivery")


def _workspaces(clients: Clients, name: str) -> list[Any]:
    listed = clients.modelstudio().list_workspaces(ms.ListWorkspacesRequest(workspace_name=name)).body
    return [w for w in listed.workspaces if w.workspace_name == name]


def _models(run: Run, *specs: Any) -> set[str]:
    lives = run.read(Kind.GRANT, WS, *specs)
    return {live.spec.model for live in lives.values() if isinstance(live.spec, GrantSpec)}


def test_create_records_the_id_and_a_second_create_changes_nothing(run: Run, clients: Clients,
                                                                   state: StateFile) -> None:
    first = run.create(WS)
    [ws] = _workspaces(clients, "ws-delivery")
    assert first == f"created modelstudio.workspace/ws-delivery ({ws.workspace_id})"
    assert state.workspace_id("ws-delivery") == ws.workspace_id
    assert run.create(WS) == f"modelstudio.workspace/ws-delivery already exists ({ws.workspace_id})"
    assert len(_workspaces(clients, "ws-delivery")) == 1
    live = run.read(Kind.WORKSPACE, WS)[WS.key]
    assert isinstance(live.spec, WorkspaceSpec) and live.spec.workspace_id == ws.workspace_id
    assert live.managed and live.cloud_id == ws.workspace_id


def test_names_match_exactly_despite_the_fuzzy_filter(run: Run, clients: Clients) -> None:
    clients.modelstudio().create_workspace(ms.CreateWorkspaceRequest(workspace_name="ws-delivery-old"))
    assert WS.key not in run.read(Kind.WORKSPACE, WS)
    run.create(WS)
    assert len(_workspaces(clients, "ws-delivery")) == 1


def test_a_look_alike_is_unmanaged_until_adopted(run: Run, clients: Clients, state: StateFile) -> None:
    created = clients.modelstudio().create_workspace(ms.CreateWorkspaceRequest(workspace_name="ws-delivery"))
    ws_id = created.body.workspace.workspace_id
    live = run.read(Kind.WORKSPACE, WS)[WS.key]
    assert not live.managed
    with pytest.raises(CallError, match="adopt: true"):
        run.create(WS)
    assert run.update(WS, live) == f"adopted modelstudio.workspace/ws-delivery ({ws_id})"
    assert state.workspace_id("ws-delivery") == ws_id and run.read(Kind.WORKSPACE, WS)[WS.key].managed


def test_create_under_5xx_and_throttling_makes_one_workspace(run: Run, clients: Clients,
                                                             emulator: EmulatorHandle) -> None:
    emulator.set_faults(action="CreateWorkspace", error_rate=0.5)
    emulator.set_faults(action="ListWorkspaces", throttle_rate=0.5, retry_after_ms=200)
    for name in ("ws-a", "ws-b", "ws-c"):
        run.create(WorkspaceSpec(workspace=name))
    assert sum(emulator.stats()["faults_injected"].values()) > 0
    emulator.clear_faults()
    assert [len(_workspaces(clients, n)) for n in ("ws-a", "ws-b", "ws-c")] == [1, 1, 1]


def test_grants_are_read_granted_and_revoked(run: Run) -> None:
    run.create(WS)
    plus, turbo = GrantSpec("ws-delivery", "qwen-plus"), GrantSpec("ws-delivery", "qwen-turbo")
    run.create(plus)
    run.create(plus)
    run.create(turbo)
    assert _models(run, plus, turbo) == {"qwen-plus", "qwen-turbo"}
    lives = run.read(Kind.GRANT, WS, plus, turbo)
    assert run.delete(lives[turbo.key]) == "revoked qwen-turbo in ws-delivery"
    run.delete(lives[turbo.key])
    assert _models(run, plus) == {"qwen-plus"}


def test_all_models_reads_back_as_star_and_close_revokes_every_model(run: Run) -> None:
    run.create(WS)
    star = GrantSpec("ws-delivery", ALL_MODELS)
    run.create(star)
    assert _models(run, star) == {ALL_MODELS}
    plus = GrantSpec("ws-delivery", "qwen-plus")
    lives = run.read(Kind.GRANT, WS, plus)  # the manifest now declares one model instead of "*"
    assert _models(run, plus) == {ALL_MODELS, "qwen-plus"}
    assert run.delete(lives[star.key]) == "revoked * in ws-delivery"
    # the provider grants nothing it was not asked to: the plan lists qwen-plus granted again
    # (GrantSpec.cleared_by; tests/e2e/test_drift.py)
    assert _models(run, plus) == set()
    run.create(plus)
    assert _models(run, plus) == {"qwen-plus"}


def test_api_key_value_lands_in_the_recipients_file(run: Run, sink: SecretSink) -> None:
    run.create(WS)
    spec = ApiKeySpec(workspace="ws-delivery", key_name="main", allowed_models=("qwen-turbo", "qwen-plus"),
                      ip_allow_list=("10.0.0.0/8",), disabled=False, issued_to="alice")
    message = run.create(spec)
    held = sink.api_key("alice", "ws-delivery", "main")
    assert held is not None and held[1].startswith("sk-") and held[1] not in message
    live = run.read(Kind.API_KEY, WS, spec)[spec.key]
    assert live.managed and live.cloud_id == held[0]
    assert live.spec == ApiKeySpec(
        workspace="ws-delivery", key_name="main", allowed_models=("qwen-turbo", "qwen-plus"),
        ip_allow_list=("10.0.0.0/8",), disabled=False, issued_to="alice", api_key_id=held[0],
        missing_secret=False)
    assert run.create(spec) == "modelstudio.api_key/ws-delivery/main already exists"


def test_an_unrestricted_key_reads_as_empty_restrictions(run: Run, sink: SecretSink) -> None:
    run.create(WS)
    spec = ApiKeySpec(workspace="ws-delivery", key_name="ops", allowed_models=(), ip_allow_list=())
    run.create(spec)
    live = run.read(Kind.API_KEY, WS, spec)[spec.key].spec
    assert isinstance(live, ApiKeySpec)
    assert (live.allowed_models, live.ip_allow_list, live.disabled) == ((), (), False)
    assert sink.api_key("workspace-ws-delivery", "ws-delivery", "ops") is not None


def test_api_key_update_disable_and_rotation(run: Run, sink: SecretSink) -> None:
    run.create(WS)
    spec = ApiKeySpec(workspace="ws-delivery", key_name="main", allowed_models=("qwen-plus",),
                      issued_to="alice")
    run.create(spec)
    changed = ApiKeySpec(workspace="ws-delivery", key_name="main", allowed_models=("qwen-max", "qwen-plus"),
                         disabled=True, issued_to="alice")
    live = run.read(Kind.API_KEY, WS, changed)[spec.key]
    assert run.update(changed, live) == "updated modelstudio.api_key/ws-delivery/main: access scope, disabled"
    after = run.read(Kind.API_KEY, WS, changed)[spec.key].spec
    assert isinstance(after, ApiKeySpec)
    assert after.allowed_models == ("qwen-max", "qwen-plus") and after.disabled
    key_id, old_value = sink.api_key("alice", "ws-delivery", "main") or ("", "")
    sink.forget_api_key("alice", "ws-delivery", "main")
    lost = run.read(Kind.API_KEY, WS, changed)[spec.key]
    assert isinstance(lost.spec, ApiKeySpec) and lost.spec.missing_secret
    assert run.update(changed, lost) == "modelstudio.api_key/ws-delivery/main already in sync"  # not asked
    assert sink.api_key("alice", "ws-delivery", "main") is None
    assert "rotated" in run.update(changed, lost, rotate=True)
    new_id, new_value = sink.api_key("alice", "ws-delivery", "main") or ("", "")
    assert new_id == key_id and new_value not in ("", old_value)
    assert run.read(Kind.API_KEY, WS, changed)[spec.key].spec == replace(lost.spec, missing_secret=False)


def test_api_key_delete_forgets_the_value(run: Run, sink: SecretSink) -> None:
    run.create(WS)
    spec = ApiKeySpec(workspace="ws-delivery", key_name="main", issued_to="alice")
    run.create(spec)
    live = run.read(Kind.API_KEY, WS, spec)[spec.key]
    assert run.delete(live) == "deleted modelstudio.api_key/ws-delivery/main"
    assert run.delete(live) == "deleted modelstudio.api_key/ws-delivery/main"
    assert spec.key not in run.read(Kind.API_KEY, WS, spec)
    assert sink.api_key("alice", "ws-delivery", "main") is None


def test_workspace_delete_removes_its_keys_then_the_workspace(run: Run, clients: Clients, state: StateFile,
                                                             sink: SecretSink) -> None:
    run.create(WS)
    run.create(ApiKeySpec(workspace="ws-delivery", key_name="main"))
    live = run.read(Kind.WORKSPACE, absent=(WS,))[WS.key]
    assert run.delete(live) == "deleted modelstudio.workspace/ws-delivery (removed delete API key main)"
    assert _workspaces(clients, "ws-delivery") == [] and state.workspace_id("ws-delivery") is None
    assert sink.api_key("workspace-ws-delivery", "ws-delivery", "main") is None
    assert run.delete(live) == "modelstudio.workspace/ws-delivery already absent"


def test_unmanaged_workspace_children_are_not_read(run: Run, clients: Clients,
                                                   emulator: EmulatorHandle) -> None:
    clients.modelstudio().create_workspace(ms.CreateWorkspaceRequest(workspace_name="ws-delivery"))
    emulator.clear_stats()
    assert list(run.read(Kind.WORKSPACE, WS)) == [WS.key]
    assert set(emulator.stats()["actions"]) == {"ListWorkspaces"}


def _description(clients: Clients, key_id: str) -> str:
    return str(clients.modelstudio().get_api_key(key_id).body.api_key.description)


def test_the_holder_is_read_from_the_key_not_from_the_manifest(run: Run, clients: Clients,
                                                               sink: SecretSink) -> None:
    run.create(WS)
    run.create(ApiKeySpec(workspace="ws-delivery", key_name="main", issued_to="alice"))
    key_id, _ = sink.api_key("alice", "ws-delivery", "main") or ("", "")
    assert _description(clients, key_id) == "provision:ws-delivery/main to=alice managed-by=provision"
    declared_bob = ApiKeySpec(workspace="ws-delivery", key_name="main", issued_to="bob")
    live = run.read(Kind.API_KEY, WS, declared_bob)[declared_bob.key]
    assert isinstance(live.spec, ApiKeySpec)
    assert (live.spec.issued_to, live.spec.missing_secret) == ("alice", False)


def test_a_new_holder_rewrites_the_marker_and_moves_the_value_between_files(run: Run, clients: Clients,
                                                                            sink: SecretSink) -> None:
    run.create(WS)
    run.create(ApiKeySpec(workspace="ws-delivery", key_name="main", issued_to="alice"))
    held = sink.api_key("alice", "ws-delivery", "main")
    assert held is not None
    to_bob = ApiKeySpec(workspace="ws-delivery", key_name="main", issued_to="bob")
    live = run.read(Kind.API_KEY, WS, to_bob)[to_bob.key]

    message = run.update(to_bob, live)

    assert message == ("updated modelstudio.api_key/ws-delivery/main: issued to bob (value moved to its "
                       "secrets file)")
    assert sink.api_key("bob", "ws-delivery", "main") == held and sink.api_key("alice", "ws-delivery",
                                                                               "main") is None
    assert _description(clients, held[0]) == "provision:ws-delivery/main to=bob managed-by=provision"
    after = run.read(Kind.API_KEY, WS, to_bob)[to_bob.key].spec
    assert isinstance(after, ApiKeySpec) and (after.issued_to, after.missing_secret) == ("bob", False)


def test_a_new_holder_of_a_key_the_sink_lacks_keeps_it_missing(run: Run, clients: Clients,
                                                              sink: SecretSink) -> None:
    run.create(WS)
    run.create(ApiKeySpec(workspace="ws-delivery", key_name="main", issued_to="alice"))
    sink.forget_api_key("alice", "ws-delivery", "main")
    to_bob = ApiKeySpec(workspace="ws-delivery", key_name="main", issued_to="bob")
    live = run.read(Kind.API_KEY, WS, to_bob)[to_bob.key]
    assert run.update(to_bob, live).endswith("issued to bob (the secrets sink does not hold its value)")
    after = run.read(Kind.API_KEY, WS, to_bob)[to_bob.key].spec
    assert isinstance(after, ApiKeySpec) and (after.issued_to, after.missing_secret) == ("bob", True)


def test_an_older_marker_without_a_holder_still_reads_as_managed(run: Run, clients: Clients,
                                                                 state: StateFile) -> None:
    run.create(WS)
    ws_id = state.workspace_id("ws-delivery")
    old = ms.CreateApiKeyRequest(workspace_id=ws_id, auth=ms.CreateApiKeyRequestAuth(type="All"),
                                 description="provision:ws-delivery/main managed-by=provision")
    clients.modelstudio().create_api_key(old)
    declared = ApiKeySpec(workspace="ws-delivery", key_name="main", issued_to="alice")
    live = run.read(Kind.API_KEY, WS, declared)[declared.key]
    assert live.managed and isinstance(live.spec, ApiKeySpec) and live.spec.issued_to == "alice"


def test_validate_names_models_missing_from_the_catalog(run: Run, emulator: EmulatorHandle) -> None:
    grant = GrantSpec("ws-delivery", "qwen-ultra-9000")
    key = ApiKeySpec(workspace="ws-delivery", key_name="main", allowed_models=("qwen-plus", "qwen-nope"))
    emulator.clear_stats()
    problems = run.validate(Kind.GRANT, WS, GrantSpec("ws-delivery", "qwen-plus"), grant, key,
                            GrantSpec("ws-delivery", ALL_MODELS))
    assert [(p.key, p.field, p.value) for p in problems] == [
        (grant.key, "model", "qwen-ultra-9000"), (key.key, "allowed_models", "qwen-nope")]
    assert problems[0].message == ("model qwen-ultra-9000 is not in the Model Studio catalog (ListModels): "
                                   "check its id")
    assert emulator.stats()["actions"]["ListModels"] == 1
    emulator.clear_stats()
    assert run.validate(Kind.GRANT, WS, GrantSpec("ws-delivery", ALL_MODELS)) == []
    assert "ListModels" not in emulator.stats()["actions"]  # nothing to look up: no call


def test_validate_refuses_a_marker_too_long_for_a_description(run: Run) -> None:
    key = ApiKeySpec(workspace="w" * 64, key_name="k" * 64, issued_to="u" * 64)
    assert run.validate(Kind.API_KEY, key, manifest="short") == []
    [problem] = run.validate(Kind.API_KEY, key, manifest="m" * 64)
    assert (problem.key, problem.field) == (key.key, "name")
    assert "would be 302 characters, over the 256 a key description holds" in problem.message


def test_granting_a_model_missing_from_the_catalog_says_to_fix_the_manifest(run: Run) -> None:
    run.create(WS)
    with pytest.raises(CallError, match="fix the model id in the manifest") as failed:
        run.create(GrantSpec("ws-delivery", "qwen-ultra-9000"))
    assert failed.value.outcome is Outcome.FAIL and "re-run plan" not in str(failed.value)


def _mutations(emulator: EmulatorHandle) -> list[str]:
    return [e["action"] for e in emulator.stats()["recent"]
            if e["action"].startswith(("Delete", "Detach", "Remove", "Update"))]


def test_a_workspace_delete_runs_the_steps_its_plan_listed(run: Run, clients: Clients,
                                                             emulator: EmulatorHandle) -> None:
    run.create(WS)
    run.create(GrantSpec(workspace="ws-delivery", model="qwen-plus"))
    run.create(ApiKeySpec(workspace="ws-delivery", key_name="main"))
    run.create(ApiKeySpec(workspace="ws-delivery", key_name="ci"))
    live = run.read(Kind.WORKSPACE, absent=(WS,))[WS.key]
    ids = {k.description.split()[0]: k.api_key_id
           for k in list_api_keys(clients, "ws-delivery", live.cloud_id)}
    assert live.cascade == (f"delete API key ci ({ids['provision:ws-delivery/ci']})",
                            f"delete API key main ({ids['provision:ws-delivery/main']})",
                            f"delete workspace {live.cloud_id} (its model grants go with it: qwen-plus)")
    emulator.clear_stats()
    run.delete(live)
    assert _mutations(emulator) == ["DeleteApiKey", "DeleteApiKey", "DeleteWorkspace"]


def test_a_workspace_delete_refuses_when_the_account_gives_other_steps(run: Run, clients: Clients,
                                                                        emulator: EmulatorHandle) -> None:
    run.create(WS)
    live = run.read(Kind.WORKSPACE, absent=(WS,))[WS.key]
    run.create(ApiKeySpec(workspace="ws-delivery", key_name="late"))  # after the plan
    emulator.clear_stats()
    with pytest.raises(ProvisionError, match="the account changed since the plan.*re-run plan"):
        run.delete(live)
    assert _mutations(emulator) == [] and _workspaces(clients, "ws-delivery")

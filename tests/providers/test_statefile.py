"""The state file: typed accessors, atomic JSON, round trips of applied specs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from provision.desired.resources import ApiKeySpec, EndpointSpec, UserSpec, Zone
from provision.errors import ProvisionError
from provision.providers.alibaba.membership import confirm_member
from provision.state.records import Confirmation, PendingRemoval
from provision.state.statefile import StateFile


def test_a_missing_file_is_an_empty_state(tmp_path: Path) -> None:
    state = StateFile(tmp_path / "nowhere" / "state.json")
    assert state.workspace_ids() == {} and state.confirmations() == {} and state.applied() == {}
    assert not (tmp_path / "nowhere").exists()  # reading never writes


def test_workspace_ids_survive_a_reload(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    StateFile(path).record_workspace("ws-delivery", "ws-123")
    reloaded = StateFile(path)
    assert reloaded.workspace_id("ws-delivery") == "ws-123"
    reloaded.forget_workspace("ws-delivery")
    assert StateFile(path).workspace_ids() == {}


def test_confirmations_are_typed_and_validated(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    state = StateFile(path)
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    state.confirm("ws-delivery", "alice", "guest", "ops@acme", at=when)
    assert StateFile(path).confirmations() == {
        ("ws-delivery", "alice"): Confirmation("guest", "2026-01-02T03:04:05Z", "ops@acme")}
    with pytest.raises(ProvisionError, match="role"):
        confirm_member(state, "ws-delivery", "bob", "owner", "ops")
    assert confirm_member(state, "ws-delivery", "bob", "admin", " ops ").confirmed_by == "ops"
    state.forget_confirmation("ws-delivery", "alice")
    assert StateFile(path).confirmation("ws-delivery", "alice") is None


def test_applied_specs_round_trip_with_tuples_and_zones(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    endpoint = EndpointSpec(endpoint="ep", region="cn-beijing", vpc_id="vpc-1",
                            zones=(Zone("cn-beijing-a", "vsw-a"), Zone("cn-beijing-h", "vsw-h")),
                            security_group_ids=("sg-1",), service_name="com.aliyuncs.dashscope")
    key = ApiKeySpec(workspace="ws", key_name="main", allowed_models=("qwen-plus",), ip_allow_list=(),
                     issued_to="alice")
    user = UserSpec(user="alice", display_name="Alice")
    state = StateFile(path)
    for spec in (endpoint, key, user):
        state.record_applied(spec)
    assert StateFile(path).applied() == {s.key: s for s in (endpoint, key, user)}
    state.forget_applied(user.key)
    assert set(StateFile(path).applied()) == {endpoint.key, key.key}


def test_writes_are_atomic_json_without_leftovers(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    state = StateFile(path)
    for i in range(5):
        state.record_workspace(f"ws-{i}", f"id-{i}")
    state.compact()
    assert json.loads(path.read_text())["workspace_ids"]["ws-4"] == "id-4"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_an_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("{not json")
    with pytest.raises(ProvisionError, match="state.json: unreadable state file"):
        StateFile(path)


def test_pending_removals_survive_a_reload_keep_their_first_date_and_clear(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    first, later = datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    StateFile(path).record_removal("ws-delivery", "alice", "revoked: expired", at=first)
    again = StateFile(path).record_removal("ws-delivery", "alice", "expired: later", at=later)

    assert again == PendingRemoval(since="2026-01-02T00:00:00Z", why="revoked: expired")
    assert StateFile(path).pending_removals() == {("ws-delivery", "alice"): again}
    assert StateFile(path).clear_removal("ws-delivery", "alice")
    assert not StateFile(path).clear_removal("ws-delivery", "alice")
    assert StateFile(path).pending_removal("ws-delivery", "alice") is None


def test_a_state_file_of_an_unknown_version_is_refused_not_read_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"version": 99, "workspace_ids": {"agent-delivery": "ws-1"}}))
    with pytest.raises(ProvisionError, match=r"state file version 99, but this provision reads version 1"):
        StateFile(path)
    assert json.loads(path.read_text())["workspace_ids"] == {"agent-delivery": "ws-1"}  # left as it was

"""The plan file: exact round trip, JSON safety, redaction, and the live fingerprint."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from provision.desired.huawei import IamUserSpec, ModelArtsWorkspaceSpec
from provision.desired.live import Live
from provision.desired.model import Desired
from provision.desired.resources import (
    AccessKeysSpec,
    ApiKeySpec,
    EndpointSpec,
    LoginProfileSpec,
    UserSpec,
    WorkspaceSpec,
    Zone,
)
from provision.plan.diff import Action, Change, FieldChange, Plan, diff
from provision.plan.io import live_fingerprint, plan_from_dict, plan_to_dict

ZONES = (Zone("cn-beijing-a", "vsw-a"), Zone("cn-beijing-b", "vsw-b"))


def sample_plan() -> Plan:
    endpoint = EndpointSpec("ep", "cn-beijing", "vpc-1", zones=ZONES, security_group_ids=("sg-1",))
    live_endpoint = Live(
        EndpointSpec("ep", "cn-beijing", "vpc-1", zones=ZONES[:1], endpoint_id="ep-1"), True, "ep-1"
    )
    keys = Live(AccessKeysSpec("alice", count=1, key_ids=("LTAI1",), missing_secret=("LTAI1",)), True)
    return Plan(
        changes=[
            Change("ram.user/alice", Action.CREATE, "not found", desired=UserSpec("alice", "Alice")),
            Change(keys.key, Action.UPDATE, "rotate", desired=AccessKeysSpec("alice", count=1), live=keys,
                   rotate=True),
            Change(
                endpoint.key,
                Action.UPDATE,
                "drift: zones",
                desired=endpoint,
                live=live_endpoint,
                fields=(FieldChange("zones", ZONES[:1], ZONES),),
                drift=True,
            ),
            Change(
                "ram.user/bob",
                Action.DELETE,
                "state: absent",
                desired=UserSpec("bob"),
                live=Live(UserSpec("bob"), True, "u-1"),
                cascade=("delete login profile", "delete user"),
            ),
            Change(
                "modelstudio.api_key/ws/main",
                Action.NOOP,
                "in sync",
                desired=ApiKeySpec("ws", "main", allowed_models=()),
                live=Live(ApiKeySpec("ws", "main", allowed_models=(), missing_secret=False), True, "k-1"),
            ),
        ],
        warnings=["ram.user/zed is managed by provision but not declared: not touched"],
        unmanaged=["ram.user/carol"],
        manifest="manifest.yaml",
        live_fingerprint="sha256:abc",
    )


def keys_of(data: Any) -> set[str]:
    if isinstance(data, dict):
        return set(data) | {k for v in data.values() for k in keys_of(v)}
    if isinstance(data, list):
        return {k for v in data for k in keys_of(v)}
    return set()


def test_plan_round_trips_exactly_through_json() -> None:
    plan = sample_plan()
    text = json.dumps(plan_to_dict(plan))
    assert plan_from_dict(json.loads(text)) == plan


def test_plan_file_carries_context_and_summary_counts() -> None:
    data = plan_to_dict(sample_plan())
    assert data["format_version"] == 1
    assert (data["manifest"], data["live_fingerprint"]) == ("manifest.yaml", "sha256:abc")
    assert data["summary"] == {
        "create": 1,
        "update": 2,
        "delete": 1,
        "refused": 0,
        "manual": 0,
        "drift": 1,
        "noop": 1,
    }
    change = data["changes"][2]
    assert change["fields"] == [
        {
            "field": "zones",
            "before": [{"zone_id": "cn-beijing-a", "vswitch_id": "vsw-a"}],
            "after": [
                {"zone_id": "cn-beijing-a", "vswitch_id": "vsw-a"},
                {"zone_id": "cn-beijing-b", "vswitch_id": "vsw-b"},
            ],
        }
    ]
    assert change["live"]["managed"] is True and change["live"]["cloud_id"] == "ep-1"


def test_plan_file_says_which_update_rotates_keys_whose_secret_is_lost() -> None:
    data = plan_to_dict(sample_plan())
    assert [c["key"] for c in data["changes"] if c["rotate"]] == ["ram.access_keys/alice"]
    assert data["changes"][1]["live"]["spec"]["needs_rotation"] == ["LTAI1"]


def test_no_field_name_suggesting_a_secret_is_ever_written() -> None:
    plan = sample_plan()
    profile = Live(LoginProfileSpec("bob", password_reset_required=True), True)
    plan.changes.append(Change(profile.key, Action.NOOP, "in sync", live=profile))
    data = plan_to_dict(plan)
    names = keys_of(data)
    assert not [n for n in names if any(w in n.lower() for w in ("secret", "password", "token", "value"))]
    restored = plan_from_dict(data).changes[-1].live
    assert restored is not None and restored.spec == profile.spec  # renamed on the wire, not lost


def test_a_plan_saved_with_string_pair_details_loads_them_as_typed_fields_and_never_a_secret() -> None:
    user = Live(IamUserSpec("bob"), True, "u-1")
    space = Live(ModelArtsWorkspaceSpec("ws", workspace_id="w-1", auth_type="INTERNAL"), False, "w-1")
    plan = Plan(changes=[Change(user.key, Action.NOOP, "in sync", live=user),
                         Change(space.key, Action.UPDATE, "adopt", desired=space.spec, live=space)])
    data = plan_to_dict(plan)
    old = [[["groups", "ops,dev"], ["password", "hunter2"]], [["description", "team notes"]]]
    for change, details in zip(data["changes"], old, strict=True):  # what plans saved before wrote
        assert "details" not in change["live"]
        change["live"]["details"] = details
    restored = [c.live for c in plan_from_dict(data).changes]
    assert restored[0] is not None and restored[0].spec == IamUserSpec("bob", groups=("ops", "dev"))
    assert restored[1] is not None and restored[1].spec == replace(space.spec, description="team notes")
    assert "hunter2" not in json.dumps(plan_to_dict(plan_from_dict(data)))


def test_unknown_plan_format_is_refused() -> None:
    data = plan_to_dict(sample_plan()) | {"format_version": 99}
    with pytest.raises(ValueError, match="format 99"):
        plan_from_dict(data)


def test_live_fingerprint_ignores_order_and_sees_any_change() -> None:
    a = Live(UserSpec("alice", "Alice"), True, "u-1")
    b = Live(WorkspaceSpec("ws", workspace_id="ws-1"), True, "ws-1")
    assert live_fingerprint([a, b]) == live_fingerprint([b, a])
    assert live_fingerprint([a, b]) != live_fingerprint([Live(UserSpec("alice", "Eve"), True, "u-1"), b])
    assert live_fingerprint([a]) != live_fingerprint([a, b])


def test_diff_records_the_fingerprint_of_the_live_state_it_planned_against() -> None:
    live = [Live(UserSpec("alice"), True)]
    plan = diff(Desired(present=(UserSpec("alice"),)), live, manifest="m.yaml")
    assert plan.live_fingerprint == live_fingerprint(live) and plan.manifest == "m.yaml"

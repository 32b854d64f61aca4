"""RAM rules and the seed section, checked directly against a World (no HTTP)."""

from __future__ import annotations

from typing import Any

import pytest

from provision.emulator.alibaba import ram
from provision.emulator.alibaba.ram_policies import SYSTEM_POLICIES, parse_document
from provision.emulator.alibaba.ram_seed import seed_ram
from provision.emulator.wire import CloudError, Ctx, Request
from provision.emulator.world import World

ACCOUNT = "1000000000000001"
SEEDED: dict[str, Any] = {
    "policies": [{"name": "team-read", "document": {"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": "bailiandata:Get*", "Resource": "*"}]},
        "tags": {"managed-by": "provision"}}],
    "groups": [{"name": "readers", "policies": ["AliyunRAMReadOnlyAccess"]}],
    "users": [{"name": "alice", "comments": "managed-by=provision", "groups": ["readers"],
               "policies": ["AliyunBailianFullAccess", "Custom:team-read"],
               "access_keys": [{"id": "LTAI5tAliceSeededKey0001", "secret": "alice-secret"},
                               {"active": False}],
               "login_profile": {"password_reset_required": True}, "mfa": True},
              {"name": "bob"}],
}


def seeded_world(section: dict[str, Any] | None = None, seed: str = "rules") -> World:
    world = World(seed=seed)
    world.add_account(ACCOUNT, "LTAI5tRootKey", "root-secret")
    seed_ram(world, ACCOUNT, section if section is not None else SEEDED)
    return world


def call(world: World, action: str, **query: str) -> dict[str, Any]:
    """Run one RAM handler on exactly the query the SDK would send."""
    [route] = [r for r in ram.SERVICE.routes if r.action == action]
    request = Request(method="POST", path="/", raw_target="/", query=query, form={}, headers={},
                      action=action)
    body: dict[str, Any] = route.handler(Ctx(world, ACCOUNT), request)
    return body


def test_default_seed_is_an_empty_account() -> None:
    world = seeded_world(dict(ram.SERVICE.default_seed))
    assert call(world, "ListUsers")["Users"]["User"] == []


def test_seeded_user_has_its_keys_policies_groups_profile_and_mfa() -> None:
    world = seeded_world()
    assert ram.user_exists(world, ACCOUNT, "alice") and not ram.user_exists(world, ACCOUNT, "carol")
    assert ram.user_id(world, ACCOUNT, "carol") is None
    key = world.keys["LTAI5tAliceSeededKey0001"]
    assert (key.secret, key.user_name, key.account_id, key.active) == ("alice-secret", "alice", ACCOUNT, True)
    keys = call(world, "ListAccessKeys", UserName="alice")["AccessKeys"]["AccessKey"]
    assert [k["Status"] for k in keys] == ["Active", "Inactive"]
    assert call(world, "GetLoginProfile", UserName="alice")["LoginProfile"]["PasswordResetRequired"] is True
    assert call(world, "GetUserMFAInfo", UserName="alice")["MFADevice"]["SerialNumber"].endswith("alice-mfa")
    tags = call(world, "ListTagResources", ResourceType="policy")["TagResources"]
    assert [(t["ResourceName"], t["TagKey"]) for t in tags] == [("team-read", "managed-by")]


def test_effective_documents_cover_direct_and_group_policies_once() -> None:
    world = seeded_world()
    docs = ram.effective_policy_documents(world, ACCOUNT, "alice")
    actions = [a for d in docs for s in d["Statement"] for a in
               (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])]
    assert "modelstudio:*" in actions and "bailiandata:Get*" in actions and "ram:Get*" in actions
    assert len(docs) == 3
    assert ram.effective_policy_documents(world, ACCOUNT, "bob") == []
    assert ram.effective_policy_documents(world, ACCOUNT, "nobody") == []


def test_generated_ids_are_deterministic_under_a_seed() -> None:
    def ids(seed: str) -> tuple[str, str, str]:
        world = seeded_world({"users": [{"name": "x", "access_keys": [{}]}]}, seed=seed)
        [key] = [k for k in world.keys.values() if k.user_name == "x"]
        return ram.user_id(world, ACCOUNT, "x") or "", key.access_key_id, key.secret

    assert ids("one") == ids("one")
    assert ids("one") != ids("two")


def test_rename_moves_keys_groups_and_mfa_with_the_user() -> None:
    world = seeded_world()
    call(world, "UpdateUser", UserName="alice", NewUserName="alice2")
    assert world.keys["LTAI5tAliceSeededKey0001"].user_name == "alice2"
    groups = call(world, "ListGroupsForUser", UserName="alice2")["Groups"]["Group"]
    assert [g["GroupName"] for g in groups] == ["readers"]
    assert call(world, "GetUserMFAInfo", UserName="alice2")["MFADevice"]["SerialNumber"]
    assert len(ram.effective_policy_documents(world, ACCOUNT, "alice2")) == 3


def test_tag_parameters_are_parsed_from_json_strings() -> None:
    world = seeded_world()
    call(world, "TagResources", ResourceType="policy", ResourceNames='["team-read"]',
         Tag='[{"Key":"team","Value":"ml"}]')
    rows = call(world, "ListTagResources", ResourceType="policy", Tag='[{"Key":"team"}]')["TagResources"]
    assert {(r["TagKey"], r["TagValue"]) for r in rows} == {("managed-by", "provision"), ("team", "ml")}
    with pytest.raises(CloudError) as info:
        call(world, "TagResources", ResourceType="policy", ResourceNames="team-read", Tag="[]")
    assert (info.value.code, info.value.status) == ("InvalidParameter.ResourceNames", 400)


def test_world_round_trips_through_persistence() -> None:
    world = seeded_world()
    loaded = World.load(world.dump())
    assert call(loaded, "GetUser", UserName="alice")["User"] == \
        call(world, "GetUser", UserName="alice")["User"]
    assert ram.effective_policy_documents(loaded, ACCOUNT, "alice") == \
        ram.effective_policy_documents(world, ACCOUNT, "alice")


@pytest.mark.parametrize("section", [
    {"users": [{"name": "a", "policies": ["Custom:missing"]}]},
    {"users": [{"name": "a", "unknown_field": 1}]},
    {"users": [{"name": "a", "access_keys": [{}, {}, {}]}]},
])
def test_invalid_seed_sections_fail_loudly(section: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="ram section"):
        seeded_world(section)


def test_every_system_policy_document_is_valid() -> None:
    for policy in SYSTEM_POLICIES:
        assert parse_document(policy.document_json())["Statement"], policy.name

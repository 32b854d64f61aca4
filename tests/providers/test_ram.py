"""The RAM provider against the emulator: reads normalise into specs; changes are idempotent."""

from __future__ import annotations

import json
import stat
from typing import Any

import pytest
from alibabacloud_ram20150501 import models as ram

from provision.desired.kinds import MARKER, Kind
from provision.desired.resources import AccessKeysSpec, AttachmentSpec, LoginProfileSpec, PolicySpec, UserSpec
from provision.emulator.testing import EmulatorHandle
from provision.errors import ProvisionError
from provision.plan.diff import Action, Change
from provision.providers.alibaba import CallError, Clients, Outcome
from provision.providers.alibaba.ram_policies import canonical_document
from provision.state.secrets import SecretSink

from .conftest import Run

DOC = json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sfm:List*", "Resource": "*"}]})
DOC2 = json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sfm:Get*", "Resource": "*"}]})


def _user(run: Run, name: str) -> Any:
    return run.read(Kind.USER, UserSpec(user=name)).get(f"ram.user/{name}")


def test_read_normalises_a_managed_user_and_its_children(run: Run, sink: SecretSink) -> None:
    run.create(UserSpec(user="alice", display_name="Alice", email="alice@acme.example"))
    run.create(LoginProfileSpec(user="alice", password_reset_required=False, mfa_bind_required=True))
    run.create(AccessKeysSpec(user="alice", count=2))
    run.create(AttachmentSpec(user="alice", policy="AliyunBailianDataReadOnlyAccess"))
    lives = run.read(Kind.USER, UserSpec(user="alice"))
    expected = UserSpec(user="alice", display_name="Alice", email="alice@acme.example")
    assert lives["ram.user/alice"].spec == expected
    assert lives["ram.user/alice"].managed and lives["ram.user/alice"].cloud_id
    assert lives["ram.login_profile/alice"].spec == LoginProfileSpec(
        user="alice", password_reset_required=False, mfa_bind_required=True)
    keys = lives["ram.access_keys/alice"].spec
    assert isinstance(keys, AccessKeysSpec) and keys.count == 2 and keys.missing_secret == ()
    assert set(keys.key_ids) == set(sink.access_keys("alice"))
    assert "ram.attachment/alice/System:AliyunBailianDataReadOnlyAccess" in lives


def test_unmanaged_users_are_read_only_when_named(run: Run, clients: Clients) -> None:
    clients.ram().create_user(ram.CreateUserRequest(user_name="bob", display_name="Bob"))
    clients.ram().create_user(ram.CreateUserRequest(user_name="stranger"))
    lives = run.read(Kind.USER, UserSpec(user="bob"))
    assert not lives["ram.user/bob"].managed
    assert "ram.user/stranger" not in lives


def test_create_user_twice_leaves_one_managed_user(run: Run, clients: Clients) -> None:
    spec = UserSpec(user="alice", display_name="Alice")
    assert run.create(spec) == "created ram.user/alice"
    assert run.create(spec) == "ram.user/alice already in sync"
    users = clients.ram().list_users(ram.ListUsersRequest()).body.users.user
    assert [(u.user_name, MARKER in u.comments) for u in users] == [("alice", True)]


def test_create_over_an_unmanaged_user_fails_with_the_adopt_hint(run: Run, clients: Clients) -> None:
    clients.ram().create_user(ram.CreateUserRequest(user_name="bob"))
    with pytest.raises(CallError) as caught:
        run.create(UserSpec(user="bob"))
    assert caught.value.code == "EntityAlreadyExists.User" and caught.value.outcome is Outcome.EXISTS
    assert "adopt: true" in caught.value.hint


def test_update_changes_declared_fields_and_adoption_writes_the_marker(run: Run, clients: Clients) -> None:
    clients.ram().create_user(ram.CreateUserRequest(user_name="bob", comments="legacy account"))
    live = _user(run, "bob")
    assert not live.managed
    message = run.update(UserSpec(user="bob", display_name="Bob B."), live)
    assert message == "updated ram.user/bob: display_name, adopted"
    after = _user(run, "bob")
    assert after.managed and after.spec.display_name == "Bob B."
    comments = clients.ram().get_user(ram.GetUserRequest(user_name="bob")).body.user.comments
    assert comments == f"legacy account {MARKER}"


def _full_user(run: Run, clients: Clients, name: str) -> None:
    run.create(UserSpec(user=name))
    run.create(LoginProfileSpec(user=name))
    run.create(AccessKeysSpec(user=name, count=2))
    run.create(PolicySpec(policy="delivery-read", document=DOC, description="read"))
    run.create(AttachmentSpec(user=name, policy="delivery-read", policy_type="Custom"))
    run.create(AttachmentSpec(user=name, policy="AliyunBailianDataReadOnlyAccess"))
    client = clients.ram()
    client.create_group(ram.CreateGroupRequest(group_name="devs"))
    client.add_user_to_group(ram.AddUserToGroupRequest(group_name="devs", user_name=name))
    device = client.create_virtual_mfadevice(ram.CreateVirtualMFADeviceRequest(
        virtual_mfadevice_name=f"{name}-phone")).body.virtual_mfadevice
    client.bind_mfadevice(ram.BindMFADeviceRequest(
        user_name=name, serial_number=device.serial_number, authentication_code_1="123456",
        authentication_code_2="654321"))


def test_delete_cascades_through_keys_login_policies_groups_and_mfa(run: Run, clients: Clients,
                                                                     sink: SecretSink) -> None:
    _full_user(run, clients, "carol")
    assert sink.access_keys("carol") and sink.password("carol")
    live = run.read(Kind.USER, absent=(UserSpec(user="carol"),))["ram.user/carol"]
    assert "remove from group devs" in live.cascade and live.cascade[-1] == "delete user"
    serial = next(step for step in live.cascade if step.startswith("delete MFA device ")).split()[-1]
    assert serial.endswith(":mfa/carol-phone")
    message = run.delete(live)
    assert message.startswith("deleted ram.user/carol (removed ")
    for step in ("login profile", "policy Custom:delivery-read", "group devs", "MFA device"):
        assert step in message
    client = clients.ram()
    assert [u.user_name for u in client.list_users(ram.ListUsersRequest()).body.users.user] == []
    assert client.list_virtual_mfadevices().body.virtual_mfadevices.virtual_mfadevice == []
    assert sink.access_keys("carol") == {} and sink.password("carol") is None
    assert run.delete(live) == "ram.user/carol already absent"


def test_login_profile_password_goes_to_the_sink_only(run: Run, sink: SecretSink, clients: Clients) -> None:
    run.create(UserSpec(user="dave"))
    message = run.create(LoginProfileSpec(user="dave"))
    password = sink.password("dave")
    assert password and len(password) >= 20 and password not in message
    assert message.startswith("created ram.login_profile/dave (password sha256:")
    profile = clients.ram().get_login_profile(ram.GetLoginProfileRequest(user_name="dave")).body.login_profile
    assert profile.password_reset_required and profile.mfabind_required  # secure defaults when undeclared
    run.create(LoginProfileSpec(user="dave"))  # again: the existing profile gets the new password
    assert sink.password("dave") != password
    run.update(LoginProfileSpec(user="dave", mfa_bind_required=False))
    profile = clients.ram().get_login_profile(ram.GetLoginProfileRequest(user_name="dave")).body.login_profile
    assert not profile.mfabind_required
    live = run.read(Kind.USER, UserSpec(user="dave"))["ram.login_profile/dave"]
    run.delete(live)
    run.delete(live)
    assert "ram.login_profile/dave" not in run.read(Kind.USER, UserSpec(user="dave"))
    assert sink.password("dave") is None


def test_access_keys_are_created_stored_and_authenticate(run: Run, sink: SecretSink,
                                                         clients: Clients) -> None:
    run.create(UserSpec(user="erin"))
    message = run.create(AccessKeysSpec(user="erin", count=1))
    [(key_id, secret)] = sink.access_keys("erin").items()
    assert key_id in message and secret not in message
    as_erin = clients.for_access_key(key_id, secret)
    identity = as_erin.sts().get_caller_identity().body
    assert identity.identity_type == "RAMUser" and identity.arn.endswith("user/erin")
    path = sink.directory / "erin.env"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(sink.directory.stat().st_mode) == 0o700


def test_access_key_count_converges_up_and_down(run: Run, sink: SecretSink) -> None:
    run.create(UserSpec(user="erin"))
    run.create(AccessKeysSpec(user="erin", count=1))
    first = set(sink.access_keys("erin"))
    run.update(AccessKeysSpec(user="erin", count=2))
    assert run.update(AccessKeysSpec(user="erin", count=2)) == "ram.access_keys/erin: already in sync"
    both = set(sink.access_keys("erin"))
    assert len(both) == 2 and first < both
    run.update(AccessKeysSpec(user="erin", count=1))
    keys = run.read(Kind.USER, UserSpec(user="erin"))["ram.access_keys/erin"].spec
    assert isinstance(keys, AccessKeysSpec)
    [kept] = keys.key_ids
    assert kept in both and set(sink.access_keys("erin")) == {kept}
    assert kept not in first  # the oldest went first


def test_a_key_whose_secret_is_lost_is_rotated_when_the_change_says_so(run: Run, sink: SecretSink) -> None:
    run.create(UserSpec(user="frank"))
    run.create(AccessKeysSpec(user="frank", count=2))
    lost, kept = sorted(sink.access_keys("frank"))
    sink.forget_access_key("frank", lost)
    live = run.read(Kind.USER, UserSpec(user="frank"))["ram.access_keys/frank"]
    assert isinstance(live.spec, AccessKeysSpec) and live.spec.missing_secret == (lost,)
    run.update(AccessKeysSpec(user="frank", count=2), live, rotate=True)
    after = run.read(Kind.USER, UserSpec(user="frank"))["ram.access_keys/frank"].spec
    assert isinstance(after, AccessKeysSpec)
    assert after.count == 2 and lost not in after.key_ids and kept in after.key_ids
    assert after.missing_secret == () and set(sink.access_keys("frank")) == set(after.key_ids)


def test_an_update_that_does_not_rotate_keeps_a_key_whose_secret_is_lost(run: Run, sink: SecretSink) -> None:
    run.create(UserSpec(user="gina"))
    run.create(AccessKeysSpec(user="gina", count=1))
    [lost] = sink.access_keys("gina")
    sink.forget_access_key("gina", lost)
    live = run.read(Kind.USER, UserSpec(user="gina"))["ram.access_keys/gina"]

    message = run.update(AccessKeysSpec(user="gina", count=2), live)  # a count change, no rotation

    after = run.read(Kind.USER, UserSpec(user="gina"))["ram.access_keys/gina"].spec
    assert isinstance(after, AccessKeysSpec) and after.count == 2 and lost in after.key_ids
    assert after.missing_secret == (lost,) and "deleted" not in message


def delete_outside(clients: Clients, user: str, access_key_id: str) -> None:
    """Someone deletes a key in the RAM console: provision is not told."""
    request = ram.DeleteAccessKeyRequest(user_name=user, user_access_key_id=access_key_id)
    clients.ram().delete_access_key(request)


def test_reading_a_user_reports_keys_deleted_outside_and_applying_forgets_them_and_repoints_the_pair(
        run: Run, sink: SecretSink, clients: Clients) -> None:
    run.create(UserSpec(user="hank"))
    run.create(AccessKeysSpec(user="hank", count=2))
    default = sink.read("hank")["ALIBABA_CLOUD_ACCESS_KEY_ID"]
    [other] = set(sink.access_keys("hank")) - {default}
    delete_outside(clients, "hank", default)
    before = sink.read("hank")

    lives = run.read(Kind.USER, UserSpec(user="hank"))
    live = lives["ram.access_keys/hank"].spec

    assert isinstance(live, AccessKeysSpec) and live.key_ids == (other,) and live.missing_secret == ()
    assert live.dead_in_sink == (default,)
    assert sink.read("hank") == before  # a read (a plan) changes nothing, the sink included
    run.update(AccessKeysSpec(user="hank", count=1), lives["ram.access_keys/hank"])
    entries = sink.read("hank")
    assert set(sink.access_keys("hank")) == {other}
    assert (entries["ALIBABA_CLOUD_ACCESS_KEY_ID"], entries["ALIBABA_CLOUD_ACCESS_KEY_SECRET"]) == \
        (other, sink.access_key_secret("hank", other))


def test_reconciling_keys_replaces_one_deleted_outside_and_the_default_pair_names_the_new_one(
        run: Run, sink: SecretSink, clients: Clients) -> None:
    run.create(UserSpec(user="ivy"))
    run.create(AccessKeysSpec(user="ivy", count=1))
    [gone] = sink.access_keys("ivy")
    delete_outside(clients, "ivy", gone)

    run.update(AccessKeysSpec(user="ivy", count=1))

    [new] = sink.access_keys("ivy")
    entries = sink.read("ivy")
    assert new != gone and entries["ALIBABA_CLOUD_ACCESS_KEY_ID"] == new
    assert entries["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] == sink.access_key_secret("ivy", new)
    assert not any(gone in name or gone == value for name, value in entries.items())


def test_the_access_key_limit_is_an_actionable_error(run: Run, clients: Clients) -> None:
    run.create(UserSpec(user="gina"))
    request = ram.CreateAccessKeyRequest(user_name="gina")
    for _ in range(2):
        clients.ram().create_access_key(request)
    with pytest.raises(CallError) as caught:
        clients.call("ram.access_keys/gina", "CreateAccessKey",
                     lambda: clients.ram().create_access_key(request))
    err = caught.value
    assert (err.resource, err.action, err.code, err.status) == \
        ("ram.access_keys/gina", "CreateAccessKey", "LimitExceeded.User.AccessKey", 409)
    assert "2 AccessKeys" in err.hint and "what to do:" in str(err)


def test_attach_and_detach_are_idempotent(run: Run, clients: Clients) -> None:
    run.create(UserSpec(user="hugo"))
    spec = AttachmentSpec(user="hugo", policy="AliyunBailianDataReadOnlyAccess")
    run.create(spec)
    run.create(spec)
    attached = clients.ram().list_policies_for_user(ram.ListPoliciesForUserRequest(user_name="hugo"))
    assert [p.policy_name for p in attached.body.policies.policy] == ["AliyunBailianDataReadOnlyAccess"]
    live = run.read(Kind.USER, UserSpec(user="hugo"))[spec.key]
    run.delete(live)
    run.delete(live)
    assert spec.key not in run.read(Kind.USER, UserSpec(user="hugo"))


def test_custom_policy_lifecycle(run: Run, clients: Clients) -> None:
    spec = PolicySpec(policy="delivery-read", document=canonical_document(DOC), description="read")
    assert run.create(spec) == "created ram.policy/delivery-read"
    assert run.create(spec) == "ram.policy/delivery-read already in sync"
    live = run.read(Kind.POLICY, spec)[spec.key]
    assert live.managed and live.spec == spec
    changed = PolicySpec(policy="delivery-read", document=canonical_document(DOC2), description="get")
    assert run.update(changed, live) == "updated ram.policy/delivery-read: new default version, description"
    assert run.read(Kind.POLICY, spec)[spec.key].spec == changed
    run.create(UserSpec(user="ivy"))
    run.create(AttachmentSpec(user="ivy", policy="delivery-read", policy_type="Custom"))
    assert run.delete(live) == ("deleted ram.policy/delivery-read (removed detach from user ivy; "
                                "delete version v1)")
    assert spec.key not in run.read(Kind.POLICY, spec)
    assert run.delete(live) == "ram.policy/delivery-read already absent"


def test_an_unmanaged_policy_is_read_as_such_and_adopted_by_tagging(run: Run, clients: Clients) -> None:
    clients.ram().create_policy(ram.CreatePolicyRequest(policy_name="legacy", policy_document=DOC))
    spec = PolicySpec(policy="legacy", document=canonical_document(DOC))
    live = run.read(Kind.POLICY, spec)[spec.key]
    assert isinstance(live.spec, PolicySpec)
    assert not live.managed and live.spec.document == canonical_document(DOC)
    assert "adopted" in run.update(spec, live)
    assert run.read(Kind.POLICY, spec)[spec.key].managed


def test_reading_managed_users_costs_at_most_three_calls_each(run: Run, emulator: EmulatorHandle) -> None:
    names = [f"user-{i}" for i in range(6)]
    for name in names:
        run.create(UserSpec(user=name))
        run.create(AccessKeysSpec(user=name, count=1))
        run.create(LoginProfileSpec(user=name))
    emulator.clear_stats()
    lives = run.read(Kind.USER, *(UserSpec(user=n) for n in names))
    assert len([k for k in lives if k.startswith("ram.user/")]) == len(names)
    actions = emulator.stats()["actions"]
    per_user = sum(actions.get(a, 0) for a in ("ListPoliciesForUser", "ListAccessKeys", "GetLoginProfile",
                                               "GetUser", "ListGroupsForUser", "GetUserMFAInfo"))
    assert per_user <= 3 * len(names)
    assert actions["ListUsers"] == 1
    assert sum(actions.values()) <= 3 * len(names) + 3  # + ListUsers, ListPolicies, ListTagResources


def test_messages_never_carry_secrets(run: Run, sink: SecretSink) -> None:
    messages = [run.create(UserSpec(user="jo")), run.create(LoginProfileSpec(user="jo")),
                run.create(AccessKeysSpec(user="jo", count=2))]
    live = run.read(Kind.USER, absent=(UserSpec(user="jo"),))["ram.user/jo"]
    secrets = sink.all_values()
    assert len(secrets) >= 3
    messages.append(run.delete(live))
    assert not [s for s in secrets for m in messages if s in m]


def test_delete_change_uses_the_live_spec(run: Run) -> None:
    run.create(UserSpec(user="kim"))
    live = run.read(Kind.USER, UserSpec(user="kim"))["ram.user/kim"]
    change = Change(live.key, Action.DELETE, "declared absent", live=live)
    assert run.providers[Kind.USER].execute(change) == "deleted ram.user/kim"


def test_a_custom_policy_delete_runs_the_steps_its_plan_listed(run: Run, clients: Clients,
                                                                 emulator: EmulatorHandle) -> None:
    spec = PolicySpec(policy="delivery-read", document=canonical_document(DOC), description="read")
    run.create(spec)
    live = run.read(Kind.POLICY, spec)[spec.key]
    run.update(PolicySpec(policy="delivery-read", document=canonical_document(DOC2)), live)
    for user in ("ivy", "jon"):
        run.create(UserSpec(user=user))
        run.create(AttachmentSpec(user=user, policy="delivery-read", policy_type="Custom"))
    live = run.read(Kind.POLICY, absent=(spec,))[spec.key]
    assert live.cascade == ("detach from user ivy", "detach from user jon", "delete version v1",
                            "delete policy")
    emulator.clear_stats()
    run.delete(live)
    mutations = [e["action"] for e in emulator.stats()["recent"]
                 if e["action"].startswith(("Delete", "Detach"))]
    assert mutations == ["DetachPolicyFromUser", "DetachPolicyFromUser", "DeletePolicyVersion",
                         "DeletePolicy"]
    run.create(UserSpec(user="kim"))
    run.create(spec)
    live = run.read(Kind.POLICY, absent=(spec,))[spec.key]
    run.create(AttachmentSpec(user="kim", policy="delivery-read", policy_type="Custom"))  # after the plan
    with pytest.raises(ProvisionError, match="the account changed since the plan.*re-run plan"):
        run.delete(live)
    assert run.read(Kind.POLICY, spec)[spec.key].managed

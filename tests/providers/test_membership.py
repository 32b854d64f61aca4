"""Membership: proven by the member's own probe or by a confirmation; executing yields a checklist only."""

from __future__ import annotations

import pytest

from provision.desired.kinds import Kind
from provision.desired.live import Live, Proof
from provision.desired.model import Desired
from provision.desired.resources import AccessKeysSpec, AttachmentSpec, MemberSpec, UserSpec, WorkspaceSpec
from provision.emulator.testing import EmulatorHandle
from provision.errors import ProvisionError
from provision.plan.diff import Action, Change
from provision.providers.alibaba.membership import MembershipProvider, Probe, confirm_member
from provision.state.secrets import SecretSink
from provision.state.statefile import StateFile

from .conftest import Run

MEMBER = MemberSpec(workspace="ws-delivery", user="alice", role="guest")


@pytest.fixture
def ws_id(run: Run, state: StateFile) -> str:
    """A managed workspace and a user holding an AccessKey (in the sink) and the data read-only policy."""
    run.create(WorkspaceSpec(workspace="ws-delivery"))
    run.create(UserSpec(user="alice"))
    run.create(AccessKeysSpec(user="alice", count=1))
    run.create(AttachmentSpec(user="alice", policy="AliyunBailianDataReadOnlyAccess"))
    workspace_id = state.workspace_id("ws-delivery")
    assert workspace_id
    return workspace_id


def test_a_member_is_proven_by_its_own_probe(run: Run, ws_id: str, emulator: EmulatorHandle) -> None:
    emulator.add_member(ws_id, "alice", "admin")
    live = run.read(Kind.MEMBER, MEMBER)[MEMBER.key]
    assert live.spec == MEMBER and live.managed  # the probe cannot see the role: the declared one stands
    assert live.member is not None
    assert live.member.proven_by is Proof.PROBE and "cannot tell guest from admin" in live.member.role


def _membership(run: Run) -> MembershipProvider:
    provider = run.providers[Kind.MEMBER]
    assert isinstance(provider, MembershipProvider)
    return provider


def test_a_non_member_is_not_live_even_with_a_stale_confirmation(run: Run, ws_id: str,
                                                                 state: StateFile) -> None:
    assert _membership(run).probe("ws-delivery", "alice").outcome is Probe.NOT_MEMBER
    confirm_member(state, "ws-delivery", "alice", "guest", "ops")
    assert run.read(Kind.MEMBER, MEMBER) == {}


def test_a_confirmation_proves_what_the_probe_cannot(run: Run, state: StateFile) -> None:
    run.create(WorkspaceSpec(workspace="ws-delivery"))  # alice has no AccessKey: the probe cannot run
    assert run.read(Kind.MEMBER, MEMBER) == {}
    confirm_member(state, "ws-delivery", "alice", "admin", "ops@acme")
    live = run.read(Kind.MEMBER, MEMBER)[MEMBER.key]
    assert live.spec.role == "admin"  # the planner will ask for a role change
    assert live.member is not None
    assert live.member.proven_by is Proof.CONFIRMATION and "no AccessKey of alice" in live.member.probe


def test_a_confirmed_role_wins_over_the_declared_one_when_the_probe_passes(
        run: Run, ws_id: str, state: StateFile, emulator: EmulatorHandle) -> None:
    emulator.add_member(ws_id, "alice", "admin")
    confirm_member(state, "ws-delivery", "alice", "admin", "ops")
    assert run.read(Kind.MEMBER, MEMBER)[MEMBER.key].spec.role == "admin"


def test_a_probe_without_the_data_policy_is_unknown_not_denied(run: Run, state: StateFile) -> None:
    run.create(WorkspaceSpec(workspace="ws-delivery"))
    run.create(UserSpec(user="bob"))
    run.create(AccessKeysSpec(user="bob", count=1))
    result = _membership(run).probe("ws-delivery", "bob")
    assert result.outcome is Probe.UNKNOWN and "NoPermission" in result.reason


def test_confirmed_members_no_longer_declared_are_listed_for_removal(run: Run, ws_id: str,
                                                                     state: StateFile) -> None:
    confirm_member(state, "ws-delivery", "carol", "guest", "ops")
    confirm_member(state, "ws-unknown", "dave", "guest", "ops")  # not a workspace the tool manages
    lives = run.read(Kind.MEMBER)
    assert list(lives) == ["modelstudio.member/ws-delivery/carol"]


def test_executing_a_membership_change_only_returns_the_checklist(run: Run, ws_id: str,
                                                                  emulator: EmulatorHandle) -> None:
    provider = run.providers[Kind.MEMBER]
    emulator.clear_stats()
    add = provider.execute(Change(MEMBER.key, Action.MANUAL, "manual: add", desired=MEMBER))
    assert "add RAM user alice" in add and ws_id in add and "role guest" in add
    assert "provision membership confirm" in add
    live = run.read(Kind.MEMBER, MEMBER)  # nothing proves it yet: still absent
    assert live == {}
    emulator.clear_stats()
    current = Live(MemberSpec(workspace="ws-delivery", user="alice", role="admin"), managed=True)
    change_role = provider.execute(Change(MEMBER.key, Action.MANUAL, "manual: role", desired=MEMBER,
                                          live=current))
    assert "from admin to guest" in change_role
    remove = provider.execute(Change(MEMBER.key, Action.MANUAL, "manual: remove", live=current))
    assert "remove RAM user alice" in remove
    assert emulator.stats()["total"] == 0
    with pytest.raises(ProvisionError, match="no API"):
        provider.execute(Change(MEMBER.key, Action.CREATE, "create", desired=MEMBER))


def test_an_expired_members_removal_is_recorded_and_outlives_its_keys(
        run: Run, ws_id: str, state: StateFile, sink: SecretSink, emulator: EmulatorHandle) -> None:
    emulator.add_member(ws_id, "alice", "guest")
    alice = UserSpec(user="alice", expires_at="2000-01-01T00:00:00Z")
    expired = Desired(present=(WorkspaceSpec(workspace="ws-delivery"), alice), expired=frozenset({"alice"}))

    [proven] = _membership(run).read(expired)
    for key_id in list(sink.access_keys("alice")):  # the keys are revoked: the probe cannot run any more
        sink.forget_access_key("alice", key_id)
    [pending] = _membership(run).read(expired)

    assert proven.key == pending.key == "modelstudio.member/ws-delivery/alice"
    assert proven.member is not None and proven.member.proven_by is Proof.PROBE
    assert pending.member is not None and pending.member.proven_by is Proof.PENDING
    why = "expired: alice expired at 2000-01-01T00:00:00Z; pending since "
    assert pending.member.pending.startswith(why)
    assert state.pending_removal("ws-delivery", "alice") is not None


def test_a_pending_removal_the_probe_disproves_is_cleared(run: Run, ws_id: str, state: StateFile) -> None:
    state.record_removal("ws-delivery", "alice", "revoked: test")  # alice holds a key but is no member

    lives = _membership(run).read(Desired(present=(WorkspaceSpec(workspace="ws-delivery"),)))

    assert lives == [] and state.pending_removals() == {}


def test_the_probe_overrules_an_operators_word_only_when_it_disagrees(run: Run, ws_id: str,
                                                                       emulator: EmulatorHandle) -> None:
    provider = _membership(run)
    not_member = provider.overruled("ws-delivery", "alice", member=True)
    emulator.add_member(ws_id, "alice", "guest")

    assert not_member == ("the probe with alice's AccessKey says not a member (Workspace.AccessDenied), and "
                          "the probe wins; check the console")
    assert provider.overruled("ws-delivery", "alice", member=True) is None
    still = provider.overruled("ws-delivery", "alice", member=False)
    assert still is not None
    assert still.startswith("the probe with alice's AccessKey says alice is still a member of workspace "
                            "ws-delivery")
    assert provider.overruled("ws-delivery", "bob", member=False) is None  # no key: the probe cannot tell

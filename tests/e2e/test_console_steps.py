"""Workspace membership end to end: one console step in every output, and confirmations that end.

Membership has no API: plan, apply, `membership checklist` and revoke all print the same step (what, where,
and the `membership confirm` command to run afterwards). A removal the tool asks for (a revoked, expired or
undeclared member) is kept as pending in the state file, so it outlives the keys the probe needs, until
`membership confirm --removed` records it done. Where the probe can run, it wins over the operator's word.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.e2e.conftest import Cli

pytestmark = pytest.mark.e2e

WORKSPACE = "agent-delivery"
USER = "acme-delivery"
LEAD = "acme-lead"
PAST = ("--var", "expires=2000-01-01T00:00:00Z")
FUTURE = ("--var", "expires=2999-01-01T00:00:00Z")
MEMBER = f"modelstudio.member/{WORKSPACE}/{USER}"
LEAD_MEMBER = f"modelstudio.member/{WORKSPACE}/{LEAD}"


def example(cli: Cli) -> Path:
    return cli.manifests / "example.yaml"


def confirm_command(cli: Cli, user: str, last: str, *manifest_args: str) -> str:
    manifest = " ".join([str(example(cli)), *manifest_args])
    return f"provision membership confirm -m {manifest} --workspace {WORKSPACE} --user {user} {last}"


def manual(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["key"]: c for c in plan["changes"] if c["action"] == "manual"}


def test_plan_apply_and_checklist_give_the_same_console_step_and_confirm_command(cli: Cli) -> None:
    add = "Add RAM user acme-lead to workspace agent-delivery"
    confirm = confirm_command(cli, "acme-lead", "--role admin")

    text = cli("plan", "-m", example(cli)).stdout
    markdown = cli("plan", "-m", example(cli), "--markdown").stdout
    applied = cli("apply", "-m", example(cli), "--auto-approve")
    checklist = cli("membership", "checklist", "-m", example(cli)).stdout

    assert applied.exit_code == 0, applied.stderr
    summary = applied.stdout.split("console steps left", 1)[1]
    for output in (text, markdown, summary, checklist):
        assert add in output and confirm in output, output
        assert "Permission management → Accounts → Add user → Permissions → agent-delivery → role admin" \
            in output
    assert f"{add} (id {cli.workspace_id(WORKSPACE)}) as admin" in checklist  # known once it exists


def test_confirm_removed_ends_the_console_removal_step_a_revoke_leaves(cli: Cli) -> None:
    assert cli("apply", "-m", example(cli), *FUTURE, "--auto-approve").exit_code == 0
    workspace_id = cli.workspace_id(WORKSPACE)
    cli.cloud.add_member(workspace_id, USER, "guest")  # the console step, done by an admin
    assert cli("membership", "confirm", "-m", example(cli), *FUTURE, "--workspace", WORKSPACE, "--user", USER,
               "--role", "guest").exit_code == 0
    revoked = cli("revoke", "-m", example(cli), *PAST, "--user", USER, "--auto-approve", "--json")
    assert revoked.exit_code == 0, revoked.stdout + revoked.stderr
    [step] = revoked.json()["checklist"]
    command = step.split("; then run: ", 1)[1]
    assert command == confirm_command(cli, USER, "--removed", *PAST)
    assert manual(cli("plan", "-m", example(cli), *PAST, "--json").json())[MEMBER]["desired"] is None

    cli.cloud.remove_member(workspace_id, USER)  # the console step revoke listed
    still = cli("membership", "confirm", "-m", example(cli), *FUTURE, "--workspace", WORKSPACE, "--user",
                USER, "--removed")
    removed = cli(*shlex.split(command)[1:])  # the command revoke printed, as the operator pastes it
    again = cli(*shlex.split(command)[1:])

    assert still.exit_code == 1
    assert f"{USER} is still declared a member of workspace {WORKSPACE}" in still.stderr
    assert removed.exit_code == 0, removed.stderr
    assert f"recorded: {USER} was removed from workspace {WORKSPACE}" in removed.stdout
    assert cli.state().confirmation(WORKSPACE, USER) is None
    assert MEMBER not in manual(cli("plan", "-m", example(cli), *PAST, "--json").json())
    assert USER not in cli("membership", "checklist", "-m", example(cli), *PAST).stdout
    assert again.exit_code == 0 and "nothing to drop" in again.stdout


@pytest.mark.parametrize("flags", [(), ("--role", "guest", "--removed")], ids=["neither", "both"])
def test_confirm_takes_either_a_role_or_removed(offline_cli: Cli, flags: tuple[str, ...]) -> None:
    result = offline_cli("membership", "confirm", "-m", offline_cli.manifests / "example.yaml",
                         "--workspace", WORKSPACE, "--user", USER, *flags)

    assert result.exit_code == 1
    assert "give either --role ROLE (the user is a member) or --removed" in result.stderr


def deliver_with_members(cli: Cli) -> str:
    """Apply the example (not yet expired) and do the console step for both members; the workspace id."""
    assert cli("apply", "-m", example(cli), *FUTURE, "--auto-approve").exit_code == 0
    workspace_id = cli.workspace_id(WORKSPACE)
    cli.cloud.add_member(workspace_id, USER, "guest")
    cli.cloud.add_member(workspace_id, LEAD, "admin")
    return workspace_id


def removals(cli: Cli, *manifest_args: str) -> dict[str, str]:
    """Member key → reason of every console removal the plan lists."""
    plan = cli("plan", "-m", example(cli), *manifest_args, "--json").json()
    return {key: c["reason"] for key, c in manual(plan).items() if c["desired"] is None}


def test_expired_members_the_probe_proved_get_a_removal_step_that_outlives_their_keys(cli: Cli) -> None:
    deliver_with_members(cli)  # proven by the probe only: nobody confirmed anything

    before = removals(cli, *PAST)
    applied = cli("apply", "-m", example(cli), *PAST, "--auto-approve")  # deletes their keys: no more probe
    after = removals(cli, *PAST)

    assert applied.exit_code == 0, applied.stdout + applied.stderr
    expired = f"expired: {USER} expired at 2000-01-01T00:00:00Z"
    assert set(before) == set(after) == {MEMBER, LEAD_MEMBER}
    assert before[MEMBER] == after[MEMBER] == f"manual: remove {USER} from {WORKSPACE} ({expired})"
    assert cli.state().pending_removal(WORKSPACE, USER) is not None


def test_a_revoked_member_stays_on_the_checklist_until_its_removal_is_confirmed(cli: Cli) -> None:
    workspace_id = deliver_with_members(cli)
    revoked = cli("revoke", "-m", example(cli), *PAST, "--user", USER, "--auto-approve")
    assert revoked.exit_code == 0, revoked.stdout + revoked.stderr
    pending = cli.state().pending_removal(WORKSPACE, USER)
    assert pending is not None and pending.why == "revoked: its expires_at 2000-01-01T00:00:00Z has passed"

    listed = cli("membership", "checklist", "-m", example(cli), *PAST).stdout

    assert MEMBER in removals(cli, *PAST)
    assert f"Remove RAM user {USER} from workspace {WORKSPACE} (id {workspace_id})" in listed
    assert confirm_command(cli, USER, "--removed", *PAST) in listed
    cli.cloud.remove_member(workspace_id, USER)  # the console step
    confirmed = cli("membership", "confirm", "-m", example(cli), *PAST, "--workspace", WORKSPACE, "--user",
                    USER, "--removed")
    assert confirmed.exit_code == 0, confirmed.stderr
    assert f"recorded: {USER} was removed from workspace {WORKSPACE}" in confirmed.stdout
    assert MEMBER not in removals(cli, *PAST)
    assert f"RAM user {USER} " not in cli("membership", "checklist", "-m", example(cli), *PAST).stdout
    assert cli.state().pending_removal(WORKSPACE, USER) is None


def test_confirm_says_when_the_probe_disagrees_and_the_checklist_keeps_saying_it(cli: Cli) -> None:
    assert cli("apply", "-m", example(cli), *FUTURE, "--auto-approve").exit_code == 0  # no console step done
    probe_wins = (f"the probe with {LEAD}'s AccessKey says not a member (Workspace.AccessDenied), and the "
                  "probe wins; check the console")

    confirmed = cli("membership", "confirm", "-m", example(cli), *FUTURE, "--workspace", WORKSPACE, "--user",
                    LEAD, "--role", "admin", "--by", "jane")
    listed = cli("membership", "checklist", "-m", example(cli), *FUTURE).stdout

    assert confirmed.exit_code == 0, confirmed.stderr
    assert confirmed.stdout.startswith(f"recorded: {LEAD} is admin in workspace {WORKSPACE}")
    assert confirmed.stdout.rstrip().endswith(f"; note: {probe_wins}")
    lead_step = next(item for item in listed.split("  [ ] ") if f"RAM user {LEAD} " in item)
    assert "note: confirmed as admin by jane at 2026-12-01T00:00:00Z, but " + probe_wins in lead_step


def test_confirm_removed_is_refused_while_the_probe_proves_the_user_a_member(cli: Cli) -> None:
    workspace_id = deliver_with_members(cli)
    assert LEAD_MEMBER in removals(cli, *PAST)  # expired, keys still in place: the probe still runs
    confirm = ("membership", "confirm", "-m", example(cli), *PAST, "--workspace", WORKSPACE, "--user", LEAD,
               "--removed")

    refused = cli(*confirm)
    cli.cloud.remove_member(workspace_id, LEAD)  # now really removed in the console
    accepted = cli(*confirm)

    assert refused.exit_code == 1
    assert (f"not recorded: the probe with {LEAD}'s AccessKey says {LEAD} is still a member of workspace "
            f"{WORKSPACE}") in refused.stderr
    assert "the probe wins: remove it in the console first" in refused.stderr
    assert accepted.exit_code == 0, accepted.stderr
    assert LEAD_MEMBER not in removals(cli, *PAST)

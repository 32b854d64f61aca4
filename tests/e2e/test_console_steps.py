"""Workspace membership end to end: one console step in every output, and confirmations that end.

Membership has no API: plan, apply, `membership checklist` and revoke all print the same step (what, where,
and the `membership confirm` command to run afterwards); `membership confirm --removed` drops the
confirmation of a member the operator removed in the console, so plans stop asking for the removal.
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
PAST = ("--var", "expires=2000-01-01T00:00:00Z")
FUTURE = ("--var", "expires=2999-01-01T00:00:00Z")
MEMBER = f"modelstudio.member/{WORKSPACE}/{USER}"


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

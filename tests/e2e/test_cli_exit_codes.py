"""Exit codes a CI job can trust: usage errors are 1 (2 is only "changes"), refused deletions are not
success, and Ctrl-C is 130 with everything that finished reported."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_ram20150501.models import ListUsersRequest

if TYPE_CHECKING:
    from tests.e2e.conftest import Cli

pytestmark = pytest.mark.e2e

TWO_USERS = """version: 1
name: t
cloud: {site: public, region: cn-beijing}
users:
  - name: leaver
    state: %(state)s
    protect: %(protect)s
  - name: %(other)s
"""


def two_users(cli: Cli, state: str = "present", protect: bool = False, other: str = "stayer") -> Path:
    values = {"state": state, "protect": str(protect).lower(), "other": other}
    return cli.manifest("two.yaml", TWO_USERS % values)


def users(cli: Cli) -> set[str]:
    body = RamClient(cli.cloud.sdk_config()).list_users(ListUsersRequest(max_items=1000)).body
    return {u.user_name for u in body.users.user}


# --- usage errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("args, message", [
    (["plan", "--detailed-exitcode"], "Missing option '--manifest'"),
    (["plan", "-m", "x.yaml", "--detailed-exitcode", "--bogus-flag"], "No such option: --bogus-flag"),
    (["plan", "-m", ".", "--detailed-exitcode"], "is a directory"),
    (["audit", "-m", "x.yaml", "--format", "pdf"], "'pdf' is not one of"),
    (["nosuchcommand"], "No such command"),
], ids=["missing-manifest", "unknown-flag", "directory-manifest", "bad-format", "unknown-command"])
def test_a_usage_error_exits_1_with_clicks_message(offline_cli: Cli, args: list[str], message: str) -> None:
    result = offline_cli.subprocess(*args)
    assert result.exit_code == 1, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_a_usage_error_exits_1_in_process_too(offline_cli: Cli) -> None:
    assert offline_cli("plan", "--detailed-exitcode").exit_code == 1


def test_help_still_exits_0_and_names_the_exit_codes(offline_cli: Cli) -> None:
    top = offline_cli.subprocess("--help")
    apply_help = offline_cli.subprocess("apply", "--help")
    assert top.exit_code == apply_help.exit_code == 0
    assert "Exit codes" in top.stdout and "130" in top.stdout
    assert "<bool>" not in apply_help.stdout and "<list" not in apply_help.stdout
    assert "NAME=VALUE" in apply_help.stdout


def test_json_and_markdown_together_are_refused(offline_cli: Cli) -> None:
    result = offline_cli("plan", "-m", offline_cli.manifests / "example.yaml", "--json", "--markdown")
    assert result.exit_code == 1 and "--json or --markdown, not both" in result.stderr


def test_apply_without_a_manifest_or_plan_says_what_to_give(offline_cli: Cli) -> None:
    result = offline_cli("apply", "--auto-approve")
    assert result.exit_code == 1
    assert "give the manifest (-m FILE) or a saved plan (PLAN.json) to apply" in result.stderr
    assert "not both" not in result.stderr


def test_a_manifest_given_as_the_plan_argument_hints_at_m(offline_cli: Cli) -> None:
    result = offline_cli("apply", offline_cli.manifests / "example.yaml", "--auto-approve")
    assert result.exit_code == 1 and "not a plan file" in result.stderr
    assert "provision apply -m " in result.stderr


# --- refused deletions --------------------------------------------------------------------------------------


def test_a_refused_deletion_is_a_difference_for_detailed_exitcode(cli: Cli) -> None:
    assert cli("apply", "-m", two_users(cli), "--auto-approve").exit_code == 0
    absent = two_users(cli, state="absent")

    plan = cli("plan", "-m", absent, "--detailed-exitcode")

    assert plan.exit_code == 2, plan.stdout + plan.stderr
    assert "1 refused" in plan.stdout


def test_apply_does_the_rest_then_fails_naming_the_refusal_and_the_flag(cli: Cli) -> None:
    assert cli("apply", "-m", two_users(cli), "--auto-approve").exit_code == 0
    absent = two_users(cli, state="absent", other="newcomer")

    result = cli("apply", "-m", absent, "--auto-approve")

    assert result.exit_code == 1, result.stdout + result.stderr
    assert "✓ created ram.user/newcomer" in result.stderr  # the rest was applied
    assert users(cli) >= {"leaver", "newcomer"}
    [line] = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    assert "ram.user/leaver" in line and "re-run with --allow-destroy" in line


def test_a_protected_deletion_says_to_remove_protect_first(cli: Cli) -> None:
    assert cli("apply", "-m", two_users(cli), "--auto-approve").exit_code == 0
    protected = two_users(cli, state="absent", protect=True)

    result = cli("apply", "-m", protected, "--auto-approve", "--allow-destroy", "--json")

    assert result.exit_code == 1
    summary = result.json()
    assert summary["ok"] is False and [r["key"] for r in summary["refused"]] == ["ram.user/leaver"]
    assert "remove protect: true first" in result.stderr
    assert "leaver" in users(cli)
    assert cli("plan", "-m", protected, "--allow-destroy", "--detailed-exitcode").exit_code == 2


# --- Ctrl-C -----------------------------------------------------------------------------------------------


def test_ctrl_c_during_apply_reports_every_change_that_finished(cli: Cli) -> None:
    manifest = cli.manifests / "example.yaml"
    cli.cloud.set_faults(action="CreateWorkspace", latency_ms=800)  # in flight when the signal comes
    process = subprocess.Popen([*cli.entry_point, "apply", "-m", str(manifest), "--auto-approve"],
                               cwd=cli.home, env={**os.environ, **cli.env}, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    seen = []
    for line in process.stderr:
        seen.append(line)
        if "created ram.user/" in line:
            break
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=60)
    interrupted = "".join(seen) + rest
    cli.cloud.clear_faults()

    assert process.returncode == 130, interrupted
    assert "✓ created modelstudio.workspace/agent-delivery" in interrupted  # finished after the signal
    assert "run apply again" in interrupted
    rerun = cli("apply", "-m", manifest, "--auto-approve", "--json")
    assert rerun.exit_code == 0, rerun.stderr
    reported = set(re.findall(r"^✓ \w+ (\S+) \(", interrupted, re.MULTILINE))
    redone = {row["key"] for row in rerun.json()["done"]}
    assert reported and not reported & redone  # nothing done twice: what finished was all reported
    planned = cli("plan", "-m", manifest, "--json").json()["changes"]
    assert all(c["action"] in ("no-op", "manual") for c in planned)


def test_ctrl_c_during_plan_says_nothing_was_changed(cli: Cli) -> None:
    warns = cli.manifest("warns.yaml", TWO_USERS % {"state": "present", "protect": "false", "other": "x"}
                         + "    access_keys: 1\n")  # a lint warning: printed right before the reads
    cli.cloud.set_faults(latency_ms=3000)  # every read is slow: the signal lands in one
    process = subprocess.Popen([*cli.entry_point, "plan", "-m", str(warns)], cwd=cli.home,
                               env={**os.environ, **cli.env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    assert process.stderr is not None
    assert "warning:" in process.stderr.readline()
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 130, stderr
    assert "interrupted: nothing was changed" in stderr and "apply" not in stderr

"""The CLI's failures: one actionable line naming file and line, exit 1, never a traceback."""

from __future__ import annotations

import os
import pty
import re
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_ram20150501.models import ListUsersRequest

from provision.emulator.testing import EmulatorHandle

if TYPE_CHECKING:
    from tests.e2e.conftest import Cli

pytestmark = pytest.mark.e2e

BAD = sorted((Path(__file__).resolve().parents[1] / "data" / "bad_manifests").glob("*.yaml"))
EXPECT = re.compile(r'^# expect:(?: file=(?P<file>\S+))? line=(?P<line>\S+)(?: field=(?P<field>\S+))? '
                    r'text="(?P<text>.*)"\s*$')

MINIMAL = """version: 1
name: t
cloud: {site: public, region: cn-beijing}
users:
  - name: tester
%s
"""


def users(emulator: EmulatorHandle) -> list[str]:
    body = RamClient(emulator.sdk_config()).list_users(ListUsersRequest(max_items=1000)).body
    return [u.user_name for u in body.users.user]


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_manifest_is_one_error_naming_file_line_and_field(offline_cli: Cli, path: Path) -> None:
    expect = EXPECT.match(path.read_text().splitlines()[0])
    assert expect, f"{path.name}: first line must be # expect: [file=F] line=N [field=F] text=\"...\""

    result = offline_cli("plan", "-m", path)

    assert result.exit_code == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    file = path.parent / expect["file"] if expect["file"] else path
    where = str(file) if expect["line"] == "none" else f"{file}:{expect['line']}"
    assert result.stderr.startswith(f"error: {where}"), result.stderr
    if expect["field"]:
        assert expect["field"] in result.stderr
    assert expect["text"] in result.stderr
    assert "127.0.0.1:9" not in result.stderr  # stopped before any cloud call


def test_bad_manifest_corpus_is_present() -> None:
    assert len(BAD) >= 10


def test_console_entry_point_prints_no_traceback(offline_cli: Cli) -> None:
    result = offline_cli.subprocess("plan", "-m", BAD[0])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {BAD[0]}")
    assert "Traceback" not in result.stderr + result.stdout


def test_missing_manifest_is_named(offline_cli: Cli) -> None:
    result = offline_cli("plan", "-m", offline_cli.home / "nope.yaml")
    assert result.exit_code == 1
    assert "nope.yaml" in result.stderr and "not found" in result.stderr


def test_var_without_equals_is_refused(offline_cli: Cli) -> None:
    result = offline_cli("plan", "-m", offline_cli.manifests / "example.yaml", "--var", "customer")
    assert result.exit_code == 1
    assert "--var 'customer': expected NAME=VALUE" in result.stderr


def test_lint_error_lists_file_line_and_stops_before_the_cloud(cli: Cli) -> None:
    path = cli.manifest("admin.yaml", MINIMAL % "    policies: {system: [AdministratorAccess]}")
    result = cli("plan", "-m", path)
    assert result.exit_code == 1
    assert f"{path}:6: error [LINT002]" in result.stderr
    assert cli.cloud.stats()["total"] == 0


def test_lint_warning_goes_to_stderr_before_the_plan(cli: Cli) -> None:
    path = cli.manifest("warn.yaml", MINIMAL % "    access_keys: 1")
    result = cli("plan", "-m", path)
    assert result.exit_code == 0, result.stderr
    assert "[LINT005]" in result.stderr and "LINT005" not in result.stdout


def test_wrong_secret_fails_with_a_hint_and_no_traceback(cli: Cli) -> None:
    cli.env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] = "not-the-secret"
    result = cli.subprocess("plan", "-m", cli.manifests / "example.yaml")
    assert result.exit_code == 1
    assert "SignatureDoesNotMatch" in result.stderr and "what to do" in result.stderr
    assert "Traceback" not in result.stderr
    assert "not-the-secret" not in result.stdout + result.stderr


def test_apply_needs_a_manifest_or_a_plan_but_not_both(offline_cli: Cli) -> None:
    neither = offline_cli("apply", "--auto-approve")
    both = offline_cli("apply", offline_cli.home / "plan.json", "-m", offline_cli.manifests / "example.yaml",
                       "--auto-approve")
    assert neither.exit_code == both.exit_code == 1
    assert "give the manifest (-m FILE) or a saved plan (PLAN.json) to apply" in neither.stderr
    assert "give a manifest (-m FILE) or a saved plan (PLAN.json), not both" in both.stderr


def test_a_saved_plan_takes_no_manifest_options(offline_cli: Cli) -> None:
    result = offline_cli("apply", offline_cli.home / "plan.json", "--allow-destroy", "--auto-approve")
    assert result.exit_code == 1
    assert "carries its own manifest, variables and --allow-destroy" in result.stderr


def test_apply_of_a_file_that_is_not_a_plan_is_refused(offline_cli: Cli) -> None:
    garbage = offline_cli.manifest("plan.json", "{\"hello\": 1}")
    result = offline_cli("apply", garbage, "--auto-approve")
    assert result.exit_code == 1
    assert "not a plan file" in result.stderr
    missing = offline_cli("apply", offline_cli.home / "missing.json", "--auto-approve")
    assert missing.exit_code == 1 and "plan file not found" in missing.stderr


def test_apply_without_a_terminal_or_auto_approve_changes_nothing(cli: Cli) -> None:
    result = cli("apply", "-m", cli.manifests / "example.yaml")
    assert result.exit_code == 1
    assert "stdin is not a terminal" in result.stderr and "--auto-approve" in result.stderr
    assert users(cli.cloud) == []


def run_on_terminal(cli: Cli, args: list[str], answer: str) -> tuple[int, str]:
    """Run the CLI with a pseudo-terminal as stdin, type ``answer``, return exit code and stderr."""
    controller, terminal = pty.openpty()
    try:
        proc = subprocess.Popen([*cli.entry_point, *args],
                                stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, **cli.env}, cwd=cli.home)
        os.write(controller, answer.encode())
        _, stderr = proc.communicate(timeout=120)
    finally:
        os.close(controller)
        os.close(terminal)
    return proc.returncode, stderr


def test_apply_asks_on_a_terminal_and_no_changes_nothing(cli: Cli) -> None:
    path = cli.manifest("one.yaml", MINIMAL % "    display_name: Tester")
    code, stderr = run_on_terminal(cli, ["apply", "-m", str(path)], "n\n")
    assert code == 1
    assert "apply these 1 changes? [y/N]" in stderr and "apply cancelled" in stderr
    assert users(cli.cloud) == []


def test_apply_asks_on_a_terminal_and_yes_applies(cli: Cli) -> None:
    path = cli.manifest("one.yaml", MINIMAL % "    display_name: Tester")
    code, stderr = run_on_terminal(cli, ["apply", "-m", str(path)], "y\n")
    assert code == 0, stderr
    assert "✓ created ram.user/tester" in stderr
    assert users(cli.cloud) == ["tester"]


HUAWEI_CLOUD = "cloud: {provider: huaweicloud, region: cn-southwest-2}"
# provider → its cloud line, and the variables of its secrets: the credential chain's and the sink's
CREDENTIALS = {"alibaba": ("cloud: {site: public, region: cn-beijing}", ["ALIBABA_CLOUD_ACCESS_KEY_SECRET"]),
               "huawei": (HUAWEI_CLOUD, ["HUAWEICLOUD_SDK_SK", "HUAWEICLOUD_CONSOLE_PASSWORD",
                                         "MAAS_API_KEY_AGENT_DELIVERY_MAIN"])}
ENV_LEAKS = [(p, v) for p, (_, variables) in CREDENTIALS.items() for v in variables]


@pytest.mark.parametrize("output", ["--markdown", "--json"])
@pytest.mark.parametrize(("provider", "variable"), ENV_LEAKS, ids=[v for _, v in ENV_LEAKS])
def test_a_credential_read_through_env_never_reaches_a_plan(offline_cli: Cli, output: str, provider: str,
                                                            variable: str) -> None:
    secret = "Hx9-credential-secret-value"
    offline_cli.env[variable] = secret
    line = f'    display_name: {{{{ env("{variable}") }}}}'
    text = (MINIMAL % line).replace(CREDENTIALS["alibaba"][0], CREDENTIALS[provider][0])
    path = offline_cli.manifest("leak.yaml", text)
    result = offline_cli("plan", "-m", path, output)
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith(f"error: {path}:6: ")
    assert f"{variable} is a credential variable" in result.stderr
    assert secret not in result.stdout + result.stderr


@pytest.mark.parametrize("output", ["--markdown", "--json"])
def test_a_secret_passed_as_a_variable_never_reaches_a_plan(offline_cli: Cli, output: str) -> None:
    secret = "Hx9-credential-secret-value"
    offline_cli.env["DASHSCOPE_API_KEY"] = secret
    path = offline_cli.manifest("leak.yaml", MINIMAL % "    display_name: {{ shown }}")
    result = offline_cli("plan", "-m", path, "--var", f"shown={secret}", output)
    assert result.exit_code == 1 and result.stdout == ""
    assert "holds the value of the environment variable DASHSCOPE_API_KEY" in result.stderr
    assert secret not in result.stdout + result.stderr


@pytest.mark.parametrize("name", ["yaml_python_object_apply", "yaml_alias_bomb", "yaml_nesting_5000",
                                  "jinja_nested_range_loops"])
def test_hostile_manifests_fail_through_the_entry_point_without_a_traceback(offline_cli: Cli,
                                                                           name: str) -> None:
    path = BAD[0].parent / f"{name}.yaml"
    expect = EXPECT.match(path.read_text().splitlines()[0])
    assert expect
    result = offline_cli.subprocess("plan", "-m", path)
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith(f"error: {path}:{expect['line']}: ") and expect["text"] in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr) < 1000

"""Where the CLI writes: the secrets sink loads in a shell, an unwritable sink or state dir stops apply
before any cloud call, an unwritable --out is one error line, and a missing credential is one error."""

from __future__ import annotations

import os
import subprocess
from typing import TYPE_CHECKING

import pytest

from provision.state.secrets import SecretSink

if TYPE_CHECKING:
    from tests.e2e.conftest import Cli

pytestmark = pytest.mark.e2e


def creates(cli: Cli) -> dict[str, int]:
    return {a: n for a, n in cli.cloud.stats()["actions"].items() if a.startswith(("Create", "Add"))}


def test_every_env_file_apply_writes_loads_in_bash_as_the_sink_reads_it(cli: Cli) -> None:
    assert cli("apply", "-m", cli.manifests / "example.yaml", "--auto-approve").exit_code == 0
    sink = SecretSink(cli.secrets_dir)
    files = sorted(cli.secrets_dir.glob("*.env"))
    assert len(files) >= 2

    for path in files:
        entries = sink.read(path.stem)
        script = 'set -a; . "$1"; set +a; shift; for n in "$@"; do printf "%s=%s\\0" "$n" "${!n}"; done'
        proc = subprocess.run(["bash", "-c", script, "bash", str(path), *entries], capture_output=True,
                              env={}, timeout=30)
        loaded = dict(item.split("=", 1) for item in proc.stdout.decode().split("\0") if item)
        assert (proc.returncode, proc.stderr) == (0, b""), path.name
        assert loaded == entries, path.name
    assert any("ALIBABA_CLOUD_CONSOLE_PASSWORD" in sink.read(p.stem) for p in files)


@pytest.mark.parametrize("option, setting", [("--secrets-dir", "PROVISION_SECRETS_DIR"),
                                             ("--state-dir", "PROVISION_STATE_DIR")])
def test_an_unwritable_directory_stops_apply_before_any_cloud_call(cli: Cli, option: str,
                                                                   setting: str) -> None:
    blocker = cli.home / "a-file"
    blocker.write_text("")  # tests run as root: a directory under a regular file is what cannot be made
    target = blocker / "dir"

    result = cli("apply", "-m", cli.manifests / "example.yaml", "--auto-approve", option, target)

    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ") and str(target) in line and option in line and setting in line
    assert "nothing was changed" in line
    assert cli.cloud.stats()["total"] == 0  # not even a read: nothing was created
    assert creates(cli) == {}


def test_revoke_checks_the_sink_before_touching_the_account(cli: Cli) -> None:
    blocker = cli.home / "a-file"
    blocker.write_text("")
    result = cli("revoke", "-m", cli.manifests / "example.yaml", "--user", "acme-delivery", "--auto-approve",
                 "--secrets-dir", blocker / "secrets")
    assert result.exit_code == 1 and "the secrets sink" in result.stderr
    assert cli.cloud.stats()["total"] == 0


@pytest.mark.parametrize("command", [["plan"], ["audit", "--format", "json"]], ids=["plan", "audit"])
def test_an_out_file_in_a_missing_directory_is_one_error_line(cli: Cli, command: list[str]) -> None:
    out = cli.home / "nonexistent" / "dir" / "out.json"

    result = cli.subprocess(*command, "-m", cli.manifests / "example.yaml", "--out", out)

    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert error == f"error: cannot write {out}: No such file or directory; give a path in an existing, " \
                    "writable directory"


def test_a_failing_credential_chain_prints_one_error_and_no_sdk_traceback(cli: Cli) -> None:
    env = {k: v for k, v in {**os.environ, **cli.env}.items() if not k.startswith("ALIBABA_CLOUD_ACCESS_KEY")}
    # The ECS metadata host is fixed in the SDK (100.100.100.200), so the same noisy path (a refreshing
    # provider failing, logged with a traceback) is driven through the credentials-URI provider.
    env["ALIBABA_CLOUD_CREDENTIALS_URI"] = "http://127.0.0.1:9/credentials"  # nothing listens there
    proc = subprocess.run([*cli.entry_point, "plan", "-m", str(cli.manifests / "example.yaml")],
                          capture_output=True, text=True, env=env, cwd=cli.home, timeout=120)

    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and "Refresh credentials failed" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[0].startswith("error: ") and "InvalidCredentials" in lines[0]
    assert lines[1:] == ["  what to do: no usable credentials were found: set ALIBABA_CLOUD_ACCESS_KEY_ID / "
                         "ALIBABA_CLOUD_ACCESS_KEY_SECRET, or a profile in ~/.aliyun/config.json, for the "
                         "account and site (public or finance) you target"]

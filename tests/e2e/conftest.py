"""Run the `provision` CLI against the emulator: in-process (typer's runner) or as a real subprocess.

The ``emulator`` fixture runs on the tool's clock. The ``cli`` fixture points PROVISION_ENDPOINT and the
root AccessKey at the ``emulator`` fixture and keeps the state and secrets dirs in the test's tmp_path.
Every output it sees is kept, so a test can prove no secret from the sink ever appeared in any of them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from provision.cli.app import app
from provision.clock import now
from provision.emulator.huawei.seed import defaults as root_defaults
from provision.emulator.seed import Seed, default_seed
from provision.emulator.testing import EmulatorHandle, running_emulator
from provision.state.lock import release_all
from provision.state.secrets import SecretSink
from provision.state.statefile import StateFile

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "manifests"
ENTRY_POINT = (sys.executable, "-c", "from provision.cli.app import main; main()")  # what `provision` runs


@dataclass(frozen=True)
class Result:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass
class Cli:
    """The CLI wired to one emulator, with its own state and secrets dirs."""

    emulator: EmulatorHandle | None
    home: Path
    env: dict[str, str]
    outputs: list[str] = field(default_factory=list)  # every stdout/stderr seen, for leak checks

    entry_point = ENTRY_POINT

    @property
    def cloud(self) -> EmulatorHandle:
        """The emulator behind this CLI (``cli`` fixture only)."""
        assert self.emulator is not None, "offline_cli has no emulator"
        return self.emulator

    @property
    def manifests(self) -> Path:
        """The repository's manifests/ directory."""
        return MANIFESTS

    @property
    def state_dir(self) -> Path:
        return self.home / "state"

    @property
    def secrets_dir(self) -> Path:
        return self.home / "state" / "secrets"

    def state(self) -> StateFile:
        return StateFile(self.state_dir / "state.json")

    def secrets(self) -> list[str]:
        """Every secret value the sink holds."""
        return SecretSink(self.secrets_dir).all_values()

    def __call__(self, *args: str | Path, input: str | None = None) -> Result:
        """Run in-process (fast): ``cli("plan", "-m", path)``."""
        try:
            result = CliRunner().invoke(app, [str(a) for a in args], input=input, env=self.env,
                                        catch_exceptions=False)
        finally:
            release_all()  # as the process would at its end: a later subprocess may take the state dir
        return self._keep(Result(result.exit_code, result.stdout, result.stderr))

    def subprocess(self, *args: str | Path, input: str | None = None) -> Result:
        """Run as a real process through the console entry point (``main()``)."""
        proc = subprocess.run([*ENTRY_POINT, *map(str, args)], input=input, capture_output=True, text=True,
                              env={**os.environ, **self.env}, cwd=self.home, timeout=120)
        return self._keep(Result(proc.returncode, proc.stdout, proc.stderr))

    def _keep(self, result: Result) -> Result:
        self.outputs += [result.stdout, result.stderr]
        return result

    def manifest(self, name: str, text: str) -> Path:
        """Write a manifest into the test's directory."""
        path = self.home / name
        path.write_text(text)
        return path

    def workspace_id(self, name: str) -> str:
        workspace_id = self.state().workspace_id(name)
        assert workspace_id, f"no workspace id recorded for {name}"
        return workspace_id


def _wire(monkeypatch: pytest.MonkeyPatch, home: Path, endpoint: str, key_id: str,
          secret: str, huawei: tuple[str, str] = ("HWNOCLOUD", "none")) -> dict[str, str]:
    env = {
        "PROVISION_ENDPOINT": endpoint,
        "ALIBABA_CLOUD_ACCESS_KEY_ID": key_id,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": secret,
        "HUAWEICLOUD_SDK_AK": huawei[0],  # the SDK's own variables: the Huawei root key of the account
        "HUAWEICLOUD_SDK_SK": huawei[1],
        "PROVISION_STATE_DIR": str(home / "state"),
        "PROVISION_POLL_INTERVAL_S": "0.05",
        "NO_COLOR": "1",
    }
    for name, value in env.items():  # the in-process runner's env only covers the command itself
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(home)
    return env


@pytest.fixture
def emulator_seed() -> Seed:
    """The emulator's default seed on the tool's clock (PROVISION_NOW, set for every test): the cloud and
    the tool agree on the date, as they do for real. Override it to change the seed."""
    return default_seed(use_env=False).model_copy(update={"clock_start": now()})


@pytest.fixture
def emulator(emulator_seed: Seed) -> Iterator[EmulatorHandle]:
    """A fresh emulator started from ``emulator_seed``."""
    with running_emulator(emulator_seed) as handle:
        yield handle


@pytest.fixture
def cli(emulator: EmulatorHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    """The CLI against a fresh emulator, as its root account. Whatever a test does, no secret value the
    sink holds may appear in any output the CLI printed during it."""
    huawei = root_defaults(emulator.account_id)
    runner = Cli(emulator, tmp_path, _wire(monkeypatch, tmp_path, emulator.url, emulator.root_key_id,
                                           emulator.root_secret, (huawei["root_access_key_id"],
                                                                  huawei["root_secret_access_key"])))
    yield runner
    printed = "\n".join(runner.outputs)
    assert [s for s in runner.secrets() if s in printed] == [], "a secret from the sink was printed"


@pytest.fixture
def offline_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """The CLI with no cloud at all (the endpoint refuses connections): for failures before any call."""
    return Cli(None, tmp_path, _wire(monkeypatch, tmp_path, "http://127.0.0.1:9", "LTAI5tNoCloud", "none"))


@pytest.fixture(autouse=True)
def _give_back_state_locks() -> Iterator[None]:
    """In-process CLI runs keep their state dir's lock until the process ends: give it back per test."""
    yield
    release_all()

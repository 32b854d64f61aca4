"""A run of one cloud never loads the other cloud's code: each command of the Huawei lifecycle, and an
Alibaba plan, as a real process against the emulator, then a look at its ``sys.modules``. What both clouds
use lives in providers/common and in checks/results.py, checks/records.py and audit/common.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.e2e.conftest import Cli

pytestmark = pytest.mark.e2e

ALIBABA = ("alibabacloud_", "Tea", "darabonba", "dashscope", "provision.providers.alibaba")
HUAWEI = ("huaweicloudsdk", "provision.providers.huawei")
DELIVERED = ("--var", "expires=2999-01-01T00:00:00Z")
ACCEPTED = ("--var", "expires=2026-11-30T00:00:00Z")  # past the tests' clock: revoke is allowed

# Runs the CLI's console entry point in this process, then prints its exit code and every loaded module.
_PROBE = """
import json, sys
from provision.cli.app import main
try:
    main()
except SystemExit as done:
    code = done.code
print("\\n@@" + json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _run(cli: Cli, *args: str) -> tuple[int, list[str]]:
    """The exit code of ``provision ARGS`` run as its own process, and the modules it loaded."""
    proc = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True,
                          env={**os.environ, **cli.env}, cwd=cli.home, timeout=180)
    assert "@@" in proc.stdout, proc.stdout + proc.stderr
    found = json.loads(proc.stdout.rpartition("@@")[2])
    return int(found["code"] or 0), list(found["modules"])


def _of(modules: list[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if m.startswith(prefixes))


def test_the_huawei_lifecycle_loads_no_alibaba_module(cli: Cli) -> None:
    manifest = str(cli.manifests / "huawei.yaml")
    steps = [
        (("plan", "-m", manifest, *DELIVERED, "--detailed-exitcode"), 2),
        (("apply", "-m", manifest, *DELIVERED, "--auto-approve"), 0),
        (("verify", "-m", manifest, *DELIVERED), 0),
        (("revoke", "-m", manifest, *ACCEPTED, "--user", "acme-delivery", "--auto-approve"), 0),
        (("audit", "-m", manifest, *ACCEPTED, "--format", "json", "--out", "audit.json"), 0),
    ]
    for args, expected in steps:
        code, modules = _run(cli, *args)
        assert code == expected, f"{args[0]} exited {code}: it must have run against the emulator"
        assert _of(modules, ("huaweicloudsdkiam",)), f"{args[0]}: the probe saw no Huawei SDK load"
        assert _of(modules, ALIBABA) == [], f"provision {args[0]} of a Huawei manifest loaded Alibaba code"


def test_an_alibaba_plan_loads_no_huawei_module(cli: Cli) -> None:
    code, modules = _run(cli, "plan", "-m", str(cli.manifests / "example.yaml"), "--detailed-exitcode")
    assert code == 2, "the plan ran against the emulator and found the account to change"
    assert _of(modules, ("alibabacloud_ram",)), "the probe saw the Alibaba SDK load"
    assert _of(modules, HUAWEI) == []

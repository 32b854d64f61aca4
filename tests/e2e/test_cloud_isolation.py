"""A run of one cloud never loads the other cloud's SDKs: `provision plan` of each cloud's manifest, as a real
process against the emulator, then a look at ``sys.modules`` (providers/common is the cloud-neutral part)."""

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

ALIBABA_SDKS = ("alibabacloud_", "Tea", "darabonba")
HUAWEI_SDKS = ("huaweicloudsdk",)

# Runs the CLI's console entry point in this process, then prints every loaded module's top-level name and
# whether a provision module of either cloud's package was loaded.
_PROBE = """
import json, sys
from provision.cli.app import main
try:
    main()
except SystemExit as done:
    code = done.code
print("\\n@@" + json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _plan_modules(cli: Cli, manifest: str, *extra: str) -> tuple[int, list[str]]:
    args = ["plan", "-m", str(cli.manifests / manifest), "--detailed-exitcode", *extra]
    proc = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True,
                          env={**os.environ, **cli.env}, cwd=cli.home, timeout=120)
    assert "@@" in proc.stdout, proc.stdout + proc.stderr
    found = json.loads(proc.stdout.rpartition("@@")[2])
    return int(found["code"] or 0), list(found["modules"])


def _loaded(modules: list[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted({m for m in modules if m.split(".")[0].startswith(prefixes)})


def test_a_huawei_plan_loads_no_alibaba_module(cli: Cli) -> None:
    code, modules = _plan_modules(cli, "huawei.yaml", "--var", "expires=2999-01-01T00:00:00Z")
    assert code == 2, "the plan ran against the emulator and found the account to change"
    assert any(m.startswith("huaweicloudsdkiam") for m in modules), "the probe saw the Huawei SDK load"
    assert _loaded(modules, ALIBABA_SDKS) == []
    assert [m for m in modules if m.startswith("provision.providers.alibaba")] == []


def test_an_alibaba_plan_loads_no_huawei_module(cli: Cli) -> None:
    code, modules = _plan_modules(cli, "example.yaml")
    assert code == 2, "the plan ran against the emulator and found the account to change"
    assert any(m.startswith("alibabacloud_ram") for m in modules), "the probe saw the Alibaba SDK load"
    assert _loaded(modules, HUAWEI_SDKS) == []
    assert [m for m in modules if m.startswith("provision.providers.huawei")] == []

"""A second official client: the Node.js SDKs (@alicloud/ram20150501, sts20150401, vpc20160428) drive the
emulator, signing with ACS3-HMAC-SHA256 (their default) and with the RPC HMAC-SHA1 signature
(``signatureAlgorithm = 'v2'``): users, keys, errors and paging (``node/drive.js``).

The SDKs come from the npm registry into ``tests/emulator/node/node_modules`` (git-ignored) on first use;
the tests are skipped, saying why, when node or npm is absent or the install fails.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from provision.emulator.testing import EmulatorHandle

NODE_DIR = Path(__file__).parent / "node"
_PACKAGES = ("@alicloud/ram20150501", "@alicloud/sts20150401", "@alicloud/vpc20160428")


def _installed() -> bool:
    return all((NODE_DIR / "node_modules" / name / "package.json").exists() for name in _PACKAGES)


@pytest.fixture(scope="module")
def node() -> str:
    """The node binary, with the SDKs installed beside drive.js (one install, locked across workers)."""
    node_bin, npm_bin = shutil.which("node"), shutil.which("npm")
    if node_bin is None or npm_bin is None:
        pytest.skip("node and npm are needed to drive the emulator with the Node.js SDKs; install Node.js "
                    "(e.g. apt-get install nodejs npm) to run these tests")
    with open(NODE_DIR / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _installed():
            result = subprocess.run(
                [npm_bin, "install", "--no-audit", "--no-fund", "--no-package-lock", "--ignore-scripts"],
                cwd=NODE_DIR, capture_output=True, text=True, timeout=600, check=False)
            if result.returncode != 0 or not _installed():
                pytest.skip(f"npm install of {', '.join(_PACKAGES)} failed: {result.stderr.strip()[-400:]}")
    return node_bin


def _drive(node: str, emu: EmulatorHandle, signature: str) -> dict[str, Any]:
    env = {**os.environ, "EMU_ENDPOINT": emu.host_port, "EMU_KEY_ID": emu.root_key_id,
           "EMU_KEY_SECRET": emu.root_secret, "EMU_SIGNATURE": signature}
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env.pop(name, None)
    result = subprocess.run([node, str(NODE_DIR / "drive.js")], env=env, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    out: dict[str, Any] = json.loads(result.stdout)
    return out


@pytest.mark.parametrize("signature", ["v3", "v2"])
def test_node_sdks_manage_users_keys_pages_and_see_the_clouds_errors(node: str, emulator: EmulatorHandle,
                                                                      signature: str) -> None:
    out = _drive(node, emulator, signature)
    assert out["displayName"] == "Node n2"
    assert (out["users"], out["userPages"]) == (["n1", "n2", "n3"], 2)
    assert out["identity"] == f"acs:ram::{emulator.account_id}:user/n1"
    assert out["keys"] == [True]
    assert out["vswitches"] == {"total": 3, "page": ["vsw-2zedemo00000000i1"]}
    assert out["deletedKey"] == {"code": "InvalidAccessKeyId.NotFound", "status": 404}
    assert out["duplicate"] == {"code": "EntityAlreadyExists.User", "status": 409}
    assert out["wrongSecret"] == {"code": "SignatureDoesNotMatch", "status": 400}
    assert out["unknownKey"] == {"code": "InvalidAccessKeyId.NotFound", "status": 404}

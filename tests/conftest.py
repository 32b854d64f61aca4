"""Test-wide safety: no test can reach a real Alibaba Cloud account by accident."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from provision.clock import NOW_ENV

pytest_plugins = ["provision.emulator.testing"]

_CLOUD_VARS = ("ALIBABA_CLOUD_", "ALICLOUD_", "DASHSCOPE_", "OPENAI_", "PROVISION_", "HUAWEICLOUD_")
TEST_NOW = "2026-12-01T00:00:00Z"


@pytest.fixture(autouse=True)
def _clean_cloud_env(monkeypatch: pytest.MonkeyPatch,
                     tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Remove every cloud credential/endpoint variable and point the credential config at nothing; fix
    the tool's clock (a test may set its own PROVISION_NOW)."""
    for name in list(os.environ):
        if name.startswith(_CLOUD_VARS):
            monkeypatch.delenv(name, raising=False)
    empty_home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(empty_home))  # no ~/.aliyun/config.json
    monkeypatch.setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
    # Expiry is judged by this clock: tests must not depend on today's date (manifests expire 2027-03-31).
    monkeypatch.setenv(NOW_ENV, TEST_NOW)
    monkeypatch.delenv("COLUMNS", raising=False)  # outputs keep their piped layout (a test may set it)
    yield

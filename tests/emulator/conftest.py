"""Fixtures shared by the emulator tests."""

from __future__ import annotations

import pytest
from alibabacloud_ram20150501.client import Client as RamClient

from provision.emulator.testing import EmulatorHandle


@pytest.fixture
def ram(emulator: EmulatorHandle) -> RamClient:
    """A RAM client of the per-test emulator, signed by the default account's root key."""
    return RamClient(emulator.sdk_config())

"""The state file: the world survives a restart; reset still goes back to the seed."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.models import Config

from provision.emulator.alibaba import SERVICES
from provision.emulator.seed import (
    DEFAULT_ROOT_KEY_ID,
    DEFAULT_ROOT_SECRET,
    Seed,
    SeedAccount,
    build_world,
    default_seed,
)
from provision.emulator.server import EmulatorServer
from provision.emulator.testing import running_emulator


def test_created_user_and_key_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with running_emulator(state_file=state) as emu:
        root = RamClient(emu.sdk_config())
        request = ram_models.CreateUserRequest(user_name="dana", comments="keep me")
        created = root.create_user(request).body.user
        key = root.create_access_key(ram_models.CreateAccessKeyRequest(user_name="dana")).body.access_key
    with running_emulator(state_file=state) as emu:
        user = RamClient(emu.sdk_config()).get_user(ram_models.GetUserRequest(user_name="dana")).body.user
        assert (user.user_id, user.comments) == (created.user_id, "keep me")
        identity = StsClient(emu.sdk_config(key.access_key_id, key.access_key_secret)).get_caller_identity()
        assert identity.body.arn.endswith(":user/dana")
        emu.reset()
        with pytest.raises(ClientException) as caught:
            RamClient(emu.sdk_config()).get_user(ram_models.GetUserRequest(user_name="dana"))
        assert caught.value.code == "EntityNotExist.User"
    with running_emulator(state_file=state) as emu:  # the reset was saved too
        with pytest.raises(ClientException):
            RamClient(emu.sdk_config()).get_user(ram_models.GetUserRequest(user_name="dana"))


def test_state_is_saved_shortly_after_a_change_without_stopping(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with running_emulator(state_file=state) as emu:
        RamClient(emu.sdk_config()).create_user(ram_models.CreateUserRequest(user_name="early"))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not (state.exists() and "early" in state.read_text()):
            time.sleep(0.05)
        assert "early" in state.read_text()
        assert json.loads(state.read_text())["format"] == 1
    assert not list(tmp_path.glob("*.tmp"))


def test_fixed_clock_and_ids_are_deterministic_across_runs(tmp_path: Path) -> None:
    seed = Seed(seed="fixed", clock_start="2026-01-01T00:00:00Z",  # type: ignore[arg-type]
                accounts=[SeedAccount(account_id="1000000000000009", root_access_key_id="LTAI5tFixedKey",
                                      root_access_key_secret="fixed-secret")])

    def create() -> tuple[str, str]:
        with running_emulator(seed=seed) as emu:
            client = RamClient(emu.sdk_config())
            user = client.create_user(ram_models.CreateUserRequest(user_name="eve")).body.user
            return user.user_id, user.create_date

    first_id, first_date = create()
    assert (first_id, first_date[:10]) == (create()[0], "2026-01-01")



def _root_config(server: EmulatorServer) -> Config:
    return Config(access_key_id=DEFAULT_ROOT_KEY_ID, access_key_secret=DEFAULT_ROOT_SECRET,
                  endpoint=f"127.0.0.1:{server.port}", protocol="http")


def test_reads_do_not_rewrite_the_state_file_but_a_change_does(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    server = EmulatorServer(build_world(default_seed(use_env=False), SERVICES), state_file=state,
                            save_debounce_s=0.01)
    server.start()
    try:
        ram = RamClient(_root_config(server))
        for _ in range(3):
            StsClient(_root_config(server)).get_caller_identity()
            ram.list_users(ram_models.ListUsersRequest())
        time.sleep(0.1)  # ten debounce periods: a save would have happened by now
        assert not state.exists()
        ram.create_user(ram_models.CreateUserRequest(user_name="writer"))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not state.exists():
            time.sleep(0.01)
        assert "writer" in state.read_text()
    finally:
        server.stop()


def test_a_key_used_only_for_reads_has_its_last_use_saved_at_stop(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with running_emulator(state_file=state) as emu:
        root = RamClient(emu.sdk_config())
        root.create_user(ram_models.CreateUserRequest(user_name="reader"))
        key = root.create_access_key(ram_models.CreateAccessKeyRequest(user_name="reader")).body.access_key
        emu.server.save()  # the file holds the key, not yet used
        StsClient(emu.sdk_config(key.access_key_id, key.access_key_secret)).get_caller_identity()
    saved = {k["access_key_id"]: k for k in json.loads(state.read_text())["keys"]}
    assert saved[key.access_key_id]["last_used"] is not None
    assert saved[key.access_key_id]["last_used_service"] == "sts"

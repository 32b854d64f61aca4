"""The seed: which accounts, keys and per-service starting state the emulator begins with.

A seed file is YAML or JSON::

    seed: demo                      # makes generated ids and secrets deterministic
    clock_start: 2026-01-01T00:00:00Z   # optional; default: real time
    default_region: cn-beijing
    async_delay_s: 0.3              # how long asynchronous resources stay in a transitional state
    accounts:
      - account_id: "1000000000000001"
        alias: provision-demo
        root_access_key_id: LTAI5tEmulatorRootKey01
        root_access_key_secret: emulator-root-secret-not-a-real-key
        ram: {...}                  # optional section per service (by Service.name)

:func:`build_world` turns a seed into a :class:`World`; each service loads its own section.
"""

from __future__ import annotations

import copy
import io
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from ruamel.yaml import YAML

from provision.emulator.wire import Service
from provision.emulator.world import World

DEFAULT_ACCOUNT_ID = "1000000000000001"
DEFAULT_ROOT_KEY_ID = "LTAI5tEmulatorRootKey01"
DEFAULT_ROOT_SECRET = "emulator-root-secret-not-a-real-key"  # noqa: S105 - documented emulator default
OTHER_ACCOUNT_ID = "1000000000000002"
OTHER_ROOT_KEY_ID = "LTAI5tEmulatorRootKey02"
OTHER_ROOT_SECRET = "emulator-root-secret-2-not-a-real-key"  # noqa: S105 - documented emulator default


class SeedAccount(BaseModel):
    """One account of the seed; any extra key is a service section named after ``Service.name``."""

    model_config = ConfigDict(extra="allow")

    account_id: str = Field(pattern=r"^\d{16}$")
    alias: str = ""
    root_access_key_id: str = Field(min_length=1)
    root_access_key_secret: str = Field(min_length=1, repr=False)

    def sections(self) -> dict[str, Any]:
        """The service sections given for this account."""
        return dict(self.model_extra or {})


class Seed(BaseModel):
    """The whole seed file."""

    model_config = ConfigDict(extra="forbid")

    seed: str = "provision-emulator"
    clock_start: AwareDatetime | None = None
    default_region: str = "cn-beijing"
    async_delay_s: float = Field(default=0.3, ge=0)
    accounts: list[SeedAccount] = Field(min_length=1)


def default_seed(use_env: bool = True) -> Seed:
    """The built-in seed: the demo account and a second account for cross-account isolation tests.

    With ``use_env`` the demo root key comes from ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET when both are set,
    and its Huawei root key from HUAWEICLOUD_SDK_AK/_SK (the Huawei SDK's own variables) when both are set.
    """
    env_id = os.environ.get("ALIBABA_CLOUD_ACCESS_KEY_ID") if use_env else None
    env_secret = os.environ.get("ALIBABA_CLOUD_ACCESS_KEY_SECRET") if use_env else None
    key_id, secret = (env_id, env_secret) if env_id and env_secret else (DEFAULT_ROOT_KEY_ID,
                                                                         DEFAULT_ROOT_SECRET)
    hw_ak = os.environ.get("HUAWEICLOUD_SDK_AK") if use_env else None
    hw_sk = os.environ.get("HUAWEICLOUD_SDK_SK") if use_env else None
    huawei = ({"huawei": {"root_access_key_id": hw_ak, "root_secret_access_key": hw_sk}}
              if hw_ak and hw_sk else {})
    return Seed(accounts=[
        SeedAccount(account_id=DEFAULT_ACCOUNT_ID, alias="provision-demo",
                    root_access_key_id=key_id, root_access_key_secret=secret, **huawei),
        SeedAccount(account_id=OTHER_ACCOUNT_ID, alias="provision-other",
                    root_access_key_id=OTHER_ROOT_KEY_ID, root_access_key_secret=OTHER_ROOT_SECRET),
    ])


def load_seed(path: Path) -> Seed:
    """Read a YAML or JSON seed file (JSON is YAML, so one parser reads both)."""
    text = path.read_text(encoding="utf-8")
    data = json.loads(text) if path.suffix == ".json" else YAML(typ="safe").load(io.StringIO(text))
    return Seed.model_validate(data or {})


def build_world(seed: Seed, services: Sequence[Service]) -> World:
    """A fresh world holding the seed's accounts, each service seeded from its section or its default."""
    known = {service.name for service in services}
    world = World(seed=seed.seed, clock_start=seed.clock_start, default_region=seed.default_region)
    world.settings["async_delay_s"] = seed.async_delay_s
    for account in seed.accounts:
        unknown = set(account.sections()) - known
        if unknown:
            raise ValueError(f"seed account {account.account_id}: unknown service section(s) "
                             f"{sorted(unknown)}; known: {sorted(known)}")
        world.add_account(account.account_id, account.root_access_key_id,
                          account.root_access_key_secret, alias=account.alias)
    for account in seed.accounts:
        sections = account.sections()
        for service in services:
            section = sections.get(service.name)
            if section is not None and not isinstance(section, dict):
                raise ValueError(f"seed account {account.account_id}: section {service.name} "
                                 "must be a mapping")
            if service.seed is not None:
                service.seed(world, account.account_id,
                             copy.deepcopy(service.default_seed if section is None else section))
    return world

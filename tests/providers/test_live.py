"""read_live: every provider's read, concurrently and bounded, in a stable order."""

from __future__ import annotations

import threading
import time

from provision.desired.kinds import Kind
from provision.desired.live import Live
from provision.desired.model import Desired
from provision.desired.resources import (
    AccessKeysSpec,
    ApiKeySpec,
    EndpointSpec,
    GrantSpec,
    UserSpec,
    WorkspaceSpec,
    Zone,
)
from provision.emulator.testing import EmulatorHandle
from provision.engine.live import read_live
from provision.plan.diff import Change
from provision.providers.alibaba import Provider

from .conftest import Run


def test_read_live_collects_every_kind_from_the_emulator(run: Run, emulator: EmulatorHandle) -> None:
    specs = (
        UserSpec(user="alice"), AccessKeysSpec(user="alice", count=1), WorkspaceSpec(workspace="ws"),
        GrantSpec(workspace="ws", model="qwen-plus"), ApiKeySpec(workspace="ws", key_name="main"),
        EndpointSpec(endpoint="ep", region="cn-beijing", vpc_id="vpc-2zedemo0000000001",
                     zones=(Zone("cn-beijing-a", "vsw-2zedemo00000000a1"),
                            Zone("cn-beijing-h", "vsw-2zedemo00000000h1")),
                     security_group_ids=("sg-2zedemo0000000001",), service_name="com.aliyuncs.dashscope"),
    )
    for spec in specs:
        run.create(spec)
    lives = read_live(run.providers, Desired(present=specs))
    assert {spec.key for spec in specs} <= {live.key for live in lives}
    assert len({live.key for live in lives}) == len(lives)  # each provider read once, not once per kind


class _Slow:
    """A stand-in provider (not an SDK client) that records how many reads overlap."""

    active = 0
    peak = 0
    lock = threading.Lock()

    def __init__(self, kind: Kind) -> None:
        self.kinds: tuple[Kind, ...] = (kind,)

    def read(self, desired: Desired) -> list[Live]:
        with _Slow.lock:
            _Slow.active += 1
            _Slow.peak = max(_Slow.peak, _Slow.active)
        time.sleep(0.05)
        with _Slow.lock:
            _Slow.active -= 1
        return [Live(UserSpec(user=str(self.kinds[0])), managed=True)]

    def execute(self, change: Change) -> str:
        return ""


def test_reads_run_concurrently_within_the_bound() -> None:
    providers: dict[Kind, Provider] = {kind: _Slow(kind) for kind in list(Kind)[:6]}
    lives = read_live(providers, Desired(), max_workers=3)
    assert [live.spec.name for live in lives] == [str(kind) for kind in list(Kind)[:6]]  # stable order
    assert _Slow.peak == 3

"""Benchmark (not a test): where a no-op plan's CPU goes: the SDK's request path, the tool, the emulator.

    .venv/bin/python bench/cpu_split.py [--users 500] [--latency-ms 0,20]

Seeds the account (harness.seeded_account, the emulator in its own process), then runs the plan here,
in-process, timing the CPU of every thread: the CPU spent inside the SDK's ``call_api`` (signing, the
request through requests/urllib3, reading the answer: what one call costs the client whatever calls it),
the rest of the plan (the tool's own work: reads turned into live resources, the diff, threads), and the
emulator process's CPU over the same plan. Past start-up and manifest load, which ``scale.py`` and
``manifest_load.py`` measure. Prints, per latency, one line; asserts nothing.

Why it matters: with W calls in flight and L of latency, the cloud allows one call every L ÷ W seconds
(the bound of ``scale.py``); a client whose CPU per call is above that cannot reach the bound, whatever
its code does, while its calls run under one interpreter lock.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import Size, cli_env, emulator_cpu, seeded_account  # noqa: E402


class SdkClock:
    """CPU seconds (of the calling thread) spent inside the SDK's ``call_api``, and the calls made."""

    def __init__(self) -> None:
        self.cpu = 0.0
        self.calls = 0
        self._lock = threading.Lock()

    def install(self) -> None:
        from alibabacloud_tea_openapi.client import Client

        original: Callable[..., Any] = Client.call_api
        clock = self

        def call_api(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                spent = time.thread_time() - started
                with clock._lock:
                    clock.cpu += spent
                    clock.calls += 1

        Client.call_api = call_api  # type: ignore[method-assign]

    def reset(self) -> None:
        with self._lock:
            self.cpu, self.calls = 0.0, 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--latency-ms", default="0,20")
    args = parser.parse_args()
    size = Size(args.users)
    sdk = SdkClock()
    with seeded_account(size) as (emu, home, manifest):
        os.environ.update(cli_env(emu, home))
        os.chdir(home)
        from provision.clock import now
        from provision.engine.flow import Context, make_plan, prepare
        from provision.providers.alibaba.base import PRODUCTS
        from provision.providers.alibaba.governor import Workers

        sdk.install()
        workers = Workers.from_env(PRODUCTS).of("ram")
        prepared = prepare(manifest, now=now())
        make_plan(prepared, Context.build(prepared.manifest))  # warm: SDK modules imported, clients built
        print(f"a no-op plan of {size.label()} ({size.resources} managed resources), in-process, "
              f"{workers} workers per service (load average {os.getloadavg()[0]:.1f})", flush=True)
        for latency_ms in (int(n) for n in args.latency_ms.split(",")):
            emu.set_faults(latency_ms=latency_ms)
            context = Context.build(prepared.manifest)
            sdk.reset()
            emulator_before = emulator_cpu(emu)
            wall, cpu = time.perf_counter(), time.process_time()
            make_plan(prepared, context)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            emulated = emulator_cpu(emu) - emulator_before
            calls = max(1, sdk.calls)
            tool = cpu - sdk.cpu
            slot = latency_ms / workers
            floor = (f"; the cloud allows a call every {slot:.2f} ms ({latency_ms} ms ÷ {workers}): the "
                     f"client's CPU per call is {cpu / calls * 1000 / slot:.2f}× that" if latency_ms else "")
            print(f"  {latency_ms:>3} ms per call: {sdk.calls} calls, wall {wall:.2f} s, client CPU "
                  f"{cpu:.2f} s = {cpu / calls * 1000:.2f} ms/call: the SDK's request path "
                  f"{sdk.cpu / calls * 1000:.2f} ms/call ({sdk.cpu / cpu:.0%}), the tool "
                  f"{tool / size.resources * 1000:.2f} ms per managed resource; the emulator "
                  f"{emulated / calls * 1000:.2f} ms/call{floor}", flush=True)


if __name__ == "__main__":
    main()

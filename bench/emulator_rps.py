"""Benchmark (not a test): requests per second the emulator serves to N concurrent SDK clients.

    .venv/bin/python bench/emulator_rps.py [--calls 3000] [--threads 1,8,32]

Starts the emulator in a process of its own (as the other benchmarks do) with no injected latency, then
for each thread count makes ``--calls`` calls in total, alternating STS GetCallerIdentity and RAM GetUser,
one SDK client per thread. Prints one line per thread count; asserts nothing. The emulator is the
bottleneck of a benchmark when its rate here, at that benchmark's worker count, is near the benchmark's
calls per second (printed by scale.py).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_sts20150401.client import Client as StsClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import emulator_process  # noqa: E402

from provision.emulator.testing import EmulatorHandle  # noqa: E402


def run(emu: EmulatorHandle, threads: int, calls: int) -> tuple[float, int]:
    """(seconds, failures) for ``calls`` calls spread over ``threads`` threads."""
    per_thread = calls // threads
    failures: list[int] = []
    barrier = threading.Barrier(threads + 1)

    def worker() -> None:
        sts, ram = StsClient(emu.sdk_config()), RamClient(emu.sdk_config())
        request = ram_models.GetUserRequest(user_name="bench")
        barrier.wait()
        failed = 0
        for i in range(per_thread):
            try:
                sts.get_caller_identity() if i % 2 else ram.get_user(request)
            except Exception:
                failed += 1
        failures.append(failed)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in pool:
        thread.join()
    return time.perf_counter() - started, sum(failures)


def main() -> None:
    """Parse arguments, run each thread count, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--threads", default="1,8,32")
    parser.add_argument("--latency-ms", type=int, default=0,
                        help="injected on every call: then each line's bound is calls × latency ÷ threads")
    args = parser.parse_args()
    with emulator_process() as emu:
        RamClient(emu.sdk_config()).create_user(ram_models.CreateUserRequest(user_name="bench"))
        run(emu, 1, 50)  # warm up connection pools and imports
        emu.set_faults(latency_ms=args.latency_ms)
        print(f"the emulator's rate, bare SDK clients, {args.latency_ms} ms injected per call "
              f"(load average {os.getloadavg()[0]:.1f})", flush=True)
        for threads in (int(t) for t in args.threads.split(",")):
            seconds, failures = run(emu, threads, args.calls)
            done = args.calls // threads * threads
            bound = (f", bound {done * args.latency_ms / 1000 / threads:.2f} s: "
                     f"×{seconds / (done * args.latency_ms / 1000 / threads):.2f}" if args.latency_ms else "")
            print(f"{threads:>3} threads: {done} calls in {seconds:6.2f} s = {done / seconds:7.0f} req/s"
                  f"  failures={failures}{bound}", flush=True)


if __name__ == "__main__":
    main()

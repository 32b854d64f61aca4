"""Profile (cProfile, every thread) one no-op plan of a generated account: where the tool's CPU goes.

    .venv/bin/python bench/profile_plan.py [--users 300] [--latency-ms 0] [--top 30]

Seeds the account (harness.seeded_account, the emulator in its own process), then runs the plan here
with a profiler (CPU time of its thread) in the main thread and in each worker thread, merges them, and
prints the functions with the most CPU of their own and the most cumulative CPU. Not a test.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import threading
import time
from concurrent.futures import thread as pool_thread
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import Size, cli_env, seeded_account  # noqa: E402

_profiles: list[cProfile.Profile] = []
_lock = threading.Lock()


def _profiled_run(original: Any) -> Any:
    def run(self: Any) -> None:
        profile = cProfile.Profile(time.thread_time)  # CPU of this thread, not time spent waiting
        with _lock:
            _profiles.append(profile)
        profile.runcall(original, self)
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--callers", metavar="REGEX", help="print who calls the functions matching REGEX")
    args = parser.parse_args()
    size = Size(args.users)
    with seeded_account(size) as (emu, home, manifest):
        emu.set_faults(latency_ms=args.latency_ms)
        os.environ.update(cli_env(emu, home))
        os.chdir(home)
        from provision.clock import now
        from provision.engine.flow import Context, make_plan, prepare

        pool_thread._WorkItem.run = _profiled_run(pool_thread._WorkItem.run)  # type: ignore[method-assign]
        main_profile = cProfile.Profile(time.thread_time)
        _profiles.append(main_profile)
        emu.clear_stats()
        started, cpu = time.perf_counter(), time.process_time()
        main_profile.enable()
        prepared = prepare(manifest, now=now())
        result = make_plan(prepared, Context.build(prepared.manifest))
        main_profile.disable()
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        calls = int(emu.stats()["total"])
        print(f"no-op plan of {size.label()}: {calls} calls, wall {wall:.2f} s, CPU {cpu:.2f} s "
              f"({cpu / calls * 1000:.2f} ms per call, {cpu / size.resources * 1000:.2f} ms per resource), "
              f"changes: {result.plan.has_changes}")
    stats = pstats.Stats(_profiles[0], stream=sys.stdout)
    for profile in _profiles[1:]:
        stats.add(profile)
    if args.callers:
        stats.print_callers(args.callers)
        return
    for key in ("tottime", "cumulative"):
        out = io.StringIO()
        stats.stream = out  # type: ignore[attr-defined]
        stats.sort_stats(key).print_stats(args.top)
        print(out.getvalue().split("\n", 6)[-1])


if __name__ == "__main__":
    main()

"""Benchmark (not a test): the no-op plan's wall for each count of calls in flight per service.

    .venv/bin/python bench/workers_sweep.py [--users 500] [--latency-ms 20] [--workers 2,4,8,12,16,24]
                                            [--runs 3]

Builds one account (harness.seeded_account: N users + 20 workspaces + 2 endpoints), injects the latency,
then runs `provision plan` with ``PROVISION_WORKERS=count`` for each count in turn, ``--runs`` rounds
(so a burst of load on a shared machine spreads over every count), and prints per count the median wall,
its bound (calls × latency ÷ count + start-up, scale.py's) and wall ÷ bound, the CPU and the calls per
second past start-up. The default of ``PROVISION_WORKERS`` (providers/alibaba/governor.py) was chosen
from this sweep (bench/README.md). Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import Size, seeded_account  # noqa: E402
from scale import Plan, timed_plan  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--workers", default="2,4,8,12,16,24", help="comma-separated counts")
    parser.add_argument("--runs", type=int, default=3, help="rounds over every count (the median is shown)")
    args = parser.parse_args()
    size = Size(args.users)
    counts = [int(n) for n in args.workers.split(",") if n.strip()]
    print(f"workers sweep: no-op plan of {size.label()}, {args.latency_ms} ms per call "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)", flush=True)
    with seeded_account(size) as (emu, home, manifest):
        emu.set_faults(latency_ms=args.latency_ms)
        runs: dict[int, list[Plan]] = {count: [] for count in counts}
        for _ in range(args.runs):
            for count in counts:
                runs[count].append(timed_plan(emu, home, manifest, size, args.latency_ms, count,
                                              PROVISION_WORKERS=str(count)))
        for count in counts:
            plan = sorted(runs[count], key=lambda p: p.run.wall)[len(runs[count]) // 2]
            print(f"  {count:>2} workers: wall {plan.run.wall:5.2f} s, bound {plan.bound:5.2f} s, "
                  f"wall/bound {plan.run.wall / plan.bound:.2f}, CPU {plan.run.cpu:.2f} s, "
                  f"{plan.run.calls / max(0.001, plan.run.wall - plan.startup):.0f} calls/s past start-up",
                  flush=True)


if __name__ == "__main__":
    main()

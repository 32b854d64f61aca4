"""Benchmark (not a test): the cost of a no-op `plan` as the number of managed users grows.

    .venv/bin/python bench/noop_plan.py [--users 100,1000] [--latency-ms 20]

For each size: starts a fresh in-process emulator, applies a generated manifest of N users (each with
one AccessKey and one system policy) with no injected latency, then injects ``--latency-ms`` on every
call and times a plan that must find nothing to do. Prints the API calls it made (emulator stats), the
wall time, the lower bound ``calls / concurrency × latency``, calls per user, wall / bound, and whether
the cost per user stays flat (linear). Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from provision.clock import now
from provision.desired.resources import Kind
from provision.emulator.testing import running_emulator
from provision.engine.flow import Context, make_plan, prepare, run_apply

USER = """  - name: bench-{i:05d}
    display_name: Bench user {i}
    access_keys: 1
    policies: {{system: [AliyunBailianDataReadOnlyAccess]}}
"""


@dataclass(frozen=True)
class Figures:
    users: int
    calls: int
    seconds: float
    concurrency: int
    latency_s: float

    @property
    def bound(self) -> float:
        """The fastest a plan could be: every call waits ``latency``, ``concurrency`` at a time."""
        return self.calls / self.concurrency * self.latency_s

    def line(self) -> str:
        return (f"{self.users:>6} users: {self.calls:>6} calls ({self.calls / self.users:.2f}/user), "
                f"wall {self.seconds:6.2f}s, bound {self.bound:6.2f}s (concurrency {self.concurrency}), "
                f"wall/bound {self.seconds / self.bound:4.2f}, "
                f"{self.seconds / self.users * 1000:5.1f} ms/user")


def write_manifest(directory: Path, users: int) -> Path:
    """A manifest declaring ``users`` RAM users."""
    path = directory / f"bench-{users}.yaml"
    body = "".join(USER.format(i=i) for i in range(users))
    path.write_text(f"version: 1\nname: bench\ncloud: {{site: public, region: cn-beijing}}\nusers:\n{body}")
    return path


def measure(users: int, latency_ms: int) -> Figures:
    """Seed ``users`` users through apply, then time one no-op plan under injected latency."""
    with tempfile.TemporaryDirectory() as tmp, running_emulator(async_delay_s=0) as emu:
        os.environ.update({"PROVISION_ENDPOINT": emu.url, "ALIBABA_CLOUD_ACCESS_KEY_ID": emu.root_key_id,
                           "ALIBABA_CLOUD_ACCESS_KEY_SECRET": emu.root_secret,
                           "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true"})
        prepared = prepare(write_manifest(Path(tmp), users), now=now())
        context = Context.build(prepared.manifest, state_dir=Path(tmp) / "state")
        summary = run_apply(make_plan(prepared, context).plan, context, concurrency=32)
        if summary.failed:
            raise SystemExit(f"seeding {users} users failed: {summary.counts()}")
        emu.set_faults(latency_ms=latency_ms)
        emu.clear_stats()
        started = time.perf_counter()
        result = make_plan(prepared, Context.build(prepared.manifest, state_dir=Path(tmp) / "state"))
        seconds = time.perf_counter() - started
        if result.plan.has_changes:
            raise SystemExit(f"the plan for {users} users is not a no-op")
        calls = int(emu.stats()["total"])
        workers = int(getattr(context.providers[Kind.USER], "workers", 1))
        return Figures(users, calls, seconds, workers, latency_ms / 1000)


def main() -> None:
    """Measure every size and print the figures and the linearity check."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--users", default="100,1000", help="comma-separated sizes")
    parser.add_argument("--latency-ms", type=int, default=20, help="injected latency per API call")
    options = parser.parse_args()
    sizes = [int(s) for s in options.users.split(",")]
    print(f"no-op plan, {options.latency_ms} ms injected per call")
    results = [measure(n, options.latency_ms) for n in sizes]
    for figures in results:
        print(figures.line())
    if len(results) > 1:
        small, large = results[0], results[-1]
        calls_ratio = (large.calls / large.users) / (small.calls / small.users)
        time_ratio = (large.seconds / large.users) / (small.seconds / small.users)
        linear = 0.8 <= calls_ratio <= 1.25 and time_ratio <= 1.25
        print(f"per-user cost {large.users} vs {small.users} users: calls ×{calls_ratio:.2f}, "
              f"time ×{time_ratio:.2f} → {'linear' if linear else 'NOT linear'}")


if __name__ == "__main__":
    main()

"""Benchmark (not a test): the CLI as a user runs it, against the emulator in its own process.

    .venv/bin/python bench/scale.py [--users 500,5000] [--latency-ms 20] [--workspaces 20] [--endpoints 2]
                                    [--cpu-users 500] [--qps 0]

For each size N (users, plus 20 workspaces with 3 grants, 1 API key and 2 members each, and 2 endpoints):
builds the account (harness.seeded_account: the users from the emulator's seed, the rest by `provision
apply`), injects ``--latency-ms`` on every call, and times one no-op `provision plan` (a process of its
own, start-up included). Prints its calls, calls per user, wall, the bound and wall ÷ bound, then the
cost per user of each size next to the first one's.

The bound of a no-op plan is ``calls × latency ÷ workers + start-up``: workers the calls in flight per
service (PROVISION_WORKERS), start-up the wall of `provision --version`, a process that reads no cloud
(harness.startup). Next to it, the same ratio past the fixed work (harness.fixed_work: an empty
manifest's plan of an empty account, the SDK imports, clients and account-wide lists every plan pays):
``(wall − fixed) ÷ (calls × latency ÷ workers)``, the part that grows with the account against its bound.
The cost per user is ``(wall − start-up) ÷ users``; as the fixed part of a plan (workspaces, endpoints,
checks, client set-up) is amortised over more users, the cost of one more user is also printed: ``(wall −
wall of the smallest account) ÷ (users − its users)``, the smallest account having the same workspaces
and endpoints and only the users they name.

Then: the tool's CPU per managed resource of a no-op plan at zero latency, past the CPU of the fixed work
at zero latency; and with ``--qps Q`` a no-op plan under the emulator's rate cap of Q calls per second
(throttled calls as a share of all). The apply's figures are bench/apply_scale.py's. Asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import Run, Size, fixed_work, median, run_cli, seeded_account, startup  # noqa: E402

from provision.emulator.testing import EmulatorHandle  # noqa: E402
from provision.providers.alibaba.base import PRODUCTS  # noqa: E402
from provision.providers.alibaba.governor import Workers  # noqa: E402


@dataclass(frozen=True)
class Plan:
    size: Size
    run: Run
    startup: float
    workers: int
    latency: float
    fixed: float | None = None  # the fixed work's wall (harness.fixed_work), when measured

    @property
    def bound(self) -> float:
        return self.run.calls * self.latency / self.workers + self.startup

    @property
    def past_fixed(self) -> str:
        """wall ÷ bound past the fixed work, as printed ("" when it was not measured or no latency is set)."""
        if self.fixed is None or not self.latency:
            return ""
        ratio = (self.run.wall - self.fixed) / (self.run.calls * self.latency / self.workers)
        return f"; past the fixed work ({self.fixed:.2f} s): {ratio:.2f}"

    @property
    def per_user_ms(self) -> float:
        """The cost per user past start-up, in milliseconds."""
        return (self.run.wall - self.startup) / self.size.users * 1000

    def slope_ms(self, smaller: Plan) -> float:
        """The wall each user past ``smaller``'s adds, in milliseconds."""
        return (self.run.wall - smaller.run.wall) / (self.size.users - smaller.size.users) * 1000

    def line(self) -> str:
        users = self.size.users
        return (f"  no-op plan, {self.size.label()}: {self.run.calls} calls "
                f"({self.run.calls / users:.2f}/user), "
                f"wall {self.run.wall:.2f} s, bound {self.bound:.2f} s (start-up {self.startup:.2f} s, "
                f"{self.workers} workers), wall/bound {self.run.wall / self.bound:.2f} (goal ≤ 1.25)"
                f"{self.past_fixed}, "
                f"{self.per_user_ms:.2f} ms/user past start-up, "
                f"{self.run.calls / max(0.001, self.run.wall - self.startup):.0f} calls/s past start-up, "
                f"CPU {self.run.cpu:.2f} s ({self.run.cpu / self.run.calls * 1000:.2f} ms/call)")


def timed_plan(emu: EmulatorHandle, home: Path, manifest: Path, size: Size, latency_ms: int,
               workers: int, fixed: float | None = None, **env: str) -> Plan:
    """One no-op plan of the seeded account (exits if it is not a no-op); ``fixed``: the fixed work's wall
    at this latency, for the ratio past it."""
    start = startup(emu, home)
    run = run_cli(emu, home, "plan", "-m", str(manifest), "--detailed-exitcode", **env)
    if run.code != 0:
        raise SystemExit(f"the plan of {size.label()} is not a no-op (exit {run.code}):\n"
                         f"{run.stdout[-2000:]}{run.stderr[-2000:]}")
    return Plan(size, run, start, workers, latency_ms / 1000, fixed)


def noop_plan(size: Size, latency_ms: int, workers: int, fixed: float) -> Plan:
    with seeded_account(size) as (emu, home, manifest):
        emu.set_faults(latency_ms=latency_ms)
        return timed_plan(emu, home, manifest, size, latency_ms, workers, fixed)


def cpu_per_resource(size: Size) -> str:
    base = fixed_work(0).cpu
    with seeded_account(size) as (emu, home, manifest):
        full = median([run_cli(emu, home, "plan", "-m", str(manifest)).cpu for _ in range(3)])
    per = (full - base) / size.resources * 1000
    return (f"  CPU at zero latency, {size.label()} ({size.resources} managed resources): plan "
            f"{full:.2f} s, the fixed work {base:.2f} s (an empty manifest's plan of an empty account) → "
            f"{per:.2f} ms per resource past it (goal ≤ 1)")


def throttled_plan(size: Size, latency_ms: int, qps: float) -> str:
    with seeded_account(size) as (emu, home, manifest):
        emu.set_faults(latency_ms=latency_ms, qps=qps)
        run = run_cli(emu, home, "plan", "-m", str(manifest), "--detailed-exitcode")
        share = run.throttled / max(1, run.calls)
        return (f"  no-op plan under a cap of {qps:g} calls/s, {size.label()}: {run.calls} calls, "
                f"{run.throttled} throttled ({share:.1%}; goal ≤ 5%), wall {run.wall:.2f} s "
                f"(the cap alone needs {run.calls / qps:.2f} s), exit {run.code}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", default="500,5000", help="comma-separated sizes of the no-op plan")
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--workspaces", type=int, default=20)
    parser.add_argument("--endpoints", type=int, default=2)
    parser.add_argument("--cpu-users", type=int, default=500, help="0: skip the CPU figure")
    parser.add_argument("--qps", type=float, default=0, help="also a plan under this rate cap (0: skip)")
    args = parser.parse_args()
    workers = Workers.from_env(PRODUCTS).of("ram")
    print(f"the CLI as a process, the emulator in another; {args.latency_ms} ms per call; {workers} workers "
          "per service (PROVISION_WORKERS)", flush=True)
    fixed = fixed_work(args.latency_ms).wall
    plans: list[Plan] = []
    for users in (int(n) for n in args.users.split(",") if n.strip()):
        plans.append(noop_plan(Size(users, args.workspaces, args.endpoints), args.latency_ms, workers, fixed))
        print(plans[-1].line(), flush=True)
        if len(plans) == 1:
            actions = sorted(plans[0].run.actions.items(), key=lambda item: (-item[1], item[0]))
            listed = ", ".join(f"{name} {count}" for name, count in actions)
            print(f"    calls by action: {listed}", flush=True)
    if len(plans) > 1:
        first = plans[0]
        for plan in plans[1:]:
            print(f"  cost per user past start-up at {plan.size.users} users: {plan.per_user_ms:.2f} ms, "
                  f"{plan.per_user_ms / first.per_user_ms:.2f}× the {first.size.users}-user figure "
                  f"({first.per_user_ms:.2f} ms; goal within ±15%)", flush=True)
        # the fixed part of a plan (workspaces, endpoints, checks, client set-up) is amortised over more
        # users at a larger size; the cost of one more user is the slope past the smallest account
        smallest = noop_plan(Size(2 * args.workspaces, args.workspaces, args.endpoints), args.latency_ms,
                             workers, fixed)
        print(f"  the same workspaces and endpoints with {smallest.size.users} users (the fewest they name): "
              f"wall {smallest.run.wall:.2f} s", flush=True)
        slopes = [plan.slope_ms(smallest) for plan in plans]
        for plan, slope in zip(plans, slopes, strict=True):
            print(f"  cost of one more user up to {plan.size.users} users: {slope:.2f} ms "
                  f"({slope / slopes[0]:.2f}× the {plans[0].size.users}-user figure)", flush=True)
    if args.cpu_users:
        print(cpu_per_resource(Size(args.cpu_users, args.workspaces, args.endpoints)), flush=True)
    if args.qps:
        print(throttled_plan(Size(plans[0].size.users if plans else 500, args.workspaces, args.endpoints),
                             args.latency_ms, args.qps), flush=True)


if __name__ == "__main__":
    main()

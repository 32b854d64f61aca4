"""Benchmark (not a test): `provision apply` of N users from an empty account, against its bound.

    .venv/bin/python bench/apply_scale.py [--users 500] [--latency-ms 20] [--workspaces 0] [--endpoints 0]
                                          [--cpu] [--profile FILE]

The scenario: N users, each with 1 AccessKey and 2 system policies (plus, optionally, workspaces with a
grant, an API key and two members, and endpoints, as bench/harness.py writes them), applied from an
empty emulator account by the CLI as a process of its own (the emulator in another) with ``--latency-ms``
injected on every call. Prints the calls, the chain depth, the wall, the bound and wall ÷ bound, where

    bound = chain depth × latency + calls × latency ÷ workers + start-up

the chain depth being the longest chain of changes of the plan (user → access key / attachment) plus 2
for the reads before it, workers the calls in flight per service (PROVISION_WORKERS, the apply's
``--concurrency``), and start-up the wall of `provision --version` (harness.startup, as scale.py's
bounds). Next to it, the ratio past the fixed work (harness.fixed_work: an empty manifest's plan of an
empty account, the SDK imports, clients and account-wide lists): ``(wall − fixed) ÷ (chain depth ×
latency + calls × latency ÷ workers)``. With ``--cpu``: the same apply at zero latency, and the tool's
CPU per managed resource past the fixed work (CPU of the apply − CPU of the fixed work at zero latency,
÷ resources). With ``--profile FILE``:
the zero-latency apply runs under cProfile (every thread) and the stats go to FILE. Asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import HEAD, Run, Size, chain_depth, emulator_process, fixed_work, run_cli, startup  # noqa: E402

from provision.providers.alibaba.base import PRODUCTS  # noqa: E402
from provision.providers.alibaba.governor import Workers  # noqa: E402

USER = """  - name: apply-{i:05d}
    display_name: Apply user {i}
    access_keys: 1
    policies: {{system: [AliyunBailianDataReadOnlyAccess, AliyunVPCReadOnlyAccess]}}
"""

# cProfile in every thread of the CLI process (``--profile``): the CPU time of each thread, merged
_PROFILED = """
import cProfile, pstats, sys, threading, time
profiles = []
def wrap(original):
    def run(self):
        profile = cProfile.Profile(time.thread_time)
        profiles.append(profile)
        profile.runcall(original, self)
    return run
threading.Thread.run = wrap(threading.Thread.run)
out = sys.argv.pop(1)
main_profile = cProfile.Profile(time.thread_time)
profiles.append(main_profile)
from provision.cli.app import main
try:
    main_profile.runcall(main)
except SystemExit as exc:
    code = exc.code
else:
    code = 0
stats = pstats.Stats(profiles[0])
for profile in profiles[1:]:
    stats.add(profile)
stats.dump_stats(out)
sys.exit(code)
"""


class ApplyScenario(Size):
    """N users with 1 key and 2 policies each, and the harness's workspaces and endpoints."""

    def manifest(self) -> str:
        none = " []\n"
        users = "".join(USER.format(i=i) for i in range(self.users))
        text = HEAD.format(users=users or none, workspaces=self.workspaces_yaml() or none,
                           endpoints=self.endpoints_yaml() or none)
        return text.replace(":\n []", ": []")

    @property
    def resources(self) -> int:
        """Managed resources: per user the user, its keys, its 2 attachments; 7 per workspace, 1 per
        endpoint."""
        return 4 * self.users + 7 * self.workspaces + self.endpoints


def apply_once(size: ApplyScenario, latency_ms: int, workers: int, profile: Path | None = None
               ) -> tuple[Run, int, float]:
    """One apply from an empty account: its run, the chain depth, and the start-up's wall."""
    with tempfile.TemporaryDirectory() as tmp, emulator_process() as emu:
        home = Path(tmp)
        manifest = home / "bench.yaml"
        manifest.write_text(size.manifest())
        planned = run_cli(emu, home, "plan", "-m", str(manifest), "--json")
        if planned.code not in (0, 2):
            raise SystemExit(f"the plan failed (exit {planned.code}):\n{planned.stderr[-2000:]}")
        depth = chain_depth(planned.stdout) + 2  # + ListUsers, then the per-user reads
        emu.set_faults(latency_ms=latency_ms)
        start = startup(emu, home)
        args = ["apply", "-m", str(manifest), "--auto-approve", "--concurrency", str(workers)]
        if profile is None:
            run = run_cli(emu, home, *args)
        else:
            import harness

            saved = harness.PROVISION
            harness.PROVISION = [sys.executable, "-c", _PROFILED, str(profile)]
            try:
                run = run_cli(emu, home, *args)
            finally:
                harness.PROVISION = saved
        if run.code:
            last = (run.stderr.strip().splitlines() or ["?"])[-1][:300]
            print(f"  the apply failed (exit {run.code}): {last}", flush=True)
        return run, depth, start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--workspaces", type=int, default=0)
    parser.add_argument("--endpoints", type=int, default=0)
    parser.add_argument("--cpu", action="store_true", help="also the apply at zero latency: CPU per resource")
    parser.add_argument("--profile", type=Path, help="cProfile the zero-latency apply into this file")
    args = parser.parse_args()
    workers = Workers.from_env(PRODUCTS).of("ram")
    size = ApplyScenario(args.users, args.workspaces, args.endpoints)
    label = f"{size.users} users (1 key, 2 policies each) + {size.workspaces} workspaces + " \
            f"{size.endpoints} endpoints"
    print(f"apply from an empty account, the CLI as a process, the emulator in another; {workers} workers",
          flush=True)
    latency = args.latency_ms / 1000
    run, depth, start = apply_once(size, args.latency_ms, workers)
    fixed = fixed_work(args.latency_ms).wall
    work = depth * latency + run.calls * latency / workers
    bound = work + start
    past = f"; past the fixed work ({fixed:.2f} s): {(run.wall - fixed) / work:.2f}" if work else ""
    print(f"  {label}, {args.latency_ms} ms per call: {run.calls} calls, chain depth {depth}, "
          f"wall {run.wall:.2f} s, bound {bound:.2f} s (start-up {start:.2f} s), "
          f"wall/bound {run.wall / bound:.2f} (goal ≤ 1.25){past}; CPU {run.cpu:.2f} s", flush=True)
    actions = sorted(run.actions.items(), key=lambda item: (-item[1], item[0]))
    print(f"    calls by action: {', '.join(f'{name} {count}' for name, count in actions)}", flush=True)
    if args.cpu or args.profile:
        run, _, _ = apply_once(size, 0, workers, args.profile)
        cpu0 = fixed_work(0).cpu
        per = (run.cpu - cpu0) / size.resources * 1000
        print(f"  {label}, zero latency: wall {run.wall:.2f} s, CPU {run.cpu:.2f} s, the fixed work's CPU "
              f"{cpu0:.2f} s → {per:.2f} ms per managed resource past it ({size.resources} resources; "
              "goal ≤ 1)", flush=True)
        if args.profile:
            print(f"  profile of that apply (every thread): {args.profile}", flush=True)


if __name__ == "__main__":
    main()

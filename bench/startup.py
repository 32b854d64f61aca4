"""Benchmark (not a test): start-up of `provision --help` next to a bare `python -c 'import typer'`.

    .venv/bin/python bench/startup.py [--runs 7]

Runs both commands in turn (A B A B ...), each a fresh process, and prints the median wall and CPU
(user + system) seconds of each and their ratio, for `--help`, `--version` and a usage error. The root's
help is click's plain one (cli/app.py); a command's own help, `provision plan --help`, is typer's rich
help (rich, markdown-it: typer.rich_utils), also measured. Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time

PROVISION = [sys.executable, "-c", "from provision.cli.app import main; main()"]
TYPER = [sys.executable, "-c", "import typer"]
GOAL_S = 0.3


def once(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def compare(label: str, command: list[str], runs: int, **env: str) -> None:
    environment = {**os.environ, **env}
    once(command, environment), once(TYPER, environment)  # warm the file cache
    a: list[tuple[float, float]] = []
    b: list[tuple[float, float]] = []
    for _ in range(runs):
        a.append(once(command, environment))
        b.append(once(TYPER, environment))
    wall_a, cpu_a = median([w for w, _ in a]), median([c for _, c in a])
    wall_b, cpu_b = median([w for w, _ in b]), median([c for _, c in b])
    print(f"  {label:<40} wall {wall_a:.3f} s (import typer {wall_b:.3f} s, ×{wall_a / wall_b:.2f}), "
          f"CPU {cpu_a:.3f} s (import typer {cpu_b:.3f} s, ×{cpu_a / cpu_b:.2f}); goal ≤ {GOAL_S} s",
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"start-up, median of {args.runs} runs each (load average {load:.1f} on {os.cpu_count()} CPUs)")
    compare("provision --help", [*PROVISION, "--help"], args.runs)
    compare("provision --version", [*PROVISION, "--version"], args.runs)
    compare("provision plan --bogus (usage error)", [*PROVISION, "plan", "--bogus"], args.runs)
    compare("provision plan --help (rich)", [*PROVISION, "plan", "--help"], args.runs)


if __name__ == "__main__":
    main()

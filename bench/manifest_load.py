"""Benchmark (not a test): manifest load (render + parse + validate) per user, and time per refusal.

    .venv/bin/python bench/manifest_load.py [--users 500,5000] [--runs 5]

For each size, two generated manifests of N users and N/25 workspaces (3 models, 1 API key and 2 members
each): one written out in plain YAML (the parse-bound case) and one that builds its users with a Jinja
loop (the render-bound case). Prints the best of ``--runs`` loads, in ms per user, next to the goal
(0.3 ms per user), and the CPU time per user. Then loads every manifest of the bad-manifest corpus once
and prints the slowest refusals. Asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import Size  # noqa: E402

from provision.errors import ManifestError  # noqa: E402
from provision.manifest import load_manifest  # noqa: E402

GOAL_MS_PER_USER = 0.3
CORPUS = Path(__file__).resolve().parents[1] / "tests" / "data" / "bad_manifests"

HEAD = """version: 1
name: bench
cloud: {site: public, region: cn-beijing}
"""
LOOP = """users:
{%- for i in range(users | int) %}
  - name: bench-{{ "%05d" | format(i) }}
    display_name: Bench user {{ i }}
    access_keys: 1
    expires_at: 2027-03-31T00:00:00Z
    policies: {system: [AliyunBailianDataReadOnlyAccess]}
{%- endfor %}
"""


def size(users: int) -> Size:
    """N users and N/25 workspaces (3 models, 1 API key and 2 members each), no endpoint."""
    return Size(users, max(1, users // 25), 0)


def plain(users: int) -> str:
    return size(users).manifest()


def looped(users: int) -> str:
    return HEAD + LOOP + "\nworkspaces:\n" + size(users).workspaces_yaml()


def best_of(runs: int, path: Path, users: int) -> tuple[float, float]:
    """The best wall time and the best CPU time of ``runs`` loads (CPU time is what a busy machine
    does not inflate)."""
    wall = cpu = float("inf")
    variables = {"users": str(users)} if "range(users" in path.read_text() else None
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        manifest = load_manifest(path, variables)
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
        assert len(manifest.users) == users
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", default="500,5000")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"manifest load (render + parse + validate), best of {args.runs}; "
              f"goal {GOAL_MS_PER_USER} ms/user")
        for users in (int(n) for n in args.users.split(",")):
            for kind, text in (("plain YAML", plain(users)), ("Jinja loop", looped(users))):
                path = Path(tmp) / f"{kind.split()[0]}-{users}.yaml"
                path.write_text(text)
                wall, cpu = best_of(args.runs, path, users)
                per_user = wall * 1000 / users
                print(f"  {users:>6} users, {kind:<10} {len(text) / 1024:>6.0f} KiB"
                      f"  wall {wall * 1000:>7.1f} ms"
                      f"  {per_user:.3f} ms/user ({per_user / GOAL_MS_PER_USER:.2f}x the goal)"
                      f"  CPU {cpu * 1000 / users:.3f} ms/user")
    refusals()


def refusals() -> None:
    timings: list[tuple[float, str]] = []
    for path in sorted(CORPUS.glob("*.yaml")):
        start = time.perf_counter()
        try:
            load_manifest(path)
        except ManifestError:
            pass
        else:
            print(f"  NOT REFUSED: {path.name}")
        timings.append((time.perf_counter() - start, path.name))
    timings.sort(reverse=True)
    total = sum(t for t, _ in timings)
    print(f"bad-manifest corpus: {len(timings)} refusals, {total:.2f} s in all, slowest:")
    for seconds, name in timings[:8]:
        print(f"  {seconds * 1000:>8.1f} ms  {name}")


if __name__ == "__main__":
    main()

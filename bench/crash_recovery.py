"""Benchmark (not a test): random SIGKILLs during `provision apply`, a re-apply after each, then a census.

    .venv/bin/python bench/crash_recovery.py [--cloud alibaba|huawei] [--trials 50] [--seed 1]

The manifest is the crash tests' of that cloud (tests/e2e/census.py): a user with an AccessKey (AK/SK) and a
console login, a workspace with an API key, an endpoint (PrivateLink / VPC endpoint). Each trial starts from
an empty account (the in-process emulator reset, a fresh state dir) and runs `provision apply` as a real
process, killed with SIGKILL either right after a random create
(``PROVISION_TEST_CRASH_AT=after-create:<kind>``) or after a random delay. Then it applies again, without a
crash, and counts through the official SDKs what is left: keys whose secret the sink does not hold (orphans)
and unmanaged look-alikes of declared resources; and whether `plan --detailed-exitcode` says the manifest is
delivered (exit 0). Prints one line per trial and "orphans: N, unmanaged: M" (both must be 0). Asserts
nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENTRY = (sys.executable, "-c", "from provision.cli.app import main; main()")


def run(args: list[str], env: dict[str, str], kill_after: float | None = None) -> int:
    """Run the CLI; with ``kill_after``, SIGKILL it after that many seconds if it is still running."""
    proc = subprocess.Popen([*ENTRY, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if kill_after is None:
        return proc.wait(timeout=300)
    try:
        return proc.wait(timeout=kill_after)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        return proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cloud", choices=("alibaba", "huawei"), default="alibaba")
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-delay-s", type=float, default=4.0, help="upper bound of a random kill delay")
    options = parser.parse_args()
    sys.path.insert(0, str(ROOT))  # tests/e2e/census.py counts orphans for the crash tests too
    from provision.emulator.huawei.seed import defaults as huawei_defaults
    from provision.emulator.testing import running_emulator
    from tests.e2e.census import CASES

    case = CASES[options.cloud]
    kinds = [str(kind) for kind in case.creates]

    rng = random.Random(options.seed)
    orphans: list[str] = []
    unmanaged: list[str] = []
    killed = recovered = delivered = 0
    started = time.monotonic()
    with running_emulator() as cloud, tempfile.TemporaryDirectory() as tmp:
        manifest = Path(tmp) / "crash.yaml"
        manifest.write_text(case.manifest)
        huawei = huawei_defaults(cloud.account_id)
        for trial in range(1, options.trials + 1):
            cloud.control("POST", "reset")
            state_dir = Path(tmp) / f"state-{trial}"
            env = {**os.environ, "PROVISION_ENDPOINT": cloud.url, "PROVISION_STATE_DIR": str(state_dir),
                   "ALIBABA_CLOUD_ACCESS_KEY_ID": cloud.root_key_id,
                   "ALIBABA_CLOUD_ACCESS_KEY_SECRET": cloud.root_secret,
                   "HUAWEICLOUD_SDK_AK": huawei["root_access_key_id"],
                   "HUAWEICLOUD_SDK_SK": huawei["root_secret_access_key"],
                   "PROVISION_POLL_INTERVAL_S": "0.05", "NO_COLOR": "1"}
            env.pop("PROVISION_TEST_CRASH_AT", None)
            apply = ["apply", "-m", str(manifest), "--auto-approve"]
            if rng.random() < 0.5:
                how = f"after-create:{rng.choice(kinds)}"
                rc = run(apply, {**env, "PROVISION_TEST_CRASH_AT": how})
            else:
                delay = rng.uniform(0.5, options.max_delay_s)
                how = f"after {delay:.2f}s"
                rc = run(apply, env, kill_after=delay)
            killed += rc == -signal.SIGKILL
            again = run(apply, env)
            recovered += again == 0
            plan = run(["plan", "-m", str(manifest), "--detailed-exitcode"], env)
            delivered += plan == 0
            found = case.census(cloud, state_dir, state_dir / "secrets")
            orphans += found.orphans
            unmanaged += found.unmanaged
            print(f"trial {trial:>2}: kill {how:<34} first rc {rc:>3}, re-apply rc {again}, plan rc {plan}, "
                  f"{found.line()}", flush=True)
    seconds = time.monotonic() - started
    print(f"{options.cloud}: {options.trials} trials in {seconds:.0f}s: {killed} applies killed by SIGKILL, "
          f"{recovered} re-applies exited 0, {delivered} plans exited 0 (delivered)")
    for what in orphans + unmanaged:
        print(f"  left behind: {what}")
    print(f"orphans: {len(orphans)}, unmanaged: {len(unmanaged)}")


if __name__ == "__main__":
    main()

"""What the benchmarks share: a generated manifest at any size, the emulator in its own process, and the
CLI run as a user runs it (a process of its own), with its wall and CPU time and the calls it made.

Not a test: nothing here asserts. The emulator runs in a separate process so its request handling does
not share the tool's interpreter lock; its own throughput is measured by bench/emulator_rps.py.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provision.emulator.testing import EmulatorHandle

ROOT = Path(__file__).resolve().parents[1]
PROVISION = [sys.executable, "-c", "from provision.cli.app import main; main()"]  # what `provision` runs
NOW = "2026-12-01T00:00:00Z"  # one clock for the tool and the emulator: expiry dates are stable

HEAD = """version: 1
name: bench
cloud: {{site: public, region: cn-beijing}}
users:
{users}workspaces:
{workspaces}endpoints:
{endpoints}"""
USER = """  - name: bench-{i:05d}
    display_name: Bench user {i}
    access_keys: 1
    expires_at: 2027-03-31T00:00:00Z
    policies: {{system: [AliyunBailianDataReadOnlyAccess]}}
"""
WORKSPACE = """  - name: bench-ws-{w:03d}
    models: [qwen-plus, qwen-turbo, deepseek-v3]
    api_keys:
      - {{name: main, issued_to: bench-{a:05d}, allowed_models: [qwen-plus]}}
    members:
      - {{user: bench-{a:05d}, role: admin}}
      - {{user: bench-{b:05d}, role: guest}}
"""
ENDPOINT = """  - name: bench-ep-{e}
    vpc_id: vpc-2zedemo0000000001
    zones:
      - {{zone_id: cn-beijing-a, vswitch_id: vsw-2zedemo00000000a1}}
      - {{zone_id: cn-beijing-h, vswitch_id: vsw-2zedemo00000000h1}}
    security_group_ids: [sg-2zedemo0000000001]
    service_name: com.aliyuncs.dashscope
"""


@dataclass(frozen=True)
class Size:
    """A scenario's size: users, workspaces (3 grants, 1 API key, 2 members each) and endpoints."""

    users: int
    workspaces: int = 20
    endpoints: int = 2

    def manifest(self) -> str:
        none = " []\n"
        text = HEAD.format(users=self.users_yaml() or none, workspaces=self.workspaces_yaml() or none,
                           endpoints=self.endpoints_yaml() or none)
        return text.replace(":\n []", ": []")

    def users_yaml(self) -> str:
        return "".join(USER.format(i=i) for i in range(self.users))

    def workspaces_yaml(self) -> str:
        return "".join(WORKSPACE.format(w=w, a=(2 * w) % self.users, b=(2 * w + 1) % self.users)
                       for w in range(self.workspaces))

    def endpoints_yaml(self) -> str:
        return "".join(ENDPOINT.format(e=e) for e in range(self.endpoints))

    @property
    def resources(self) -> int:
        """Managed resources: per user the user, its keys, its attachment; per workspace itself, 3 grants,
        1 key, 2 members; each endpoint."""
        return 3 * self.users + 7 * self.workspaces + self.endpoints

    def label(self) -> str:
        return f"{self.users} users + {self.workspaces} workspaces + {self.endpoints} endpoints"


class _Remote:
    """Where an emulator of another process listens (what EmulatorHandle's control helpers need)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.host, port = url.removeprefix("http://").split(":")
        self.port = int(port)


_CHILD = """
import json, sys
from datetime import datetime
from provision.emulator.alibaba import ram_rules
from provision.emulator.seed import default_seed
from provision.emulator.testing import running_emulator
seed = default_seed(use_env=False).model_copy(update={"clock_start": datetime.fromisoformat(sys.argv[1])})
ram = json.loads(sys.stdin.readline())  # the ram section (thousands of users: no argument)
if len(ram.get("users", ())) > ram_rules.MAX_USERS:  # an account whose RAM user quota was raised
    ram_rules.MAX_USERS = len(ram["users"])
if ram:
    first = seed.accounts[0]
    seed.accounts[0] = type(first).model_validate({**first.model_dump(), "ram": ram})
with running_emulator(seed, async_delay_s=0) as emu:
    print(json.dumps({"url": emu.url, "account": emu.account_id, "key": emu.root_key_id,
                      "secret": emu.root_secret}), flush=True)
    sys.stdin.read()  # until the parent closes our stdin
"""


def user_key(i: int) -> tuple[str, str]:
    """The AccessKey (id, secret) a pre-seeded bench user holds: fixed, so the sink can hold its secret."""
    return f"LTAI5tBench{i:013d}", f"bench-secret-{i:017d}"


def seeded_users(users: int) -> dict[str, Any]:
    """The emulator seed's ``ram`` section holding ``users`` of a Size's manifest as `provision apply`
    leaves them (its ownership marker, display name, policy and one AccessKey): seeding thousands of users
    through apply would time the apply's state writes, not the plan."""
    from provision.providers.common.markers import comments_marker

    return {"users": [{"name": f"bench-{i:05d}", "display_name": f"Bench user {i}",
                       "comments": comments_marker("bench"), "policies": ["AliyunBailianDataReadOnlyAccess"],
                       "access_keys": [{"id": user_key(i)[0], "secret": user_key(i)[1]}]}
                      for i in range(users)]}


def fill_sink(home: Path, users: int) -> None:
    """The secrets sink of ``home``'s state holding the pre-seeded users' AccessKey secrets."""
    from unittest import mock

    from provision.state.secrets import SecretSink

    sink = SecretSink(home / "state" / "secrets")
    with mock.patch.object(os, "fsync", lambda _fd: None):  # a bench's sink needs no durability: 5,000
        for i in range(users):                              # users at two fsyncs each take minutes
            sink.store_access_key(f"bench-{i:05d}", *user_key(i))


@contextmanager
def emulator_process(users: int = 0) -> Iterator[EmulatorHandle]:
    """The emulator in a process of its own, no latency, asynchronous work done at once; with ``users``
    the account starts with that many bench users (``seeded_users``)."""
    ram = json.dumps(seeded_users(users) if users else {})
    child = subprocess.Popen([sys.executable, "-c", _CHILD, NOW.replace("Z", "+00:00")],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdin is not None
        child.stdin.write(ram + "\n")
        child.stdin.flush()
        hello = json.loads(child.stdout.readline())
        _PIDS[hello["url"]] = child.pid
        yield EmulatorHandle(_Remote(hello["url"]), hello["account"], hello["key"],  # type: ignore[arg-type]
                             hello["secret"])
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=30)


_PIDS: dict[str, int] = {}  # an emulator process's url -> its pid


def emulator_cpu(emu: EmulatorHandle) -> float:
    """CPU seconds (user + system) the emulator process of ``emu`` has used so far (Linux /proc)."""
    fields = Path(f"/proc/{_PIDS[emu.url]}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def seeded_account(size: Size) -> Iterator[tuple[EmulatorHandle, Path, Path]]:
    """An account holding ``size`` as `provision apply` leaves it, and the manifest: (emulator, home,
    manifest). The users come from the emulator's seed and their secrets are put in the sink
    (``seeded_users``); the workspaces, grants, API keys and endpoints are created by `provision apply`.
    No latency is injected."""
    with tempfile.TemporaryDirectory() as tmp, emulator_process(size.users) as emu:
        home = Path(tmp)
        fill_sink(home, size.users)
        manifest = home / f"bench-{size.users}.yaml"
        manifest.write_text(size.manifest())
        run = run_cli(emu, home, "apply", "-m", str(manifest), "--auto-approve", "--concurrency", "16")
        if run.code:
            raise SystemExit(f"seeding {size.label()} failed (exit {run.code}):\n{run.stderr[-3000:]}")
        yield emu, home, manifest


@dataclass(frozen=True)
class Run:
    """One CLI run: exit code, wall and CPU seconds, the API calls it made (by action), its output."""

    code: int
    wall: float
    cpu: float
    calls: int
    actions: dict[str, int]
    throttled: int
    stdout: str
    stderr: str


def cli_env(emu: EmulatorHandle, home: Path, **extra: str) -> dict[str, str]:
    """The environment of a CLI run against ``emu`` with its state under ``home``."""
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # as a user runs it:
    # a module compiled once is cached, not compiled again in every process (make bench compiles first)
    return {**environ, "PROVISION_ENDPOINT": emu.url, "ALIBABA_CLOUD_ACCESS_KEY_ID": emu.root_key_id,
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": emu.root_secret, "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
            "PROVISION_STATE_DIR": str(home / "state"), "PROVISION_NOW": NOW, "NO_COLOR": "1",
            "PROVISION_POLL_INTERVAL_S": "0.05", **extra}


def run_cli(emu: EmulatorHandle, home: Path, *args: str, **extra_env: str) -> Run:
    """Run ``provision ARGS`` as a process; count the calls it made (the emulator's request log)."""
    emu.clear_stats()
    cpu_before = _children_cpu()
    started = time.perf_counter()
    child = subprocess.Popen([*PROVISION, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=cli_env(emu, home, **extra_env), cwd=home)
    stdout, stderr = child.communicate()
    wall = time.perf_counter() - started
    cpu = _children_cpu() - cpu_before  # the emulator child is not counted: it has not ended
    stats: dict[str, Any] = emu.stats()
    throttled = sum(1 for r in stats.get("recent", []) if str(r.get("code", "")).startswith("Throttling"))
    injected = stats.get("faults_injected", {})
    throttled = max(throttled, int(injected.get("Throttling.User", 0)))
    return Run(child.returncode, wall, cpu, int(stats["total"]), dict(stats.get("actions", {})), throttled,
               stdout, stderr)


def startup(emu: EmulatorHandle, home: Path, runs: int = 3) -> float:
    """Median wall of `provision --version`: a process's start-up that reads no cloud (the start-up term
    of every bound here)."""
    return median([run_cli(emu, home, "--version").wall for _ in range(runs)])


@dataclass(frozen=True)
class Fixed:
    """What any plan pays before its first resource: the SDK imports, the clients, the account-wide
    lists. Median wall and CPU of `provision plan` of an empty manifest in an empty account."""

    wall: float
    cpu: float


def fixed_work(latency_ms: int, runs: int = 3) -> Fixed:
    """The fixed work (:class:`Fixed`) with ``latency_ms`` on every call, in an emulator of its own."""
    with tempfile.TemporaryDirectory() as tmp, emulator_process() as emu:
        home = Path(tmp)
        empty = home / "empty.yaml"
        empty.write_text(Size(0, 0, 0).manifest())
        emu.set_faults(latency_ms=latency_ms)
        plans = [run_cli(emu, home, "plan", "-m", str(empty)) for _ in range(runs)]
    return Fixed(median([p.wall for p in plans]), median([p.cpu for p in plans]))


def chain_depth(plan_json: str) -> int:
    """The longest chain of changes of a saved plan (each waits for the changes it depends on)."""
    from provision.engine.apply import dependencies
    from provision.plan.io import plan_from_dict

    changes = plan_from_dict(json.loads(plan_json)).changes
    waits = dependencies(changes)
    depth: dict[str, int] = {}

    def of(key: str) -> int:
        if key not in depth:
            depth[key] = 1 + max((of(p) for p in waits.get(key, ())), default=0)
        return depth[key]

    return max((of(c.key) for c in changes), default=0)


def _children_cpu() -> float:
    """CPU seconds (user + system) of every child process this one has waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]

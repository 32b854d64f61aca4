"""The fenced blocks of the README and docs/, and how their commands run against the emulator.

A ```bash block holds commands a reader runs: its lines run in order in one bash session, from a directory
laid out like the repository, against the emulator, and each must exit 0 (or as `# expect exit N` says).
A server command (`make emulator`, `provision emulator serve`) runs until stopped: unless the document
itself puts it in the background (`&`), the runner does, and waits for its `listening on` line. The port
8930 the documents use is replaced by a free one, so two test workers never collide on it. Every other
block (```sh, ```yaml, output samples) is not run; a command in a ```sh block must be listed in
COVERED_ELSEWHERE with the test that runs it.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ("cli.md", "manifest-reference.md")  # docs/ files made by `make docs`: not commands to run
DOC_PORT = "8930"
_FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
_EXPECT = re.compile(r"\s+#\s*expect exit (\d+)\s*$")
_SERVER = re.compile(r"^(make emulator|provision emulator serve|python -m provision\.emulator)\b")
# A line that is a command to type (as opposed to output, YAML or a usage synopsis with [OPTIONS]).
COMMAND = re.compile(r"^(\$ )?([A-Z_]+=\S+ )*(provision|make|export|pipx?|python3?|\.venv/bin/\S+|curl) ")

# Commands shown in ```sh blocks, which a test cannot run as written, and the test that runs them.
COVERED_ELSEWHERE = {
    "make demo": "tests/e2e/test_demo.py runs its recipe, python -m provision.demo",
    "make test": "this suite is its recipe (pytest -n 2)",
    "pipx install .": "tests/docs/test_doc_blocks.py::test_the_install_gives_a_provision_command",
    "pip install .": "tests/docs/test_doc_blocks.py::test_the_install_gives_a_provision_command",
}


@dataclass(frozen=True)
class Block:
    document: Path
    line: int  # of the opening fence
    language: str
    text: str

    @property
    def where(self) -> str:
        return f"{self.document.relative_to(ROOT)}:{self.line}"


def documents() -> list[Path]:
    """The README and every document under docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def blocks(document: Path) -> list[Block]:
    text = document.read_text(encoding="utf-8")
    return [Block(document, text.count("\n", 0, m.start()) + 1, m.group(1), m.group(2))
            for m in _FENCE.finditer(text)]


def runnable(document: Path) -> list[Block]:
    return [b for b in blocks(document) if b.language == "bash" and document.name not in GENERATED]


def command_lines(text: str) -> list[str]:
    """A block's lines, continuation lines (ending in ``\\``) joined, blank and comment lines dropped."""
    joined = re.sub(r"\\\n\s*", " ", text)
    return [line for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def without_comment(line: str) -> str:
    """``cmd args   # comment`` → ``cmd args`` (a ``#`` inside quotes is kept)."""
    quoted = False
    for i, char in enumerate(line):
        if char in "'\"":
            quoted = not quoted
        elif char == "#" and not quoted and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


@dataclass(frozen=True)
class Step:
    line: str  # as the document shows it
    script: str  # what bash runs
    expect: int


def steps(document: Path, port: str) -> list[Step]:
    out: list[Step] = []
    for block in runnable(document):
        for line in command_lines(block.text):
            expect = _EXPECT.search(line)
            command = without_comment(_EXPECT.sub("", line)).replace(DOC_PORT, port)
            if _SERVER.match(command) and not command.endswith("&"):
                command = f"{command} > server-{len(out)}.log 2>&1 & wait_listening server-{len(out)}.log"
            out.append(Step(line, command, int(expect.group(1)) if expect else 0))
    return out


# set -m: as in an interactive shell, a background job is its own process group (kill %1 stops it all)
_PRELUDE = """set -m
wait_listening() {
  for _ in $(seq 600); do grep -q "listening on" "$1" 2>/dev/null && return 0; sleep 0.1; done
  cat "$1" >&2; return 1
}
"""


def script(document: Path, port: str) -> str:
    """One bash script: each step, then a check of its exit code that stops at the first surprise."""
    out = [_PRELUDE]
    for n, step in enumerate(steps(document, port)):
        out += [f"echo '>>> step {n}'", step.script,
                f"rc=$?; if [ $rc -ne {step.expect} ]; then echo \"step {n} exited $rc, expected "
                f"{step.expect}\" >&2; exit 99; fi"]
    return "\n".join(out) + "\n"


def checkout(tmp: Path) -> Path:
    """A directory laid out like the repository: manifests, examples, the Makefile and its virtualenv."""
    for name in ("manifests", "examples"):
        shutil.copytree(ROOT / name, tmp / name)
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy2(ROOT / name, tmp / name)  # mtimes kept: make sees the virtualenv as up to date
    (tmp / ".venv").symlink_to(Path(sys.prefix))
    return tmp


def free_port() -> str:
    """A port to start a document's server on, below the kernel's ephemeral range: a port bind(0) gave
    back could be taken, before the server binds it, as the local port of one of the connections the
    other test workers open by the thousand (the README's server then fails and its wait loop spins)."""
    ranges = Path("/proc/sys/net/ipv4/ip_local_port_range")
    lowest = int(ranges.read_text().split()[0]) if ranges.exists() else 32768
    for port in random.sample(range(max(1024, lowest - 12000), lowest), 200):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return str(port)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return str(sock.getsockname()[1])


@dataclass(frozen=True)
class Run:
    returncode: int
    output: str
    stubborn: tuple[str, ...] = ()  # processes the runner had to SIGKILL: they outlived SIGTERM


def run(document: Path, cwd: Path, env: dict[str, str], timeout: float = 300) -> Run:
    """Run a document's ```bash blocks in one bash session; every process it started is stopped after,
    with SIGTERM and, for one that outlives it by 5 s, SIGKILL (named in the Run: a server that ignores
    SIGTERM is a defect, and the runner must not hang on it)."""
    port = env["PORT"]
    process = subprocess.Popen(["bash", "-c", script(document, port)], cwd=cwd, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:  # a step hangs: stop it and show how far the script got
        stubborn = stop_session(process.pid)
        try:
            output, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:  # a grandchild we could not stop still holds the pipe
            output = "[no output: the pipe stayed open]"
        return Run(-1, f"{output}\n[the script timed out after {timeout:.0f} s]", stubborn)
    return Run(process.returncode, output, stop_session(process.pid))


def stop_session(session: int, grace: float = 5.0) -> tuple[str, ...]:
    """SIGTERM every process of the session the runner started (background servers included), again
    every 0.1 s; SIGKILL those still there after `grace` seconds and return them ("pid command")."""
    deadline = time.monotonic() + grace
    while left := [pid for pid in _session_pids(session) if pid != os.getpid()]:
        if time.monotonic() >= deadline:
            named = tuple(f"{pid} {_command(pid)}" for pid in left)
            for pid in left:
                _signal(pid, signal.SIGKILL)
            return named
        for pid in left:
            _signal(pid, signal.SIGTERM)
        time.sleep(0.1)
    return ()


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def _session_pids(session: int) -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session and fields[0] != "Z":  # fields after the name: state, ppid, pgrp, sid
            pids.append(int(stat.parent.name))
    return pids

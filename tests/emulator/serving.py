"""`python -m provision.emulator` as its own process, for the tests of the serve command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def served(*args: str, env: dict[str, str] | None = None) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """The emulator serving on a free port with these extra arguments, and its address; stopped after with
    SIGTERM (a stop that hangs fails the test, and the process is then killed)."""
    command = [sys.executable, "-m", "provision.emulator", "--port", "0", *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=dict(os.environ) if env is None else env)
    try:
        assert process.stdout is not None
        first = process.stdout.readline().strip()
        assert first.startswith("listening on http://127.0.0.1:"), first
        yield process, first.removeprefix("listening on ")
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise

"""``python -m provision.emulator [serve] [--port N] ...``: the same as ``provision emulator serve``."""

from __future__ import annotations

import sys

from provision.emulator.cli import app


def main() -> None:
    """Run the emulator CLI; without a subcommand, ``serve``."""
    if len(sys.argv) < 2 or sys.argv[1].startswith("-") and sys.argv[1] not in ("--help", "-h"):
        sys.argv.insert(1, "serve")
    app(prog_name="python -m provision.emulator")


if __name__ == "__main__":
    main()

"""Commands only: parse arguments, call the flow, choose the output and the exit code.

Each command's body lives in its own module (plan, apply, verify, revoke, audit); this file wires
them to typer. Expected failures (ProvisionError) print one actionable message, never a traceback.
"""

from __future__ import annotations

import sys

import typer

from provision.emulator.cli import app as emulator_app
from provision.errors import EXIT_INTERRUPTED, ProvisionError

app = typer.Typer(
    name="provision",
    help="Access-as-code for Alibaba Cloud Model Studio (Bailian): plan, apply, verify, revoke, audit.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(emulator_app, name="emulator")

# --- commands: plan / apply / schema (reconciler) -----------------------------------------------------
# --- commands: verify / revoke / audit ---------------------------------------------------------------


def main() -> None:
    """Console entry point: run the app, turning expected failures into one line and an exit code."""
    try:
        app()
    except ProvisionError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)


if __name__ == "__main__":
    main()

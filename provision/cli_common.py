"""What every command shares: its options, the error handling, loading the manifest, the outputs."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console

from provision.clock import now
from provision.errors import EXIT_INTERRUPTED, ProvisionError
from provision.flow import Context, Prepared, Source, prepare
from provision.plan import ROTATE_FLAG

P = ParamSpec("P")
R = TypeVar("R")

ManifestOpt = Annotated[Path, typer.Option(
    "--manifest", "-m", help="the manifest file (YAML, Jinja2 template)", dir_okay=False)]
VarOpt = Annotated[list[str] | None, typer.Option("--var", help="template variable NAME=VALUE (repeatable)")]
VarFileOpt = Annotated[list[Path] | None, typer.Option("--var-file", help="YAML file of template variables "
                                                                         "(repeatable)", dir_okay=False)]
StateDirOpt = Annotated[Path | None, typer.Option(
    "--state-dir", envvar="PROVISION_STATE_DIR", help="state directory [default: .provision]",
    file_okay=False)]
SecretsDirOpt = Annotated[Path | None, typer.Option(
    "--secrets-dir", envvar="PROVISION_SECRETS_DIR",
    help="secrets sink directory [default: STATE_DIR/secrets]", file_okay=False)]
AllowDestroyOpt = Annotated[bool, typer.Option(
    "--allow-destroy", help="allow deleting resources declared state: absent (protect: true still refuses)")]
RotateMissingOpt = Annotated[bool, typer.Option(
    ROTATE_FLAG, help="replace managed keys whose secret the secrets sink lacks (AccessKey: new key, secret "
                      "to the sink, old key deleted; API key: new value); without it the plan only reports "
                      "them")]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable JSON on stdout")]


def friendly(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn a ProvisionError into one red line on stderr and its exit code (also under a test runner)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except ProvisionError as exc:
            typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("interrupted: run the command again; apply re-plans and does only what is left",
                       err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None

    return wrapper


def parse_vars(pairs: list[str] | None) -> dict[str, str]:
    """``--var NAME=VALUE`` options as a mapping."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ProvisionError(f"--var {pair!r}: expected NAME=VALUE")
        out[name.strip()] = value
    return out


def use_color() -> bool:
    """Colour only on a terminal, and never with NO_COLOR set."""
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def stderr() -> Console:
    """The console for progress and notes (stdout stays for the result)."""
    # soft_wrap: a progress line is one line even when it is longer than the terminal
    return Console(stderr=True, highlight=False, soft_wrap=True)


def load(manifest: Path, var: list[str] | None, var_file: list[Path] | None) -> Prepared:
    """Prepare the manifest given on the command line."""
    return prepare_source(Source(manifest, parse_vars(var), tuple(var_file or ())))


def prepare_source(source: Source) -> Prepared:
    """Prepare a manifest as of :func:`clock.now` (no cloud call) and print its lint warnings on stderr."""
    prepared = prepare(source.manifest, source.vars, source.var_files, now=now())
    err = stderr()
    for warning in prepared.warnings:
        err.print(f"warning: {warning}", style="yellow", markup=False)
    return prepared


def cloud_context(prepared: Prepared, state_dir: Path | None, secrets_dir: Path | None) -> Context:
    """The cloud context of a prepared manifest."""
    return Context.build(prepared.manifest, state_dir=state_dir, secrets_dir=secrets_dir)


def ask(question: str, refusal: str, cancelled: str) -> None:
    """Ask before changing anything; without a terminal to ask on, refuse with ``refusal``."""
    if not sys.stdin.isatty():
        raise ProvisionError(refusal)
    if not typer.confirm(question, default=False, err=True):
        raise ProvisionError(cancelled)

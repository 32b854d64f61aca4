"""What every command shares: its options, the error handling, loading the manifest, the outputs."""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import typer
from typer.core import TyperGroup, TyperOption

from provision.cli.lazy import LazyCommands, LazyGroup
from provision.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, ProvisionError
from provision.plan.flags import ROTATE_FLAG

if TYPE_CHECKING:  # the engine (and the SDKs behind it) load when a command runs, not for its help
    from rich.console import Console

    from provision.engine.flow import CloudContext, Prepared, Source
    from provision.state.lock import Hold

P = ParamSpec("P")
R = TypeVar("R")

ManifestOpt = Annotated[Path, typer.Option(
    "--manifest", "-m", metavar="FILE", help="the manifest file (YAML, Jinja2 template)", dir_okay=False)]
VarOpt = Annotated[list[str] | None, typer.Option("--var", metavar="NAME=VALUE",
                                                  help="template variable (repeatable)")]
VarFileOpt = Annotated[list[Path] | None, typer.Option(
    "--var-file", metavar="FILE", help="YAML file of template variables (repeatable)", dir_okay=False)]
# No typer envvar: the environment is read by Context.build, so an option is set only when the user gave
# it, and the commands the tool prints carry exactly what was given (Source.command_args).
StateDirOpt = Annotated[Path | None, typer.Option(
    "--state-dir", metavar="DIR", help="state directory [env var: PROVISION_STATE_DIR; default: .provision]",
    file_okay=False)]
SecretsDirOpt = Annotated[Path | None, typer.Option(
    "--secrets-dir", metavar="DIR",
    help="secrets sink directory [env var: PROVISION_SECRETS_DIR; default: STATE_DIR/secrets]",
    file_okay=False)]
AllowDestroyOpt = Annotated[bool, typer.Option(
    "--allow-destroy", help="allow deleting resources declared state: absent (protect: true still refuses)")]
RotateMissingOpt = Annotated[bool, typer.Option(
    ROTATE_FLAG, help="replace managed keys whose secret the secrets sink lacks (AccessKey: new key, secret "
                      "to the sink, old key deleted; API key: new value); without it the plan only reports "
                      "them")]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable JSON on stdout")]


# What Ctrl-C leaves behind, per command function; the read-only commands change nothing.
_INTERRUPTED = {
    "apply": "interrupted: every change that finished is listed above; run apply again: it re-plans and "
             "does only what is left",
    "revoke": "interrupted: run revoke again: every step tolerates what is already gone",
}
_READ_ONLY = frozenset({"plan", "verify", "audit", "membership_checklist"})


def friendly(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn a ProvisionError into one red line on stderr and its exit code (also under a test runner),
    and Ctrl-C into exit 130 with what the interrupted command leaves behind."""
    name = fn.__name__
    interrupted = _INTERRUPTED.get(name) or ("interrupted: nothing was changed" if name in _READ_ONLY
                                             else "interrupted: run the command again")

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            try:
                return fn(*args, **kwargs)
            finally:
                _compact_state()
        except ProvisionError as exc:
            typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            typer.echo(interrupted, err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None

    return wrapper


def _compact_state() -> None:
    """The end of a command: fold the state journal it wrote into state.json (state/statefile.py); a
    command that never loaded the state imports nothing here."""
    statefile = sys.modules.get("provision.state.statefile")
    if statefile is not None:
        statefile.compact_all()


# alibabacloud_credentials logs every failed step of its chain (a traceback each) through its own stderr
# handler, before the error the tool reports in one line anyway; at debug level it logs credentials.
_NOISY_LOGGERS = ("credentials",)


HELP_NAMES = ["-h", "--help"]  # every command's help flags


class ProvisionGroup(LazyGroup):
    """The root command: a usage error exits 1 (2 means "changes" to `plan --detailed-exitcode`), flags
    show no type label in help, and the SDKs' credential chain does not log to the terminal. Its
    commands are imported when used (cli/lazy.py)."""

    def prepare(self, command: Any) -> None:
        """A command imported on first use gets the same help adjustments as the root."""
        _blank_flag_metavars(command)

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> Any:
        """Run the command; with ``standalone_mode`` exit with its code, a usage error exiting 1."""
        for logger in _NOISY_LOGGERS:
            logging.getLogger(logger).disabled = True
        _blank_flag_metavars(self)
        if not (sys.argv[1:] if args is None else list(args)):
            args = ["--help"]  # bare `provision`: the help, and success
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False,
                                  windows_expand_args=windows_expand_args, **extra)
        except typer.TyperException as exc:  # usage errors and bad values: click's message, exit 1
            if not standalone_mode:
                raise
            show = getattr(exc, "show", None)
            if callable(show):
                show()
            else:
                typer.echo(f"Error: {exc.format_message()}", err=True)
            sys.exit(EXIT_ERROR)
        except typer.Abort:
            if not standalone_mode:
                raise
            typer.echo("aborted", err=True)
            sys.exit(EXIT_ERROR)
        except ProvisionError as exc:  # from a command without @friendly
            if not standalone_mode:
                raise
            typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
            sys.exit(exc.exit_code)
        if not standalone_mode:
            return result
        # without standalone mode typer returns the code of a typer.Exit; commands themselves return None
        sys.exit(result if isinstance(result, int) else EXIT_OK)


def _blank_flag_metavars(command: Any) -> None:
    """Typer labels every flag ``<bool>`` in help (``--help`` too); a flag takes no value, so none.
    ``command`` is a typer command or group (typer's own vendored click types)."""
    help_option = command.get_help_option(typer.Context(command, help_option_names=HELP_NAMES))
    for option in [*command.params, help_option]:
        if isinstance(option, TyperOption) and option.is_flag and option.metavar is None:
            option.metavar = ""
    if isinstance(command, TyperGroup):
        commands = command.commands
        for name in commands:  # a command not imported yet is adjusted when it is (LazyGroup.prepare)
            if not isinstance(commands, LazyCommands) or commands.is_loaded(name):
                _blank_flag_metavars(commands[name])


def write_out(path: Path, text: str) -> None:
    """Write a file the user named (``--out``); a path that cannot be written is one error line."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ProvisionError(f"cannot write {path}: {exc.strerror or type(exc).__name__}; give a path in an "
                             "existing, writable directory") from None


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
    from rich.console import Console

    # soft_wrap: a progress line is one line even when it is longer than the terminal
    return Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


def load(manifest: Path, var: list[str] | None, var_file: list[Path] | None, state_dir: Path | None = None,
         secrets_dir: Path | None = None) -> Prepared:
    """Prepare the manifest given on the command line (with the dirs given, which printed commands name)."""
    from provision.engine.flow import Source

    return prepare_source(Source(manifest, parse_vars(var), tuple(var_file or ()), state_dir, secrets_dir))


def prepare_source(source: Source) -> Prepared:
    """Prepare a manifest as of :func:`clock.now` (no cloud call) and print its lint warnings on stderr."""
    from provision.clock import now
    from provision.engine.flow import prepare

    prepared = replace(prepare(source.manifest, source.vars, source.var_files, now=now()), source=source)
    err = stderr()
    for warning in prepared.warnings:
        err.print(f"warning: {warning}", style="yellow", markup=False)
    return prepared


def cloud_context(prepared: Prepared, state_dir: Path | None, secrets_dir: Path | None,
                  hold: Hold | None = None) -> CloudContext:
    """The cloud context of a prepared manifest, holding the state dir's lock as ``hold`` says (default:
    no lock) from before the state is read."""
    from provision.engine.flow import Context
    from provision.state.lock import Hold

    return Context.build(prepared.manifest, state_dir=state_dir, secrets_dir=secrets_dir,
                         hold=hold or Hold.NONE)


def ask(question: str, refusal: str, cancelled: str) -> None:
    """Ask before changing anything; without a terminal to ask on, refuse with ``refusal``."""
    if not sys.stdin.isatty():
        raise ProvisionError(refusal)
    if not typer.confirm(question, default=False, err=True):
        raise ProvisionError(cancelled)

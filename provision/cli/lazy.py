"""Commands imported only when they run: `provision --help` lists them without importing one.

The root group names each command by ``module:attribute`` (a command function, or a ``typer.Typer`` of
subcommands) with the first paragraph of its help. Listing the commands (the root's help) shows that
paragraph; looking a command up to run it, or to show its own help, imports its module then, and builds
it the way ``typer`` builds a registered command or an ``add_typer`` group. Every command module keeps
its heavy imports (SDKs, audit, output) inside the function that runs, so a usage error stays cheap too.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
from typer.core import MarkupMode, TyperCommand, TyperGroup
from typer.main import get_command_from_info, get_group_from_info
from typer.models import CommandInfo, TyperInfo

Command = Any  # typer's vendored click Command (typer.core does not export its type)


@dataclass(frozen=True)
class LazyCommand:
    """One command of the root: its name, where it lives, and the line the root's help lists."""

    name: str
    target: str  # "package.module:attribute": a command function, or a typer.Typer of subcommands
    summary: str  # the first paragraph of its help (a test keeps it equal to the command's own)

    def load(self, *, markup: MarkupMode, short_exceptions: bool, suggest: bool) -> Command:
        """Import the command's module and build its click command (as ``typer`` would at start-up)."""
        module_name, _, attribute = self.target.partition(":")
        target = getattr(importlib.import_module(module_name), attribute)
        if isinstance(target, typer.Typer):
            return get_group_from_info(TyperInfo(target, name=self.name),
                                       pretty_exceptions_short=short_exceptions, rich_markup_mode=markup,
                                       suggest_commands=suggest)
        return get_command_from_info(CommandInfo(name=self.name, callback=target),
                                     pretty_exceptions_short=short_exceptions, rich_markup_mode=markup)


class LazyCommands(MutableMapping[str, Command]):
    """A group's commands by name, in order; a lazy one is built the first time it is looked up."""

    def __init__(self, loaded: MutableMapping[str, Command], lazy: dict[str, Callable[[], Command]]) -> None:
        self._names = [*lazy, *(name for name in loaded if name not in lazy)]
        self._loaded = dict(loaded)
        self._lazy = lazy

    def is_loaded(self, name: str) -> bool:
        return name in self._loaded

    def __getitem__(self, name: str) -> Command:
        if name not in self._loaded:
            self._loaded[name] = self._lazy[name]()  # KeyError for an unknown name, as a dict
        return self._loaded[name]

    def __setitem__(self, name: str, command: Command) -> None:
        if name not in self._names:
            self._names.append(name)
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        self._names.remove(name)
        self._loaded.pop(name, None)
        self._lazy.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._names))

    def __len__(self) -> int:
        return len(self._names)


class LazyGroup(TyperGroup):
    """A typer group whose ``lazy`` commands are imported when used, and only listed by its help."""

    lazy: ClassVar[tuple[LazyCommand, ...]] = ()
    plain_help: ClassVar[bool] = False  # the group's own help by click's plain formatter, without rich

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._listing = False
        self._summaries = {entry.name: entry.summary for entry in self.lazy}
        loaders = {entry.name: self._loader(entry) for entry in self.lazy}
        self.commands = LazyCommands(self.commands, loaders)

    def _loader(self, entry: LazyCommand) -> Callable[[], Command]:
        def load() -> Command:
            command = entry.load(markup=self.rich_markup_mode, short_exceptions=True,
                                 suggest=self.suggest_commands)
            self.prepare(command)
            return command
        return load

    def prepare(self, command: Command) -> None:
        """A hook run once on each command when it is built (the root adjusts its help there)."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)

    def get_command(self, ctx: Any, cmd_name: str) -> Command | None:
        if self._listing and cmd_name in self._summaries and isinstance(self.commands, LazyCommands) \
                and not self.commands.is_loaded(cmd_name):
            # the help's list of commands: the summary, without importing the command
            return TyperCommand(name=cmd_name, help=self._summaries[cmd_name],
                                rich_markup_mode=self.rich_markup_mode)
        return self.commands.get(cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            if self.plain_help:
                # click's own help: typer's rich renderer (typer.rich_utils: rich's markdown, traceback
                # and pretty modules, about 0.15 s of imports) would double the start-up of `--help`
                super(TyperGroup, self).format_help(ctx, formatter)
            else:
                super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The commands, each with its whole summary (click's plain help would cut it to one line)."""
        rows = []
        for name in self.list_commands(ctx):
            if name in self._summaries:  # a lazy command: listed without importing it
                rows.append((name, self._summaries[name]))
            elif not (command := self.commands[name]).hidden:
                rows.append((name, command.get_short_help_str(200)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

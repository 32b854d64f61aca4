"""Render a manifest template with Jinja2 while remembering which source line each output line came from.

Before rendering, every line of template text (outside Jinja tags) is prefixed with an invisible marker
``\\x00<file>:<line>\\x00``. Markers survive rendering as plain text, so after rendering each output line
carries the file and line it started on, even when ``{% if %}`` blocks drop lines or includes add them.
A marker is not whitespace, so ``{%- ... %}`` trims only the indentation of its own line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from provision.errors import ManifestError
from provision.manifest.marks import Origin

_MARKER = re.compile(r"\x00(\d+):(\d+)\x00")
_RAW_OPEN = re.compile(r"\{%-?\s*raw\s*[-+]?%\}")
_RAW_CLOSE = re.compile(r"\{%-?\s*endraw\s*[-+]?%\}")
_CLOSERS = {"{{": "}}", "{%": "%}"}


def _marker(file_index: int, line: int) -> str:
    return f"\x00{file_index}:{line}\x00"


def _end_of_tag(source: str, start: int, closer: str) -> int:
    """Index just past the tag opened at ``start``, skipping string literals; len(source) if unclosed."""
    i, quote = start + 2, ""
    while i < len(source):
        ch = source[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif source.startswith(closer, i):
            return i + len(closer)
        i += 1
    return len(source)


def annotate(source: str, file_index: int) -> str:
    """The template with a line marker at the start of every line of template text."""
    out = [_marker(file_index, 1)]
    line, i, raw = 1, 0, False
    while i < len(source):
        if raw:
            m = _RAW_CLOSE.match(source, i)
            if m:
                out.append(m.group())
                i, raw = m.end(), False
                continue
        elif source.startswith("{#", i):
            end = source.find("#}", i + 2)
            end = len(source) if end < 0 else end + 2
            out.append(source[i:end])
            line += source.count("\n", i, end)
            i = end
            continue
        elif source[i:i + 2] in _CLOSERS:
            end = _end_of_tag(source, i, _CLOSERS[source[i:i + 2]])
            raw = bool(_RAW_OPEN.fullmatch(source, i, end))
            out.append(source[i:end])
            line += source.count("\n", i, end)
            i = end
            continue
        ch = source[i]
        out.append(ch)
        if ch == "\n":
            line += 1
            out.append(_marker(file_index, line))
        i += 1
    return "".join(out)


def strip_markers(text: str, files: list[str]) -> tuple[str, list[Origin]]:
    """Rendered text without markers, and the origin of each of its lines."""
    current = Origin(files[0], 1)
    lines: list[str] = []
    origins: list[Origin] = []
    for raw in text.split("\n"):
        origin, content_seen, pos = current, False, 0
        for m in _MARKER.finditer(raw):
            here = Origin(files[int(m.group(1))], int(m.group(2)))
            if not content_seen and not raw[pos:m.start()].strip():
                origin = here
            else:
                content_seen = True
            pos = m.end()
            current = here
        lines.append(_MARKER.sub("", raw))
        origins.append(origin)
    return "\n".join(lines), origins


class _TemplateFailure(Exception):
    """Raised by template helpers (``env()``) to fail rendering with a message for the user."""


class _MarkingLoader(jinja2.FileSystemLoader):
    """Loads the manifest and its includes from the manifest's directory, annotated with line markers."""

    def __init__(self, manifest: Path) -> None:
        super().__init__(str(manifest.parent))
        self.manifest = manifest
        self.files: list[str] = []  # display names, indexed by the markers (the manifest first)
        self.by_path: dict[str, str] = {}  # absolute path → display name

    def get_source(self, environment: jinja2.Environment,
                   template: str) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        display = str(self.manifest.parent / template) if self.files else str(self.manifest)
        self.files.append(display)
        self.by_path[filename] = display
        return annotate(source.replace("\r\n", "\n"), len(self.files) - 1), filename, uptodate


def _env_helper(name: str, default: str | None = None) -> str:
    """``{{ env("NAME") }}`` in a template: the variable's value, or ``default``; fails clearly if unset."""
    value = os.environ.get(name, default)
    if value is None:
        raise _TemplateFailure(f'environment variable {name} is not set (used by env("{name}"))')
    return value


def _template_line(tb: TracebackType | None, loader: _MarkingLoader) -> tuple[str, int | None]:
    """The innermost template file and line in a rendering traceback (Jinja rewrites frames to templates)."""
    found: tuple[str, int | None] = (str(loader.manifest), None)
    while tb is not None:
        display = loader.by_path.get(tb.tb_frame.f_code.co_filename)
        if display is not None:
            found = (display, tb.tb_lineno)
        tb = tb.tb_next
    return found


@dataclass(frozen=True)
class Rendered:
    """A rendered manifest: the YAML text and, per line, where the user wrote it."""

    text: str
    origins: list[Origin]


def render(path: Path, variables: Mapping[str, Any]) -> Rendered:
    """Render the manifest at ``path`` (includes resolve next to it) with strict undefined variables."""
    if not path.is_file():
        raise ManifestError(str(path), None, None, "manifest file not found")
    loader = _MarkingLoader(path)
    # sandboxed: a manifest under review in a pull request must not run arbitrary Python when rendered
    environment = SandboxedEnvironment(loader=loader, undefined=jinja2.StrictUndefined, autoescape=False,
                                       keep_trailing_newline=True, cache_size=0)
    environment.globals["env"] = _env_helper
    try:
        text = environment.get_template(path.name).render(dict(variables))
    except jinja2.TemplateSyntaxError as exc:
        _fail(loader.by_path.get(exc.filename or "", str(path)), exc.lineno,
              f"template syntax error: {exc.message}")
    except jinja2.TemplateNotFound as exc:
        _fail(*_template_line(exc.__traceback__, loader),
              f"include not found: {exc.name} (includes are looked up in {path.parent}/)")
    except jinja2.UndefinedError as exc:
        _fail(*_template_line(exc.__traceback__, loader),
              f"undefined template variable: {exc.message} (pass it with --var or --var-file)")
    except _TemplateFailure as exc:
        _fail(*_template_line(exc.__traceback__, loader), str(exc))
    except Exception as exc:  # a filter or expression failing: still the user's template, not a crash
        _fail(*_template_line(exc.__traceback__, loader), f"template error: {type(exc).__name__}: {exc}")
    clean, origins = strip_markers(text, loader.files)
    return Rendered(clean, origins)


def _fail(file: str, line: int | None, message: str) -> NoReturn:
    raise ManifestError(file, line, None, _MARKER.sub("", message))

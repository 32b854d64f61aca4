"""Render a manifest template with Jinja2 while remembering which source line each output line came from.

Before rendering, every line of template text (outside Jinja tags) is prefixed with an invisible marker
``\\x00<file>:<line>\\x00``. Markers survive rendering as plain text, so after rendering each output line
carries the file and line it started on, even when ``{% if %}`` blocks drop lines or includes add them.
A marker is not whitespace, so ``{%- ... %}`` trims only the indentation of its own line.
"""

from __future__ import annotations

import functools
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn, overload

import jinja2
import jinja2.runtime
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.sandbox import SandboxedEnvironment

from provision.errors import ManifestError
from provision.manifest.limits import LIMITS, Limits, cut
from provision.manifest.line_markers import MARKER, TAG_START, annotate, strip_markers
from provision.manifest.marks import Origin


class _TemplateFailure(Exception):
    """Raised by template helpers (``env()``, the bounds) to fail rendering with a message for the user."""


class _MarkingLoader(jinja2.FileSystemLoader):
    """Loads the manifest and its includes from the manifest's directory, annotated with line markers."""

    def __init__(self, manifest: Path, limits: Limits) -> None:
        super().__init__(str(manifest.parent))
        self.manifest, self.limits = manifest, limits
        self.files: list[str] = []  # display names, indexed by the markers (the manifest first)
        self.by_path: dict[str, str] = {}  # absolute path → display name

    def get_source(self, environment: jinja2.Environment,
                   template: str) -> tuple[str, str, Callable[[], bool]]:
        if len(self.files) >= self.limits.max_includes:
            raise _TemplateFailure(f"more than {self.limits.max_includes} templates loaded (an include "
                                   f"that includes itself?); stopped at {template}")
        source, filename, uptodate = super().get_source(environment, template)
        display = str(self.manifest.parent / template) if self.files else str(self.manifest)
        _check_size(display, source, self.limits)
        self.files.append(display)
        self.by_path[filename] = display
        return annotate(source.replace("\r\n", "\n"), len(self.files) - 1), filename, uptodate


def read_bounded(path: Path, what: str, limits: Limits = LIMITS) -> str:
    """The text of ``path``, refused when larger than the bound (only that much is read)."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            text = handle.read(limits.max_bytes + 1)
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(str(path), None, None, f"cannot read {what}: {exc}") from None
    _check_size(str(path), text, limits)
    return text


def _check_size(file: str, text: str, limits: Limits) -> None:
    """Refuse a template file larger than the bound (``text`` may be cut just past it), at the line where
    it passes the bound."""
    if len(text) > limits.max_bytes:
        line = text.count("\n", 0, limits.max_bytes) + 1
        raise ManifestError(file, line, None, f"the file is larger than the {limits.max_bytes // 1024:,} KiB "
                            "allowed: split it, or manage fewer users per manifest")


# --- env() --------------------------------------------------------------------------------------------

_CREDENTIAL_PREFIXES = ("ALIBABA_CLOUD_", "ALICLOUD_", "HUAWEICLOUD_SDK_", "DASHSCOPE_API_KEY")
_SECRET_NAME = re.compile(r"SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|APIKEY|API_KEY|_KEY$|_SK$|_AK$|^KEY$")


def is_secret_named(name: str) -> bool:
    """Whether a variable is named like a secret: ``*SECRET*``, ``*TOKEN*``, ``*PASSWORD*``, ``*_KEY``..."""
    return bool(_SECRET_NAME.search(name.upper()))


def is_credential_variable(name: str) -> bool:
    """Whether an environment variable belongs to a credential chain or is named like a secret."""
    return name.upper().startswith(_CREDENTIAL_PREFIXES) or is_secret_named(name)


def secret_values() -> dict[str, str]:
    """The environment's secret-named variables and their values (long enough not to match by chance)."""
    return {name: value for name, value in os.environ.items() if len(value) >= 8 and is_secret_named(name)}


def _env_helper(name: str, default: str | None = None) -> str:
    """``{{ env("NAME") }}`` in a template: the variable's value, or ``default``; fails clearly if unset.

    Credential variables are refused unread: a manifest is rendered into plans (``--markdown`` is posted
    on pull requests), so a value read from one would be published."""
    if not isinstance(name, str):
        raise _TemplateFailure(f"env() takes the name of an environment variable, got {cut(str(name))}")
    if is_credential_variable(name):
        raise _TemplateFailure(
            f'env("{name}") is refused: {name} is a credential variable (the cloud credential chain\'s '
            "own, or named like a secret), and a manifest's values end up in every plan format. Secrets "
            "never go in a manifest: the tool reads its credentials from the environment itself")
    value = os.environ.get(name, default)
    if value is None:
        raise _TemplateFailure(f'environment variable {name} is not set (used by env("{name}"))')
    return value


# --- the bounded sandbox ------------------------------------------------------------------------------


class _BoundedCodeGenerator(CodeGenerator):
    """Jinja's code generator, with every string concatenation (``~``) checked against the size bound."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.bounded(")
        super().visit_Concat(node, frame)
        self.write(")")


class _BoundedEnvironment(SandboxedEnvironment):
    """The sandbox, with bounds on loop iterations, value and output size, integer powers and time.

    Every ``{% for %}`` iterates through :meth:`bounded_iter`; calls, filters, ``~`` and the operators
    that can build huge values (``*``, ``**``, ``+``, ``%``) check their result, and the operands of
    ``*`` and ``**`` are checked before the work is done."""

    code_generator_class = _BoundedCodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, limits: Limits, **options: Any) -> None:
        super().__init__(**options)
        self.limits = limits
        self.deadline = float("inf")  # set when rendering starts (compiling is bounded by the file size)
        self.iterations = 0
        self.filters = {name: self._bounded_filter(name, f) for name, f in self.filters.items()}

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Call(nodes.EnvironmentAttribute("bounded_iter"), [loop.iter], [], None, None,
                                   lineno=loop.lineno)
        return tree

    def check_time(self) -> None:
        if time.thread_time() > self.deadline:
            raise _TemplateFailure(_too_slow(self.limits))

    def bounded(self, value: Any) -> Any:
        """``value``, unless it is a string or collection larger than the bound."""
        if isinstance(value, str | list | tuple | dict | set) and len(value) > self.limits.max_bytes:
            what = cut(value) if isinstance(value, str) else f"{type(value).__name__} of {len(value):,} items"
            raise _TemplateFailure(f"a template value is larger than the {self.limits.max_bytes:,} "
                                   f"allowed: {what}")
        return value

    def bounded_iter(self, iterable: Any) -> Iterator[Any]:
        """``iterable``, counting every iteration of every loop against the bound."""
        for item in iterable:
            self.iterations += 1
            if self.iterations > self.limits.max_loop_iterations:
                raise _TemplateFailure(f"template loops ran more than {self.limits.max_loop_iterations:,} "
                                       "iterations in all")
            if not self.iterations & 1023:
                self.check_time()
            yield item

    def start(self) -> None:
        """Rendering starts: the time bound runs from here."""
        self.deadline = time.thread_time() + self.limits.max_render_seconds

    def check_arguments(self, what: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Refuse a count or width past the size bound before the work is done (``center(10**8)``)."""
        self.check_time()
        for value in (*args, *kwargs.values()):
            if isinstance(value, int) and value > self.limits.max_bytes:
                raise _TemplateFailure(f"{what} is given {value:,}, more than the {self.limits.max_bytes:,} "
                                       "allowed")

    def _bounded_filter(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)  # keeps the pass_context / pass_environment marks
        def bounded_filter(*args: Any, **kwargs: Any) -> Any:
            if self.deadline == float("inf"):  # Jinja folding constants while compiling: not now
                raise _TemplateFailure("evaluated when rendering")
            self.check_arguments(f"the filter {name}", args, kwargs)
            return self.bounded(function(*args, **kwargs))
        return bounded_filter

    def call(__self, __context: jinja2.runtime.Context, __obj: Any,  # noqa: N805 - Jinja's signature
             *args: Any, **kwargs: Any) -> Any:
        if __obj is not __self.bounded_iter:
            name = str(getattr(__obj, "__name__", "a call")).removeprefix("safe_")  # Jinja's safe_range
            __self.check_arguments(name, args, kwargs)
        return __self.bounded(super().call(__context, __obj, *args, **kwargs))

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        self.check_time()
        if operator == "*":
            count, sized = (right, left) if isinstance(right, int) else (left, right)
            if isinstance(count, int) and isinstance(sized, str | list | tuple) \
                    and len(sized) * count > self.limits.max_bytes:
                raise _TemplateFailure(f"{cut(str(sized), 20)} * {count:,} is larger than the "
                                       f"{self.limits.max_bytes:,} allowed")
        if operator == "**" and isinstance(left, int) and isinstance(right, int) and abs(left) > 1 \
                and right * abs(left).bit_length() > self.limits.max_power_bits:
            raise _TemplateFailure(f"{left} ** {right} is larger than the {self.limits.max_power_bits:,}-bit "
                                   "integers allowed")
        return self.bounded(super().call_binop(context, operator, left, right))


def _template_line(tb: TracebackType | None, loader: _MarkingLoader,
                   outermost: bool = False) -> tuple[str, int | None]:
    """The innermost (or outermost) template file and line in a rendering traceback (Jinja rewrites frames
    to templates)."""
    found: tuple[str, int | None] = (str(loader.manifest), None)
    while tb is not None:
        display = loader.by_path.get(tb.tb_frame.f_code.co_filename)
        if display is not None:
            found = (display, tb.tb_lineno)
            if outermost:
                break
        tb = tb.tb_next
    return found


class _SameLines(Sequence[Origin]):
    """The origins of a manifest rendered unchanged (no template tags): line n is line n of the file."""

    def __init__(self, file: str, count: int) -> None:
        self.file, self.lines = file, count

    def __len__(self) -> int:
        return self.lines

    @overload
    def __getitem__(self, index: int) -> Origin: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Origin]: ...

    def __getitem__(self, index: int | slice) -> Origin | Sequence[Origin]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self.lines))]
        if not -self.lines <= index < self.lines:
            raise IndexError(index)
        return Origin(self.file, index % self.lines + 1)


@dataclass(frozen=True)
class Rendered:
    """A rendered manifest: the YAML text and, per line, where the user wrote it."""

    text: str
    origins: Sequence[Origin]


def render(path: Path, variables: Mapping[str, Any], limits: Limits = LIMITS) -> Rendered:
    """Render the manifest at ``path`` (includes resolve next to it) with strict undefined variables."""
    if not path.is_file():
        raise ManifestError(str(path), None, None, "manifest file not found")
    source = read_bounded(path, "the manifest", limits)
    if not TAG_START.search(source):  # no template tags: the text is the YAML, line for line
        text = source.replace("\r\n", "\n")
        return Rendered(text, _SameLines(str(path), text.count("\n") + 1))
    loader = _MarkingLoader(path, limits)
    # sandboxed: a manifest under review in a pull request must not run arbitrary Python when rendered
    environment = _BoundedEnvironment(limits, loader=loader, undefined=jinja2.StrictUndefined,
                                      autoescape=False, keep_trailing_newline=True, cache_size=0)
    environment.globals["env"] = _env_helper
    try:
        text = _generate(environment, environment.get_template(path.name), dict(variables), loader)
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
    except ManifestError:
        raise
    except RecursionError as exc:  # where the first call was made
        _fail(*_template_line(exc.__traceback__, loader, outermost=True),
              "template error: a macro, loop or include calls itself without end")
    except Exception as exc:  # a filter or expression failing: still the user's template, not a crash
        text = str(exc) if len(str(exc)) <= 200 else f"{str(exc)[:200]}..."
        _fail(*_template_line(exc.__traceback__, loader), f"template error: {type(exc).__name__}: {text}")
    clean, origins = strip_markers(text, loader.files)
    return Rendered(clean, origins)


def _generate(environment: _BoundedEnvironment, template: jinja2.Template, variables: dict[str, Any],
              loader: _MarkingLoader) -> str:
    """The rendered text, stopped as soon as it passes the size or time bound."""
    limits = environment.limits
    chunks: list[str] = []
    size = 0
    environment.start()
    for chunk in template.generate(variables):
        chunks.append(chunk)
        size += len(chunk)
        too_big = size > limits.max_bytes
        if too_big or time.thread_time() > environment.deadline:
            file, line = _last_marker("".join(chunks), loader)
            raise ManifestError(file, line, None, _too_slow(limits) if not too_big else
                                f"the rendered manifest is larger than {limits.max_bytes // 1024:,} KiB: "
                                "the template produces too much output")
    return "".join(chunks)


def _too_slow(limits: Limits) -> str:
    return f"rendering took more than {limits.max_render_seconds:g} s of CPU: the template does too much work"


def _last_marker(text: str, loader: _MarkingLoader) -> tuple[str, int | None]:
    """The file and line the last rendered text came from."""
    at = text.rfind("\x00", 0, max(0, len(text) - 1))
    start = text.rfind("\x00", 0, at) if at > 0 else -1
    found = MARKER.match(text, start) if start >= 0 else None
    if found is None:
        return str(loader.manifest), None
    return loader.files[int(found.group(1))], int(found.group(2))


def _fail(file: str, line: int | None, message: str) -> NoReturn:
    raise ManifestError(file, line, None, MARKER.sub("", message))

"""Parse rendered manifest YAML into plain data plus the source line of every field: fast and bounded.

The fast path reads libyaml's event stream (PyYAML's C parser) and builds plain Python data with an
explicit stack, recording the line of each mapping key and sequence item as it goes. While building it
refuses what a manifest never needs and an attacker would use: explicit tags (``!!python/object/apply``),
nesting deeper than the bound, values longer than the bound, several documents, and anchors, aliases and
merge keys whose expansion passes the bound (an alias bomb) or refers to itself. Scalars resolve as in
YAML 1.2 (``yes``/``no``/``on`` stay strings), as the round-trip loader did.

A syntax error is worded by ruamel's pure-Python parser (the slow path) when the text up to the error is
small, since its messages name the construct left open; otherwise libyaml's own message is used.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NoReturn

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError as RuamelMarkedError

from provision.errors import ManifestError
from provision.manifest.limits import LIMITS, Limits, cut
from provision.manifest.marks import FieldPath, Origin, SourceMap, dotted

_SLOW_PATH_CHARS = 16 * 1024  # word a syntax error with ruamel only when the text up to it is this small

_CONSTANTS: dict[str, Any] = {
    "": None, "~": None, "null": None, "Null": None, "NULL": None,
    "true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False,
    ".inf": float("inf"), ".Inf": float("inf"), ".INF": float("inf"),
    "+.inf": float("inf"), "+.Inf": float("inf"), "+.INF": float("inf"),
    "-.inf": float("-inf"), "-.Inf": float("-inf"), "-.INF": float("-inf"),
    ".nan": float("nan"), ".NaN": float("nan"), ".NAN": float("nan"),
}
_NUMBER_START = frozenset("0123456789+-.")
_INT = re.compile(r"[-+]?[0-9][0-9_]*")
_PREFIXED_INT = re.compile(r"([-+]?)0([xob])([0-9a-fA-F_]+)")
_BASES = {"x": 16, "o": 8, "b": 2}
_FLOAT = re.compile(r"[-+]?(?:[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[0-9][0-9_]*[eE][-+]?[0-9]+"
                    r"|\.[0-9_]+(?:[eE][-+]?[0-9]+)?)")
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}"
                        r":[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?")
_TIMESTAMPS = yaml.SafeLoader("")  # only its timestamp constructor is used


@functools.lru_cache(maxsize=4096)  # the values are immutable; manifests repeat dates, numbers, words
def resolve(value: str) -> Any:
    """A plain (unquoted) YAML scalar as its YAML 1.2 core-schema value (timestamps included)."""
    if value in _CONSTANTS:
        return _CONSTANTS[value]
    if not value or value[0] not in _NUMBER_START:
        return value
    if _INT.fullmatch(value):
        return int(value.replace("_", ""))
    prefixed = _PREFIXED_INT.fullmatch(value)
    if prefixed:
        sign, base, digits = prefixed.groups()
        try:
            number = int(digits.replace("_", ""), _BASES[base])
        except ValueError:
            return value
        return -number if sign == "-" else number
    if _FLOAT.fullmatch(value):
        return float(value.replace("_", ""))
    if _TIMESTAMP.fullmatch(value):
        try:
            stamp: date | datetime = _TIMESTAMPS.construct_yaml_timestamp(
                yaml.ScalarNode("tag:yaml.org,2002:timestamp", value))
        except ValueError:  # 2027-13-45: not a date, so a string (validation says what is wrong)
            return value
        return stamp
    return value


@dataclass
class _Collection:
    """A mapping or sequence being built."""

    path: FieldPath
    line: int  # 0-based line in the rendered text
    anchor: str | None
    data: Any
    values: int = 1  # values in this subtree, aliases expanded
    key: str | None = None  # mappings: the key whose value comes next
    key_line: int = 0
    merges: list[tuple[dict[str, Any], int]] = field(default_factory=list)  # mappings: <<: values, lines
    merge_pending: bool = False


@dataclass(frozen=True)
class _Anchored:
    value: Any
    values: int


class _Builder:
    """Plain data from libyaml events, with the source line of each key and item."""

    def __init__(self, file: str, origin: Callable[[int], Origin], limits: Limits) -> None:
        self.file, self.origin, self.limits = file, origin, limits
        self.source = SourceMap(file)
        self.anchors: dict[str, _Anchored | None] = {}  # None: still being built
        self.stack: list[_Collection] = []
        self.values = 0
        self.root: Any = None
        self.documents = 0

    def fail(self, line: int, path: FieldPath | None, message: str) -> NoReturn:
        where = self.origin(line)
        raise ManifestError(where.file, where.line or None, dotted(path) or None if path else None, message)

    def run(self, parser: yaml.CSafeLoader) -> Any:
        get_event = parser.get_event
        try:
            while True:
                event = get_event()
                kind = type(event)
                if kind is yaml.StreamEndEvent:
                    return self.root
                self.event(kind, event)
        finally:
            parser.dispose()

    def event(self, kind: type, event: Any) -> None:
        if kind is yaml.ScalarEvent:
            self.scalar(event)
        elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            self.start(event, kind is yaml.MappingStartEvent)
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            self.end()
        elif kind is yaml.AliasEvent:
            self.alias(event)
        elif kind is yaml.DocumentStartEvent:
            self.documents += 1
            if self.documents > 1:
                self.fail(event.start_mark.line, None, "a manifest is one YAML document: remove the "
                                                       "second '---' and what follows, or merge them")

    # --- events ----------------------------------------------------------------------------------------

    def check_node(self, event: Any, line: int) -> None:
        path = self.next_path()
        if event.tag is not None and event.tag != "!":
            tag = cut(event.tag.replace("tag:yaml.org,2002:", "!!"))[1:-1]
            self.fail(line, path, f"YAML tags such as {tag} are not supported (write the plain value)")
        if event.anchor is not None and event.anchor in self.anchors:
            self.fail(line, path, f"YAML anchor &{event.anchor} is defined twice")

    def scalar(self, event: Any) -> None:
        line = event.start_mark.line
        self.check_node(event, line)
        text: str = event.value
        if len(text) > self.limits.max_scalar:
            self.fail(line, self.next_path(), f"a value of {len(text):,} characters is longer than the "
                      f"{self.limits.max_scalar:,} allowed: {cut(text)}")
        top = self.stack[-1] if self.stack else None
        plain = bool(event.implicit[0])  # a plain (unquoted) scalar
        if top is not None and isinstance(top.data, dict) and top.key is None and not top.merge_pending:
            if event.anchor is not None:
                self.fail(line, top.path, "an anchor on a mapping key is not supported")
            if plain and text == "<<":
                top.merge_pending = True
                top.key_line = line
                return
            if text in top.data:
                self.fail(line, None, f"duplicate key {text!r} (first written at line "
                                                   f"{self.source.origins[(*top.path, text)].line})")
            top.key, top.key_line = text, line
            return
        self.add(resolve(text) if plain else text, 1, line, event.anchor, 1)

    def start(self, event: Any, mapping: bool) -> None:
        line = event.start_mark.line
        self.check_node(event, line)
        top = self.stack[-1] if self.stack else None
        if top is not None and isinstance(top.data, dict) and top.key is None and not top.merge_pending:
            self.fail(line, top.path, "a mapping key must be a plain value, not a mapping or a list")
        if len(self.stack) >= self.limits.max_depth:
            self.fail(line, self.next_path()[:2], _too_deep(self.limits))
        self.count(1, line)
        if event.anchor is not None:
            self.anchors[event.anchor] = None
        self.stack.append(_Collection(self.next_path(), line, event.anchor, {} if mapping else []))

    def end(self) -> None:
        done = self.stack.pop()
        if done.merges:
            self.merge(done)
        self.add(done.data, done.values, done.line, done.anchor, 0)  # counted when it started

    def alias(self, event: Any) -> None:
        line, name = event.start_mark.line, event.anchor
        if name not in self.anchors:
            self.fail(line, self.next_path(), f"YAML alias *{name} names no anchor defined before it")
        anchored = self.anchors[name]
        if anchored is None:
            self.fail(line, self.next_path(), f"YAML alias *{name} refers to the value it is part of")
        top = self.stack[-1] if self.stack else None
        if top is not None and isinstance(top.data, dict) and top.key is None and not top.merge_pending:
            self.fail(line, top.path, "a mapping key must be a plain value, not an alias")
        self.add(anchored.value, anchored.values, line, None, anchored.values)

    # --- building --------------------------------------------------------------------------------------

    def next_path(self) -> FieldPath:
        """The field path of the value that comes next."""
        if not self.stack:
            return ()
        top = self.stack[-1]
        if isinstance(top.data, list):
            return (*top.path, len(top.data))
        return (*top.path, top.key) if top.key is not None else top.path

    def count(self, new: int, line: int) -> None:
        """Count ``new`` values (an alias counts every value it repeats) against the bound."""
        self.values += new
        if self.values > self.limits.max_values:
            self.fail(line, self.next_path(), f"more than {self.limits.max_values:,} YAML values once "
                      "aliases and merge keys are expanded (an alias bomb?): write the values out instead")

    def add(self, value: Any, values: int, line: int, anchor: str | None, new: int) -> None:
        """Put a finished value (``values`` in its subtree, ``new`` of them not counted yet) in place."""
        self.count(new, line)
        if anchor is not None:
            self.anchors[anchor] = _Anchored(value, values)
        if not self.stack:
            self.root = value
            self.source.origins[()] = self.origin(line)
            return
        top = self.stack[-1]
        top.values += values
        origins = self.source.origins
        if isinstance(top.data, list):
            origins[(*top.path, len(top.data))] = self.origin(line)
            top.data.append(value)
        elif top.merge_pending:
            top.merge_pending = False
            self.merge_value(top, value, line)
        else:
            key = top.key
            assert key is not None
            origins[(*top.path, key)] = self.origin(top.key_line)
            top.data[key] = value
            top.key = None

    def merge_value(self, top: _Collection, value: Any, line: int) -> None:
        maps = value if isinstance(value, list) else [value]
        if not all(isinstance(m, dict) for m in maps):
            self.fail(line, top.path, "a merge key (<<) takes a mapping or a list of mappings")
        top.merges += [(m, line) for m in maps]

    def merge(self, done: _Collection) -> None:
        """Keys merged in with ``<<:`` fill what the mapping does not set itself (the first merge wins)."""
        data: dict[str, Any] = done.data
        for merged, line in done.merges:
            self.count(len(merged), line)
            for key, value in merged.items():
                if key not in data:
                    data[key] = value
                    self.source.origins.setdefault((*done.path, key), self.origin(line))


def parse_yaml(text: str, file: str, origin: Callable[[int], Origin],
               limits: Limits = LIMITS) -> tuple[Any, SourceMap]:
    """The YAML document in ``text`` as plain data, and the origin of every field path in it.

    ``origin`` maps a 0-based line of ``text`` to where the user wrote it."""
    builder = _Builder(file, origin, limits)
    try:
        data = builder.run(yaml.CSafeLoader(text))
    except yaml.MarkedYAMLError as exc:
        _syntax_error(text, file, origin, exc, limits)
    except yaml.YAMLError as exc:  # a reader error (a control character) carries a position, not a mark
        position = getattr(exc, "position", None)
        line = text.count("\n", 0, position) if isinstance(position, int) else None
        where = origin(line) if line is not None else Origin(file, 0)
        raise ManifestError(where.file, where.line or None, None, f"invalid YAML: {exc}") from None
    if isinstance(data, dict) and data:  # a manifest's own line is that of its first key
        builder.source.origins[()] = builder.source.origins[(next(iter(data)),)]
    return data, builder.source


def _too_deep(limits: Limits) -> str:
    return f"nested deeper than {limits.max_depth} levels: a manifest needs far fewer"


def _syntax_error(text: str, file: str, origin: Callable[[int], Origin], fast: yaml.MarkedYAMLError,
                  limits: Limits) -> NoReturn:
    """Raise the syntax error, worded by ruamel when the text up to it is small enough to re-read."""
    error: Any = fast
    mark = fast.problem_mark or fast.context_mark
    if "nesting depth" in str(fast.problem):  # libyaml's own bound (1,000), far past ours
        where = origin(mark.line) if mark else Origin(file, 0)
        raise ManifestError(where.file, where.line or None, None, _too_deep(limits))
    if mark is not None and mark.index <= _SLOW_PATH_CHARS:
        end = text.find("\n", text.find("\n", mark.index) + 1)
        try:
            YAML(typ="safe", pure=True).load(text if end < 0 else text[:end])
        except RuamelMarkedError as exc:
            error = exc
        except Exception:  # noqa: BLE001 - the slow path only words the error; libyaml's stands otherwise
            pass
    # an unclosed [, { or quote is noticed lines later; the mistake is where it was opened
    unclosed = error.context_mark is not None and ("flow" in str(error.context)
                                                   or "quoted scalar" in str(error.context))
    mark = error.context_mark if unclosed else error.problem_mark or error.context_mark
    where = origin(mark.line) if mark else Origin(file, 0)
    context = f" ({error.context})" if error.context else ""
    raise ManifestError(where.file, where.line or None, None, f"invalid YAML: {error.problem}{context}")

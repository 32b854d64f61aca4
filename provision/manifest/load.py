"""Load a manifest: render (Jinja2) → parse (ruamel.yaml, line marks) → validate (pydantic) → cross-check.

Every problem becomes a :class:`ManifestError` naming the file and line the user wrote and the field as
a dotted path (``users[1].access_keys``); further problems are listed after the first.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarbool import ScalarBoolean

from provision.errors import ManifestError
from provision.manifest.marks import FieldPath, Origin, Problem, SourceMap, dotted
from provision.manifest.model import Manifest
from provision.manifest.refs import check_references
from provision.manifest.render import Rendered, render

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SECRET_KEY = re.compile(r"(?i)(^|_)(password|passwd|secret|token|credentials?|private_key|api_key_value)$")
_SECRET_VALUES = (
    (re.compile(r"\bLTAI[0-9A-Za-z]{12,30}\b"), "an AccessKey id"),
    (re.compile(r"\bSTS\.[0-9A-Za-z]{20,}"), "an STS token"),
    (re.compile(r"\bsk-[0-9A-Za-z]{24,}\b"), "a DashScope API key"),
)
_MORE = 5  # further problems listed after the first


def load_manifest(path: Path, vars: Mapping[str, str] | None = None,
                  var_files: Sequence[Path] = ()) -> Manifest:
    """Render, parse and validate the manifest at ``path``; ManifestError names file, line and field."""
    path = Path(path)
    variables: dict[str, Any] = {}
    for var_file in var_files:
        variables.update(_read_var_file(Path(var_file)))
    for name, value in (vars or {}).items():
        if not _IDENTIFIER.match(name) or name == "env":
            raise ManifestError("--var", None, None, f"invalid variable name {name!r} (letters, digits, _)")
        variables[name] = value
    rendered = render(path, variables)
    data, source = _parse(rendered, str(path))
    _raise_if(_inline_secrets(data, ()), source)
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as exc:
        _raise_if([_problem(error, data) for error in exc.errors()], source)
        raise  # unreachable: a ValidationError has at least one error
    manifest.with_source(source)
    _raise_if(check_references(manifest), source)
    return manifest


def manifest_json_schema() -> dict[str, Any]:
    """The JSON Schema of the manifest (``provision schema`` prints it)."""
    schema = Manifest.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


# --- variables and YAML ------------------------------------------------------------------------------


def _read_var_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ManifestError(str(path), None, None, "variables file not found")
    try:
        data = YAML(typ="safe").load(path.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(str(path), None, None, f"cannot read variables file: {exc}") from None
    except MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise ManifestError(str(path), line, None, f"invalid YAML: {exc.problem}") from None
    except YAMLError as exc:
        raise ManifestError(str(path), None, None, f"invalid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(k, str) and _IDENTIFIER.match(k) for k in data):
        raise ManifestError(str(path), 1, None, "a variables file is a mapping of names (letters, digits, _)")
    return data


def _parse(rendered: Rendered, file: str) -> tuple[dict[str, Any], SourceMap]:
    """The rendered YAML as plain data, and the source line of every field path."""
    source = SourceMap(file)

    def origin(line: int) -> Origin:
        return rendered.origins[min(line, len(rendered.origins) - 1)]

    try:
        document = YAML(typ="rt").load(rendered.text)
    except MarkedYAMLError as exc:
        # an unclosed [ or { is noticed lines later; the mistake is where it was opened
        unclosed = exc.context_mark is not None and "flow" in str(exc.context)
        mark = exc.context_mark if unclosed else exc.problem_mark or exc.context_mark
        where = origin(mark.line) if mark else Origin(file, 0)
        context = f" ({exc.context})" if exc.context else ""
        raise ManifestError(where.file, where.line or None, None,
                            f"invalid YAML: {exc.problem}{context}") from None
    except YAMLError as exc:
        raise ManifestError(file, None, None, f"invalid YAML: {exc}") from None
    if document is None:
        raise ManifestError(file, None, None, "the manifest is empty")
    if not isinstance(document, CommentedMap):
        line = origin(document.lc.line).line if hasattr(document, "lc") else None
        raise ManifestError(file, line, None, "the manifest must be a mapping (version, name, cloud, ...)")
    if document:
        source.origins[()] = origin(document.lc.key(next(iter(document)))[0])
    return _plain(document, (), source, origin), source


def _plain(node: Any, path: FieldPath, source: SourceMap, origin: Callable[[int], Origin]) -> Any:
    """Plain Python data from ruamel nodes, recording the origin of each key and item."""
    if isinstance(node, CommentedMap):
        out: dict[str, Any] = {}
        for key, value in node.items():
            child = (*path, str(key))
            try:
                source.origins[child] = origin(node.lc.key(key)[0])
            except (KeyError, TypeError):  # keys merged in with <<: have no marks of their own
                pass
            out[str(key)] = _plain(value, child, source, origin)
        return out
    if isinstance(node, CommentedSeq):
        items = []
        for i, value in enumerate(node):
            source.origins[(*path, i)] = origin(node.lc.item(i)[0])
            items.append(_plain(value, (*path, i), source, origin))
        return items
    if isinstance(node, TaggedScalar):
        where = source.locate(path) or Origin(source.file, 0)
        raise ManifestError(where.file, where.line or None, dotted(path),
                            f"YAML tags such as {node.tag.value} are not supported")
    if isinstance(node, bool | ScalarBoolean):
        return bool(node)
    if node is None:
        return None
    for plain in (str, int, float, datetime, date):
        if isinstance(node, plain):
            return node if type(node) is plain else _as(plain, node)
    return node


def _as(plain: type, node: Any) -> Any:
    """A ruamel scalar subclass (ScalarInt, TimeStamp, ...) as its plain type."""
    if plain is datetime:
        return datetime(node.year, node.month, node.day, node.hour, node.minute, node.second,
                        node.microsecond, node.tzinfo)
    if plain is date:
        return date(node.year, node.month, node.day)
    return plain(node)


# --- problems --------------------------------------------------------------------------------------------


def _inline_secrets(data: Any, path: FieldPath) -> list[Problem]:
    """Values that look like secrets, and secret-named keys holding a value: secrets never go inline."""
    found: list[Problem] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if _SECRET_KEY.search(key) and value not in (None, "", [], {}):
                found.append(Problem((*path, key), f"{key!r} looks like a secret written inline: secrets "
                                     "never go in the manifest (generated ones go to the secrets sink; "
                                     "reference others as env:NAME)"))
            else:
                found.extend(_inline_secrets(value, (*path, key)))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found.extend(_inline_secrets(value, (*path, i)))
    elif isinstance(data, str):
        for pattern, what in _SECRET_VALUES:
            if pattern.search(data):
                found.append(Problem(path, f"value looks like {what} written inline: secrets never go in "
                                           "the manifest; keep it in an environment variable and reference "
                                           "it as env:NAME"))
    return found


def _problem(error: ErrorDetails, data: Any) -> Problem:
    """A pydantic error as a problem at the path the user wrote (union branch names dropped)."""
    loc = error["loc"]
    path: list[str | int] = []
    node = data
    for n, part in enumerate(loc):
        missing = error["type"] == "missing" and n == len(loc) - 1
        if isinstance(node, dict) and isinstance(part, str) and (part in node or missing):
            path.append(part)
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            path.append(part)
            node = node[part]
    return Problem(tuple(path), _message(error, tuple(path)))


def _message(error: ErrorDetails, path: FieldPath) -> str:
    kind, text = error["type"], error["msg"]
    if path == ("version",) and kind == "literal_error":
        return f"unsupported manifest version {error['input']!r}: this tool reads version 1"
    if kind == "missing":
        return f"required field {path[-1]!r} is missing" if path else "required field is missing"
    if kind == "extra_forbidden":
        return _unknown_field(path)
    if kind == "value_error":
        return text.removeprefix("Value error, ")
    if kind == "string_pattern_mismatch":
        info = _field_at(path)
        what = f" ({info.description})" if info and info.description else ""
        return f"invalid value {error['input']!r}{what}: it must match {error.get('ctx', {}).get('pattern')}"
    value = error.get("input")
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return f"{text} (got {value!r:.60})"
    return text


def _unknown_field(path: FieldPath) -> str:
    parent = _field_at(path[:-1])
    model = _model_in(parent.annotation) if parent else Manifest if len(path) == 1 else None
    known = [f.alias or name for name, f in model.model_fields.items()] if model else []
    close = difflib.get_close_matches(str(path[-1]), known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(known)})" if known else ""
    return f"unknown field {path[-1]!r}{hint}"


def _field_at(path: FieldPath) -> FieldInfo | None:
    """The pydantic field declared at ``path`` (list indices skipped), if any."""
    current: Any = Manifest
    info: FieldInfo | None = None
    for part in path:
        if isinstance(part, int):
            continue
        model = _model_in(current)
        if model is None:
            return None
        info = next((f for name, f in model.model_fields.items() if (f.alias or name) == part), None)
        if info is None:
            return None
        current = info.annotation
    return info


def _model_in(annotation: Any) -> Any:
    """The pydantic model inside ``X``, ``X | None`` or ``list[X]``, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _raise_if(problems: list[Problem], source: SourceMap) -> None:
    """Raise one ManifestError for the first problem in file order, listing the next few."""
    if not problems:
        return
    unique = list(dict.fromkeys(problems))

    def order(p: Problem) -> tuple[bool, int, int]:
        where = source.locate(p.path)
        line = where.line if where else 0
        return (where is not None and where.file != source.file, line, -len(p.path))

    unique.sort(key=order)
    first, rest = unique[0], unique[1:]
    message = first.message
    for p in rest[:_MORE]:
        where = source.locate(p.path)
        at = f"{where.file}:{where.line}" if where else source.file
        message += f"\n  also {at}: [{dotted(p.path)}] {p.message}"
    if len(rest) > _MORE:
        message += f"\n  and {len(rest) - _MORE} more"
    where = source.locate(first.path)
    raise ManifestError(where.file if where else source.file, where.line if where else None,
                        dotted(first.path) or None, message)

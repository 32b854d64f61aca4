"""Load a manifest: render (Jinja2) → parse (ruamel.yaml, line marks) → validate (pydantic) → cross-check.

Every problem becomes a :class:`ManifestError` naming the file and line the user wrote and the field as
a dotted path (``users[1].access_keys``); further problems are listed after the first.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from provision.errors import ManifestError
from provision.manifest.marks import FieldPath, Origin, Problem, SourceMap, dotted
from provision.manifest.model import Manifest
from provision.manifest.parse import parse_yaml
from provision.manifest.refs import check_references
from provision.manifest.render import Rendered, is_secret_named, read_bounded, render, secret_values

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SECRET_KEY = re.compile(r"(?i)(^|_)(password|passwd|secret|token|credentials?|private_key|api_key_value)$")
_SECRET_VALUES = (  # (the prefix checked first, cheaply; the pattern; what it is)
    ("LTAI", re.compile(r"\bLTAI[0-9A-Za-z]{12,30}\b"), "an AccessKey id"),
    ("STS.", re.compile(r"\bSTS\.[0-9A-Za-z]{20,}"), "an STS token"),
    ("sk-", re.compile(r"\bsk-[0-9A-Za-z]{24,}\b"), "a DashScope API key"),
)
_MORE = 5  # further problems listed after the first


def load_manifest(path: Path, vars: Mapping[str, str] | None = None,
                  var_files: Sequence[Path] = ()) -> Manifest:
    """Render, parse and validate the manifest at ``path``; ManifestError names file, line and field."""
    path = Path(path)
    variables: dict[str, Any] = {}
    for var_file in var_files:
        variables.update(_read_var_file(Path(var_file)))
    secrets = secret_values()
    for name, value in (vars or {}).items():
        if not _IDENTIFIER.match(name) or name == "env":
            raise ManifestError("--var", None, None, f"invalid variable name {name!r} (letters, digits, _)")
        _refuse_secret_var(name, value, secrets)
        variables[name] = value
    rendered = render(path, variables)
    _refuse_secret_text(rendered, secrets)
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
    text = read_bounded(path, "the variables file").replace("\r\n", "\n")
    data, _ = parse_yaml(text, str(path), lambda line: Origin(str(path), line + 1))
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(k, str) and _IDENTIFIER.match(k) for k in data):
        raise ManifestError(str(path), 1, None, "a variables file is a mapping of names (letters, digits, _)")
    return data


def _parse(rendered: Rendered, file: str) -> tuple[dict[str, Any], SourceMap]:
    """The rendered YAML as plain data, and the source line of every field path."""
    origins = rendered.origins
    last = len(origins) - 1

    def origin(line: int) -> Origin:
        return origins[min(line, last)]

    document, source = parse_yaml(rendered.text, file, origin)
    if document is None:
        raise ManifestError(file, None, None, "the manifest is empty")
    if not isinstance(document, dict):
        where = source.origins.get(())
        raise ManifestError(file, where.line if where else None, None,
                            "the manifest must be a mapping (version, name, cloud, ...)")
    return document, source


# --- secrets from the environment ---------------------------------------------------------------------
# env() refuses credential variables (render.py); these catch a secret that arrives another way. A --var
# is printed in every plan (it re-creates the command), and the rendered manifest ends up in plans too.

_NO_SECRETS = ("secrets never go in a manifest or on its command line: the tool reads its own credentials "
               "from the environment")


def _refuse_secret_var(name: str, value: str, secrets: Mapping[str, str]) -> None:
    if is_secret_named(name):
        raise ManifestError("--var", None, None, f"--var {name}=... is refused: {name} is named like a "
                                                 f"secret and plans show --var values; {_NO_SECRETS}")
    held = next((env for env, secret in secrets.items() if secret in value), None)
    if held is not None:
        raise ManifestError("--var", None, None, f"--var {name}=... is refused: it holds the value of the "
                                                 f"environment variable {held}; {_NO_SECRETS}")


def _refuse_secret_text(rendered: Rendered, secrets: Mapping[str, str]) -> None:
    for env, secret in secrets.items():
        at = rendered.text.find(secret)
        if at >= 0:
            where = rendered.origins[rendered.text.count("\n", 0, at)]
            raise ManifestError(where.file, where.line, None, f"this line holds the value of the environment "
                                                              f"variable {env}; {_NO_SECRETS}")


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
        for prefix, pattern, what in _SECRET_VALUES:
            if prefix in data and pattern.search(data):
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

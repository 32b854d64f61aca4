"""Line markers: every line of template text carries ``\x00<file>:<line>\x00`` through rendering, so each
output line can be traced back to the file and line it started on (see ``render.py``)."""

from __future__ import annotations

import re

from provision.manifest.marks import Origin

MARKER = re.compile(r"\x00(\d+):(\d+)\x00")
_RAW_OPEN = re.compile(r"\{%-?\s*raw\s*[-+]?%\}")
_RAW_CLOSE = re.compile(r"\{%-?\s*endraw\s*[-+]?%\}")
_CLOSERS = {"{{": "}}", "{%": "%}"}
TAG_START = re.compile(r"\{[{%#]")


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
    line, i, raw, size = 1, 0, False, len(source)
    while i < size:
        found = (_RAW_CLOSE if raw else TAG_START).search(source, i)
        stop = found.start() if found else size
        if stop > i:  # template text: a marker after each newline
            pieces = source[i:stop].split("\n")
            out.append(pieces[0])
            for piece in pieces[1:]:
                line += 1
                out += ("\n", _marker(file_index, line), piece)
        if found is None:
            break
        if raw:
            out.append(found.group())
            i, raw = found.end(), False
            continue
        opener = source[stop:stop + 2]
        if opener == "{#":
            end = source.find("#}", stop + 2)
            end = size if end < 0 else end + 2
        else:
            end = _end_of_tag(source, stop, _CLOSERS[opener])
            raw = bool(_RAW_OPEN.fullmatch(source, stop, end))
        out.append(source[stop:end])
        line += source.count("\n", stop, end)
        i = end
    return "".join(out)


def strip_markers(text: str, files: list[str]) -> tuple[str, list[Origin]]:
    """Rendered text without markers, and the origin of each of its lines."""
    known: dict[tuple[str, str], Origin] = {}

    def origin_of(m: re.Match[str]) -> Origin:
        key = (m.group(1), m.group(2))
        found = known.get(key)
        if found is None:
            found = known[key] = Origin(files[int(key[0])], int(key[1]))
        return found

    current = Origin(files[0], 1)
    lines: list[str] = []
    origins: list[Origin] = []
    for raw in text.split("\n"):
        if "\x00" not in raw:
            lines.append(raw)
            origins.append(current)
            continue
        origin, content_seen, pos = current, False, 0
        for m in MARKER.finditer(raw):
            here = origin_of(m)
            if not content_seen and not raw[pos:m.start()].strip():
                origin = here
            else:
                content_seen = True
            pos = m.end()
            current = here
        lines.append(MARKER.sub("", raw))
        origins.append(origin)
    return "\n".join(lines), origins

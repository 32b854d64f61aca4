"""Where each value of a manifest came from: field paths, dotted names and the source line of each path."""

from __future__ import annotations

from dataclasses import dataclass, field

FieldPath = tuple[str | int, ...]  # ("users", 1, "access_keys")


def dotted(path: FieldPath) -> str:
    """The user-facing name of a field path: ``users[1].access_keys``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


@dataclass(frozen=True)
class Origin:
    """A line in a file the user wrote (1-based)."""

    file: str
    line: int


@dataclass
class SourceMap:
    """Field path → the source line of its key (mappings) or item (sequences), across included files."""

    file: str  # the manifest itself (included files appear in each Origin)
    origins: dict[FieldPath, Origin] = field(default_factory=dict)

    def locate(self, path: FieldPath) -> Origin | None:
        """The origin of ``path``, or of its nearest ancestor (a missing field points at its parent)."""
        for end in range(len(path), -1, -1):
            origin = self.origins.get(path[:end])
            if origin is not None:
                return origin
        return None


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a manifest, at a field path."""

    path: FieldPath
    message: str

"""Every manifest of the bad-manifest corpus fails with a ManifestError naming its file, line and field.

Each file's first line says what to expect: ``# expect: line=N|none [field=F] text="..."``; a missing
``field`` means the error names no field. The offending line carries a ``# <--`` mark.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

from provision.errors import ManifestError
from provision.manifest import load_manifest

CORPUS = Path(__file__).resolve().parents[1] / "data" / "bad_manifests"
CASES = sorted(CORPUS.glob("*.yaml"))


@dataclass(frozen=True)
class Expectation:
    line: int | None
    field: str | None
    text: str


def expectation(manifest: Path) -> Expectation:
    first = manifest.read_text().splitlines()[0]
    assert first.startswith("# expect:"), f"{manifest.name}: first line must be '# expect: ...'"
    pairs = dict(token.split("=", 1) for token in shlex.split(first.removeprefix("# expect:")))
    return Expectation(
        line=None if pairs["line"] == "none" else int(pairs["line"]),
        field=pairs.get("field"),
        text=pairs["text"],
    )


def test_corpus_has_at_least_35_bad_manifests() -> None:
    assert len(CASES) >= 35


@pytest.mark.parametrize("manifest", CASES, ids=lambda p: p.stem)
def test_bad_manifest_fails_at_expected_file_line_and_field(manifest: Path) -> None:
    expected = expectation(manifest)
    with pytest.raises(ManifestError) as caught:
        load_manifest(manifest)
    error = caught.value
    assert Path(error.file) == manifest
    assert (error.line, error.field) == (expected.line, expected.field), str(error)
    assert expected.text in error.message
    assert str(error).startswith(str(manifest) if expected.line is None else f"{manifest}:{expected.line}:")


@pytest.mark.parametrize("manifest", [c for c in CASES if expectation(c).line is not None],
                         ids=lambda p: p.stem)
def test_expected_line_is_the_marked_line(manifest: Path) -> None:
    """Guards the corpus itself: expectations point at the line marked ``# <--`` by its author."""
    lines = manifest.read_text().splitlines()
    marked = [n for n, text in enumerate(lines, start=1) if re.search(r"#\s*<--", text)]
    assert marked == [expectation(manifest).line]

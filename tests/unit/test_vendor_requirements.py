"""docs/vendor-requirements.md names, for each requirement of the vendor documents, the test that shows it:
each named test file and test function must exist, so the table cannot point at nothing."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
DOC = TESTS.parent / "docs" / "vendor-requirements.md"


def test_every_test_the_requirements_table_names_exists() -> None:
    text = DOC.read_text(encoding="utf-8")
    named = re.findall(r"`((?:unit|e2e|emulator|providers|data)/[\w/.]+?)(?:::(\w+))?(?:::(\w+))?`", text)
    assert len(named) > 40  # the table is there and the pattern reads it
    missing = []
    for path, first, second in named:
        source = TESTS / path
        if not source.exists():
            missing.append(path)
            continue
        test = second or first
        if test and not re.search(rf"def {test}\b", source.read_text(encoding="utf-8")):
            missing.append(f"{path}::{test}")
    assert missing == []

"""Every value the code marks [UNVERIFIED] (a limit, a host, a code) is listed in docs/emulator.md's
"Choices marked [UNVERIFIED]", in its cloud's part: a guess about the real cloud is never only in a
comment."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = (ROOT / "docs" / "emulator.md").read_text()
# `NAME = 123  # ... [UNVERIFIED`, `"key": "value",  # ... [UNVERIFIED`, `NAME = "Code"  # [UNVERIFIED`
MARKED_VALUE = re.compile(r'^\s*(?:[A-Z_][A-Z0-9_]*(?:\s*:\s*[^=]+)?\s*=|"[\w.-]+"\s*:)\s*'
                          r'("(?P<text>[^"]+)"|(?P<number>\d[\d_]*))\s*,?\s*#.*\[UNVERIFIED')


def _section(cloud: str) -> str:
    """The [UNVERIFIED] list of one cloud: Alibaba Cloud's is the part before "### Huawei Cloud"."""
    choices = DOCS[DOCS.index("## Choices marked [UNVERIFIED]"):]
    alibaba, _, huawei = choices.partition("### Huawei Cloud")
    return huawei if cloud == "huawei" else alibaba


def marked_values() -> list[tuple[str, str]]:
    """(file:line, value) of every literal the code marks [UNVERIFIED]."""
    found = []
    for path in sorted((ROOT / "provision").rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            match = MARKED_VALUE.match(line)
            if match:
                value = match.group("text") or match.group("number").replace("_", "")
                found.append((f"{path.relative_to(ROOT)}:{number}", value))
    return found


def test_the_pattern_finds_the_marked_values() -> None:
    values = dict(marked_values())
    assert "modelarts.{region}.myhuaweicloud.com" in values.values()
    assert any(where.startswith("provision/emulator/huawei/") for where in values)
    assert any(where.startswith("provision/emulator/alibaba/") for where in values)


def test_every_value_marked_unverified_in_the_code_is_in_its_clouds_list() -> None:
    missing = [f"{where}: {value}" for where, value in marked_values()
               if not re.search(rf"(?<![\w.{{]){re.escape(value)}(?![\w}}])",
                                _section("huawei" if "huawei" in where else "alibaba"))]
    assert not missing, "not in docs/emulator.md's [UNVERIFIED] list:\n" + "\n".join(missing)

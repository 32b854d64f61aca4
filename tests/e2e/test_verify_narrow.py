"""The verify table on a narrow terminal: every line fits, and no host name, id or ARN is split."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.e2e.conftest import Cli

pytestmark = pytest.mark.e2e
SESSION = re.compile(r"[0-9a-f]{32}")  # an agent app's session id: a new one each run


def test_verify_within_80_columns_wraps_the_detail_and_keeps_every_name_whole(
        cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = cli.manifests / "example.yaml"
    assert cli("apply", "-m", manifest, "--auto-approve").exit_code == 0
    results = cli("verify", "-m", manifest, "--json").json()  # the console step is not done: 2 rows fail
    monkeypatch.setenv("COLUMNS", "80")

    narrow = cli("verify", "-m", manifest)

    assert narrow.exit_code == 1
    lines = narrow.stdout.splitlines()
    assert max(map(len, lines)) <= 80, "\n".join(line for line in lines if len(line) > 80)
    words = set(narrow.stdout.split())
    for result in results:  # each id, and each word of the target and detail, is on one line, whole
        assert result["id"] in words
        said = f"{result['target']} {result['diagnosis']}".split()
        assert not [w for w in said if w not in words and not SESSION.fullmatch(w.strip(":"))]
    hosts = {w for r in results for w in r["target"].split() if w.endswith(".aliyuncs.com")}
    assert "dashscope.aliyuncs.com" in hosts and any("privatelink" in h for h in hosts)
    failed = [r for r in results if not r["passed"]]
    assert len(failed) == 2 and all(f"FAIL {r['status'] or ''}".replace("  ", " ").strip() in narrow.stdout
                                    for r in failed)
    assert lines[-1] == "verify: 19 passed, 2 failed"


def test_verify_piped_without_columns_keeps_each_row_on_one_line(cli: Cli,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    manifest = cli.manifests / "example.yaml"
    assert cli("apply", "-m", manifest, "--auto-approve").exit_code == 0
    results = cli("verify", "-m", manifest, "--json").json()

    table = cli("verify", "-m", manifest).stdout.splitlines()

    assert table[0].split() == ["check", "target", "result", "detail"]
    rows = table[2:-1]
    assert len(rows) == len(results)
    for row, result in zip(rows, results, strict=True):
        assert row.startswith(result["id"])
        assert SESSION.sub("S", row.rstrip()).endswith(SESSION.sub("S", result["diagnosis"]))

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


def test_corpus_has_at_least_100_bad_manifests() -> None:
    assert len(CASES) >= 100


# The corpus is written for Alibaba Cloud (its files beginning ``hw_`` for Huawei Cloud's own sections and
# limits). Every Alibaba case but the few that break an Alibaba-only rule also runs as a Huawei manifest,
# its cloud line swapped (same line count): YAML, Jinja, env() secrets, sizes, names and references are
# refused the same way on both clouds.
ALIBABA = "cloud: {site: public, region: cn-beijing}"
HUAWEI = "cloud: {provider: huaweicloud, region: cn-southwest-2}"
ALIBABA_ONLY = {  # refused for an Alibaba-only rule; on Huawei the manifest breaks another rule first
    "allowed_model_not_granted", "verify_denied_model_allowed", "verify_model_not_granted",  # models
    "verify_unknown_endpoint", "verify_unknown_key",  # models
    "custom_policy_listed_as_system", "custom_policy_undeclared",  # RAM documents have Version "1"
    "endpoint_duplicate_zone", "endpoint_no_service",  # PrivateLink zones and service names
    "verify_app_params_without_app", "verify_rag_files_without_pipelines",  # 3-letter workspace names
    "jinja_output_too_big",  # sized to the byte for its cloud line
}
PROVIDER_CASES = [("alibaba", c) for c in CASES] + [
    ("huawei", c) for c in CASES if c.stem not in ALIBABA_ONLY and ALIBABA in c.read_text()]


def test_the_huawei_run_covers_most_of_the_corpus() -> None:
    huawei = [c for p, c in PROVIDER_CASES if p == "huawei"]
    assert len(huawei) >= 90 and len([c for c in CASES if c.stem.startswith("hw_")]) >= 10


@pytest.mark.parametrize(("provider", "case"), PROVIDER_CASES, ids=lambda v: getattr(v, "stem", v))
def test_bad_manifest_fails_at_expected_file_line_and_field(provider: str, case: Path,
                                                            tmp_path: Path) -> None:
    manifest = case
    if provider == "huawei":
        manifest = tmp_path / case.name
        manifest.write_text(case.read_text().replace(ALIBABA, HUAWEI))
    expected = expectation(manifest)
    with pytest.raises(ManifestError) as caught:
        load_manifest(manifest)
    error = caught.value
    assert Path(error.file) == manifest
    assert (error.line, error.field) == (expected.line, expected.field), str(error)
    assert expected.text in error.message
    assert str(error).startswith(str(manifest) if expected.line is None else f"{manifest}:{expected.line}:")
    assert len(error.message) < 1500  # an offending value is cut short, never echoed whole


HEAD = "version: 1\nname: big\ncloud: {site: public, region: cn-beijing}\n"


def _many_users(count: int) -> str:
    return HEAD + "users:\n" + "".join(f"  - name: user-{i:05d}\n    display_name: User number {i} of the "
                                       f"large delivery team\n    access_keys: 1\n"
                                       "    expires_at: 2027-03-31T00:00:00Z\n" for i in range(count))


@pytest.mark.parametrize(("text", "line", "expected"), [
    (_many_users(45_000), 60_238, "the file is larger than the 2,048 KiB allowed"),  # about 5 MB
    (HEAD + "users:\n  - name: " + "a" * 5_000_000 + "\n", 5, "the file is larger than the 2,048 KiB"),
    (HEAD + "users:\n  - name: a\n    display_name: " + "b" * 1_000_000 + "\n", 6,
     "a value of 1,000,000 characters is longer than the 65,536 allowed: 'bbbb"),
], ids=["5MB-of-users", "5MB-scalar", "1MB-scalar"])
def test_huge_manifests_are_refused_at_the_line_that_passes_the_bound(tmp_path: Path, text: str, line: int,
                                                                       expected: str) -> None:
    manifest = tmp_path / "huge.yaml"
    manifest.write_text(text)
    with pytest.raises(ManifestError) as caught:
        load_manifest(manifest)
    assert (caught.value.file, caught.value.line) == (str(manifest), line)
    assert expected in caught.value.message and len(str(caught.value)) < 500


@pytest.mark.parametrize("manifest", [c for c in CASES if expectation(c).line is not None],
                         ids=lambda p: p.stem)
def test_expected_line_is_the_marked_line(manifest: Path) -> None:
    """Guards the corpus itself: expectations point at the line marked ``# <--`` by its author."""
    lines = manifest.read_text().splitlines()
    marked = [n for n, text in enumerate(lines, start=1) if re.search(r"#\s*<--", text)]
    assert marked == [expectation(manifest).line]

"""The secrets sink's env files: they load with `set -a; . FILE; set +a` whatever the value, and read back."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provision.errors import ProvisionError
from provision.providers.huawei.cloud import CLOUD as HUAWEI
from provision.state.secrets import SecretSink, SinkNames, fingerprint, parse_env

NASTY = {
    "SPACES": "two words  and a tab\there",
    "PAREN": "abc)def(",
    "DOLLAR": "$HOME${PATH}$(id)",
    "SINGLE": "it's 'quoted'",
    "DOUBLE": 'say "hi"',
    "BANG": "wow!!1",
    "BACKTICK": "`id` and `whoami`",
    "BACKSLASH": "a\\b\\'c\\",
    "SEMI": "x; rm -rf / & echo |",
    "GLOB": "*?[a-z]~",
    "EMPTY": "",
    "QUOTES_ONLY": "''\"'",
}


def sourced(path: Path, names: list[str]) -> tuple[dict[str, str], str]:
    """The variables bash sees after ``set -a; . FILE; set +a``, and what bash printed on stderr."""
    script = 'set -a; . "$1"; set +a; shift; for n in "$@"; do printf "%s=%s\\0" "$n" "${!n}"; done'
    proc = subprocess.run(["bash", "-c", script, "bash", str(path), *names], capture_output=True, env={},
                          timeout=30)
    assert proc.returncode == 0, proc.stderr
    pairs = [item.split("=", 1) for item in proc.stdout.decode().split("\0") if item]
    return {name: value for name, value in pairs}, proc.stderr.decode()


def test_every_value_loads_verbatim_in_bash_with_nothing_on_stderr(tmp_path: Path) -> None:
    sink = SecretSink(tmp_path / "secrets")
    sink.write("alice", dict(NASTY))

    loaded, errors = sourced(sink.directory / "alice.env", sorted(NASTY))

    assert loaded == NASTY
    assert errors == ""


def test_a_generated_style_password_loads_and_reads_back(tmp_path: Path) -> None:
    sink = SecretSink(tmp_path / "secrets")
    password = "Aa1!)(`$'\"\\;&|<>*?~#%^-_=+{}[],./: end"

    sink.store_password("bob", password)

    loaded, errors = sourced(sink.directory / "bob.env", ["ALIBABA_CLOUD_CONSOLE_PASSWORD"])
    assert loaded == {"ALIBABA_CLOUD_CONSOLE_PASSWORD": password} and errors == ""
    assert sink.password("bob") == password


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.from_regex(r"[A-Z][A-Z0-9_]{0,12}", fullmatch=True),
                       st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\n\r\0"),
                               max_size=40), min_size=1, max_size=4))
def test_any_one_line_value_survives_a_write_and_a_read(tmp_path_factory: pytest.TempPathFactory,
                                                         entries: dict[str, str]) -> None:
    sink = SecretSink(tmp_path_factory.mktemp("sink"))
    sink.write("carol", dict(entries))
    assert sink.read("carol") == entries


def test_values_are_written_single_quoted_with_quotes_escaped(tmp_path: Path) -> None:
    sink = SecretSink(tmp_path)
    sink.write("dave", {"PASSWORD": "it's"})
    lines = (tmp_path / "dave.env").read_text().splitlines()
    assert lines[1:] == ["PASSWORD='it'\\''s'"]
    assert stat.S_IMODE((tmp_path / "dave.env").stat().st_mode) == 0o600


def test_a_file_written_before_quoting_still_reads(tmp_path: Path) -> None:
    (tmp_path / "erin.env").write_text("# provision secrets for erin\n"
                                       "ALIBABA_CLOUD_ACCESS_KEY_ID=LTAI5tOld\n"
                                       "ALIBABA_CLOUD_CONSOLE_PASSWORD=a)b$c\"d\n")
    sink = SecretSink(tmp_path)
    assert sink.read("erin") == {"ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAI5tOld",
                                 "ALIBABA_CLOUD_CONSOLE_PASSWORD": 'a)b$c"d'}

    sink.store_password("erin", "n3w)pass")  # rewriting the file quotes every value, old ones too

    assert "ALIBABA_CLOUD_ACCESS_KEY_ID='LTAI5tOld'" in (tmp_path / "erin.env").read_text()
    assert sink.read("erin")["ALIBABA_CLOUD_ACCESS_KEY_ID"] == "LTAI5tOld"


def test_parse_env_reads_quoted_and_bare_values_and_skips_comments() -> None:
    text = "# comment\nA='x y'\nB=plain\nC='a'\\''b'\nnot a line\n"
    assert parse_env(text) == {"A": "x y", "B": "plain", "C": "a'b"}


def test_a_multi_line_secret_is_refused_rather_than_written_unreadable(tmp_path: Path) -> None:
    sink = SecretSink(tmp_path)
    with pytest.raises(ValueError, match="one line"):
        sink.write("frank", {"PASSWORD": "line1\nline2"})
    assert not (tmp_path / "frank.env").exists()


def test_a_sink_under_a_regular_file_fails_the_check_naming_the_directory(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    sink = SecretSink(blocker / "secrets")

    with pytest.raises(ProvisionError) as error:
        sink.check_writable()

    message = str(error.value)
    assert str(blocker / "secrets") in message and "--secrets-dir" in message and "Traceback" not in message


def test_the_check_creates_the_sink_0700_and_leaves_no_probe(tmp_path: Path) -> None:
    sink = SecretSink(tmp_path / "state" / "secrets")
    sink.check_writable()
    assert stat.S_IMODE(sink.directory.stat().st_mode) == 0o700
    assert os.listdir(sink.directory) == []


@pytest.mark.parametrize("names", [SinkNames(), HUAWEI.sink_names], ids=["alibaba", "huawei"])
def test_temp_files_a_killed_write_left_are_removed_before_the_next_write(tmp_path: Path,
                                                                          names: SinkNames) -> None:
    sink = SecretSink(tmp_path / "secrets", names)
    sink.store_access_key("alice", "AK1", "s3cret")
    sink.store_password("alice", "pa55word!")
    leftover = sink.directory / ".tmp-abc123"  # what a SIGKILL between write and rename leaves
    leftover.write_text(f"{names.key_secret}=s3cret\n{names.password}=pa55word!\n")
    sink.check_writable()
    assert sorted(p.name for p in sink.directory.iterdir()) == ["alice.env"]
    assert sink.access_key_secret("alice", "AK1") == "s3cret" and sink.password("alice") == "pa55word!"
    assert set(sink.all_values()) == {"pa55word!", "s3cret"}


def test_a_sink_writes_its_clouds_own_names_and_still_finds_every_secret(tmp_path: Path) -> None:
    names = SinkNames(key_id="HUAWEICLOUD_SDK_AK", key_secret="HUAWEICLOUD_SDK_SK",
                      password="HUAWEICLOUD_CONSOLE_PASSWORD", api_key="MAAS_API_KEY")
    sink = SecretSink(tmp_path, names)
    sink.store_access_key("u", "AK1", "sk-one")
    sink.store_password("u", "pw")
    sink.store_api_key("u", "ws", "main", "key-id-1", "maas-value")
    entries = sink.read("u")
    assert entries["HUAWEICLOUD_SDK_AK"] == "AK1" and entries["HUAWEICLOUD_SDK_SK"] == "sk-one"
    assert entries["HUAWEICLOUD_CONSOLE_PASSWORD"] == "pw" and entries["MAAS_API_KEY_WS_MAIN"] == "maas-value"
    assert not [k for k in entries if k.startswith(("ALIBABA_", "DASHSCOPE_"))]
    assert sink.api_key("u", "ws", "main") == ("key-id-1", "maas-value")
    # read back with another cloud's names (as `provision handoff` does): the same secrets, no id among them
    other = SecretSink(tmp_path)
    assert other.held() == {"AK1": fingerprint("sk-one"), "key-id-1": fingerprint("maas-value")}
    assert set(other.all_values()) == {"maas-value", "pw", "sk-one"}

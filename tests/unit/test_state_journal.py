"""The state file's journal: a write appends one line (state.json is not rewritten), a read replays it,
a torn last line is skipped, compaction folds it into state.json, and a crashed run's journal survives."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from provision.desired.resources import UserSpec
from provision.errors import ProvisionError
from provision.state.records import PendingRemoval
from provision.state.statefile import StateFile, compact_all


def _journal(tmp_path: Path) -> Path:
    return tmp_path / "state.journal"


def test_a_write_appends_one_line_and_leaves_state_json_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    StateFile(path).record_workspace("ws-0", "id-0")
    compact_all()
    before = (path.stat().st_ino, path.read_bytes())

    state = StateFile(path)
    for i in range(1, 6):
        state.record_workspace(f"ws-{i}", f"id-{i}")
    state.record_applied(UserSpec(user="alice", display_name="Alice"))
    state.forget_workspace("ws-1")

    assert (path.stat().st_ino, path.read_bytes()) == before
    assert json.loads(path.read_text())["workspace_ids"] == {"ws-0": "id-0"}
    lines = _journal(tmp_path).read_text().splitlines()
    assert len(lines) == 7 and json.loads(lines[-1]) == {"v": 1, "t": "workspace_ids", "k": "ws-1", "d": None}
    reread = StateFile(path)
    assert reread.workspace_ids() == {f"ws-{i}": f"id-{i}" for i in (0, 2, 3, 4, 5)}
    assert set(reread.applied()) == {"ram.user/alice"}

    state.compact()
    assert not _journal(tmp_path).exists()
    assert json.loads(path.read_text())["workspace_ids"] == reread.workspace_ids()
    assert StateFile(path).applied() == reread.applied()


def test_a_torn_last_line_is_skipped_and_the_next_writer_starts_a_line_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    state = StateFile(path)
    state.record_workspace("ws-a", "id-a")
    state.open_intent("ram.access_keys", "alice")
    whole = _journal(tmp_path).read_bytes()
    torn = json.dumps({"v": 1, "t": "workspace_ids", "k": "ws-torn", "d": "id-torn"}).encode()[:25]
    _journal(tmp_path).write_bytes(whole + torn)  # a crash cut the last write short

    reread = StateFile(path)
    assert reread.workspace_ids() == {"ws-a": "id-a"}
    assert [i.name for i in reread.open_intents()] == ["alice"]

    state.record_workspace("ws-b", "id-b")  # appended after the torn line, on a line of its own
    assert StateFile(path).workspace_ids() == {"ws-a": "id-a", "ws-b": "id-b"}
    state.compact()
    assert json.loads(path.read_text())["workspace_ids"] == {"ws-a": "id-a", "ws-b": "id-b"}
    assert not _journal(tmp_path).exists()


def test_a_journal_line_of_an_unknown_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.json"  # written by hand: no command of this process compacts it later
    lines = [{"v": 1, "t": "workspace_ids", "k": "ws-a", "d": "id-a"},
             {"v": 2, "t": "workspace_ids", "k": "ws-b", "d": "id-b"}]
    _journal(tmp_path).write_text("".join(json.dumps(line) + "\n" for line in lines))
    with pytest.raises(ProvisionError, match=r"state journal version 2, but this provision reads version 1"):
        StateFile(path)
    with pytest.raises(ProvisionError, match="unknown table 'grants'"):
        _journal(tmp_path).write_text(json.dumps({"v": 1, "t": "grants", "k": "x", "d": 1}) + "\n")
        StateFile(path)


def test_a_journal_left_by_an_earlier_run_is_folded_in_at_the_first_write(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    StateFile(path).record_workspace("ws-a", "id-a")  # a run that never compacted (killed)
    assert not path.exists() and _journal(tmp_path).exists()

    reader = StateFile(path)
    assert reader.workspace_ids() == {"ws-a": "id-a"}
    assert not path.exists()  # reading never writes

    reader.record_workspace("ws-b", "id-b")
    assert json.loads(path.read_text())["workspace_ids"] == {"ws-a": "id-a"}  # the old journal, folded in
    assert [json.loads(line)["k"] for line in _journal(tmp_path).read_text().splitlines()] == ["ws-b"]


def test_compaction_is_built_from_the_files_never_from_a_stale_view(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    stale = StateFile(path)
    stale.record_workspace("ws-a", "id-a")
    other = StateFile(path)  # another writer of the same state, later
    other.record_workspace("ws-b", "id-b")
    other.forget_workspace("ws-a")

    stale.record_workspace("ws-c", "id-c")  # reaches the journal the other writer now uses
    stale.compact()
    assert json.loads(path.read_text())["workspace_ids"] == {"ws-b": "id-b", "ws-c": "id-c"}
    assert StateFile(path).workspace_ids() == {"ws-b": "id-b", "ws-c": "id-c"}


def test_records_from_many_threads_at_once_are_all_kept(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    state = StateFile(path)
    start = threading.Barrier(8)

    def work(n: int) -> None:
        start.wait()
        for i in range(25):
            intent = state.open_intent("ram.access_keys", f"u{n}-{i}")
            state.record_secret(f"LTAI{n}x{i}", f"ram.access_keys/u{n}-{i}", "sha256:00000000")
            if i % 2:
                state.close_intent(intent)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    reread = StateFile(path)
    assert len(reread.secret_records()) == 200
    assert sorted(i.name for i in reread.open_intents()) == sorted(
        f"u{n}-{i}" for n in range(8) for i in range(0, 25, 2))


def test_what_a_killed_run_recorded_is_read_by_the_next_one(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    code = ("import os, signal, sys; from pathlib import Path\n"
            "from provision.state.statefile import StateFile\n"
            "state = StateFile(Path(sys.argv[1]))\n"
            "state.record_workspace('ws-a', 'id-a')\n"
            "state.open_intent('modelstudio.workspace', 'ws-b')\n"
            "os.kill(os.getpid(), signal.SIGKILL)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, timeout=60)
    assert proc.returncode == -9
    state = StateFile(path)  # no compaction ran: the journal holds it all
    assert state.workspace_ids() == {"ws-a": "id-a"}
    assert [i.key for i in state.open_intents()] == ["modelstudio.workspace/ws-b"]


def test_the_end_of_a_process_folds_the_journal_in(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    code = ("import sys; from pathlib import Path; from provision.state.statefile import StateFile\n"
            "StateFile(Path(sys.argv[1])).record_workspace('ws-a', 'id-a')\n")
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, timeout=60)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]
    assert json.loads(path.read_text())["workspace_ids"] == {"ws-a": "id-a"}


def test_two_runs_that_record_one_removal_keep_the_first_record(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    first, second = StateFile(path), StateFile(path)  # two plans side by side, each with its own view
    first.record_removal("ws", "alice", "expired: first", at=datetime(2026, 1, 2, tzinfo=UTC))
    second.record_removal("ws", "alice", "expired: second", at=datetime(2026, 2, 1, tzinfo=UTC))
    kept = PendingRemoval(since="2026-01-02T00:00:00Z", why="expired: first")

    assert StateFile(path).pending_removals() == {("ws", "alice"): kept}  # the journal, replayed
    second.compact()
    assert StateFile(path).pending_removals() == {("ws", "alice"): kept}  # folded
    second.clear_removal("ws", "alice")  # a clear is no first record: it removes it
    second.record_removal("ws", "alice", "expired: again", at=datetime(2026, 3, 1, tzinfo=UTC))
    assert StateFile(path).pending_removal("ws", "alice") == PendingRemoval("2026-03-01T00:00:00Z",
                                                                            "expired: again")

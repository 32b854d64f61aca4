"""Write-ahead intents and secret records in state.json: durable across processes, kind-agnostic, and the
crash hook that kills the process at a named point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from provision.state.intents import CRASH_ENV, crash_point
from provision.state.statefile import StateFile


def test_an_open_intent_survives_the_process_and_closing_forgets_it(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    opened = StateFile(path).open_intent("modelstudio.api_key", "ws/main", before=("7",), owner="team")

    reread = StateFile(path)
    [intent] = reread.open_intents()
    assert intent == opened and intent.key == "modelstudio.api_key/ws/main" and intent.before == ("7",)
    reread.close_intent(intent)
    assert StateFile(path).open_intents() == []
    reread.compact()
    assert json.loads(path.read_text())["intents"] == []
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # no temp file left


def test_a_kind_the_tool_does_not_know_yet_is_kept_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    StateFile(path).open_intent("huawei.iam_access_key", "bob")
    assert [i.kind for i in StateFile(path).open_intents()] == ["huawei.iam_access_key"]


def test_handoffs_mark_stored_secrets_and_record_unknown_ones(tmp_path: Path) -> None:
    state = StateFile(tmp_path / "state.json")
    state.record_secret("LTAIone", "ram.access_keys/a", "sha256:11111111")
    state.record_secret("LTAItwo", "ram.access_keys/b", "sha256:22222222")

    state.record_handoffs({"LTAIone": "sha256:11111111", "99": "sha256:33333333"})

    records = StateFile(tmp_path / "state.json").secret_records()
    assert records["LTAIone"].handed_off_at is not None and records["LTAIone"].key == "ram.access_keys/a"
    assert records["LTAItwo"].handed_off_at is None
    assert (records["99"].fingerprint, records["99"].handed_off_at is not None) == ("sha256:33333333", True)


def test_the_crash_hook_kills_with_sigkill_at_the_named_point_only(tmp_path: Path) -> None:
    crash_point("after-create:ram.access_keys")  # unset here: nothing happens
    code = ("from provision.state.intents import after_create; after_create('ram.user'); "
            "print('passed', flush=True); after_create('ram.access_keys'); print('not reached')")
    env = {CRASH_ENV: "after-create:modelstudio.workspace, after-create:ram.access_keys"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert (proc.returncode, proc.stdout) == (-9, "passed\n")

"""`make demo` (python -m provision.demo): every step runs for real, no secret shows, a failure stops it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from provision.audit.browser import chromium_path
from provision.demo import NEXT_STEPS
from provision.state.secrets import SecretSink

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def test_the_demos_next_steps_are_the_readmes_commands_which_a_test_runs() -> None:
    from tests.docs.blocks import steps, without_comment

    assert tuple(without_comment(step.line) for step in steps(ROOT / "README.md", "8930")) == NEXT_STEPS


def run_demo(cwd: Path, *args: str, now: str | None = None) -> subprocess.CompletedProcess[str]:
    """The demo as `make demo` runs it, from ``cwd`` (its manifests/ and out/ are relative to it), on the
    real clock or on ``now`` (PROVISION_NOW)."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cwd), **({"PROVISION_NOW": now} if now else {})}
    return subprocess.run([sys.executable, "-m", "provision.demo", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=180, env=env)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A directory laid out like the repository root: the manifests the demo reads."""
    shutil.copytree(ROOT / "manifests", tmp_path / "manifests")
    return tmp_path


def test_demo_runs_every_step_and_shows_no_secret(checkout: Path) -> None:
    stale = checkout / "out" / "demo" / "state" / "leftover.txt"  # a previous run's state is thrown away
    stale.parent.mkdir(parents=True)
    stale.write_text("old")

    proc = run_demo(checkout)

    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    steps = ["$ provision plan -m", "$ provision apply -m", "$ provision membership checklist",
             "CONSOLE STEP (done by a human", "$ provision membership confirm", "No changes.",
             "$ provision verify -m", "verify: 21 passed, 0 failed", "$ provision audit -m"]
    positions = [out.index(step) for step in steps]
    assert positions == sorted(positions), "the steps ran out of order"
    assert not stale.exists()
    secrets_dir = checkout / "out" / "demo" / "state" / "secrets"
    env_files = sorted(secrets_dir.glob("*.env"))
    assert [p.name for p in env_files] == ["acme-delivery.env", "acme-lead.env"]
    assert all(f"out/demo/state/secrets/{p.name}" in out for p in env_files)
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in env_files)
    report = json.loads((checkout / "out" / "audit.json").read_text())
    assert report["summary"]["managed_users"] == 2
    assert (checkout / "out" / "audit.html").read_text().lstrip().lower().startswith("<!doctype html")
    shots = [checkout / "out" / f"audit-{width}.png" for width in (1400, 390)]
    if chromium_path() is not None:  # best-effort: without chromium the demo says it skipped them
        assert all(p.read_bytes().startswith(b"\x89PNG") for p in shots)
    else:
        assert "screenshots skipped" in out
    secrets = SecretSink(secrets_dir).all_values()
    assert len(secrets) >= 5
    next_steps = out[out.index("━━ next steps"):]
    listed = [line.strip() for line in next_steps.splitlines() if line.strip() in NEXT_STEPS]
    assert listed == list(NEXT_STEPS)
    for f in report["findings"]:  # each finding, with what it means and what to do
        assert f"{f['check_id']} ({f['severity']}) {f['resource']}: {f['title']}" in next_steps
    assert {f["check_id"] for f in report["findings"]} == {"BAILIAN-001", "BAILIAN-011"}
    assert "evidence: console login enabled; no MFA device bound" in " ".join(next_steps.split())
    shown = proc.stdout + proc.stderr + (checkout / "out" / "audit.html").read_text() + json.dumps(report)
    assert not [s for s in secrets if s in shown]

    # then the same routine on Huawei Cloud, ending with the revoke and its proofs
    huawei = ["Huawei Cloud: the same routine", "$ provision apply -m manifests/huawei.yaml",
              "verify: 7 passed, 0 failed", "$ provision revoke -m manifests/huawei.yaml",
              "acme-delivery's access is gone", "Huawei Cloud audit report"]
    positions = [out.index(step) for step in huawei]
    assert positions == sorted(positions) and positions[0] > out.index("verify: 21 passed"), out
    hw_report = json.loads((checkout / "out" / "huawei" / "audit.json").read_text())
    assert hw_report["region"] == "cn-southwest-2"
    hw_secrets = SecretSink(checkout / "out" / "huawei" / "demo" / "state" / "secrets").all_values()
    assert not [s for s in hw_secrets if s in proc.stdout + proc.stderr]


def test_demo_stops_at_the_first_failing_step_and_exits_non_zero(checkout: Path) -> None:
    # a security group the account does not have: plan checks it (ECS) and stops before any change
    manifest = checkout / "manifests" / "example.yaml"
    manifest.write_text(manifest.read_text().replace("sg-2zedemo0000000001", "sg-2zenotthere0000001"))

    proc = run_demo(checkout)

    assert proc.returncode == 1
    failed = re.compile(r"demo FAILED: step 1: `provision plan -m manifests/example.yaml "
                        r"--var expires=\S+` exited 1")
    assert failed.search(proc.stderr), proc.stderr
    assert "security group sg-2zenotthere0000001 does not exist in region cn-beijing" in proc.stderr
    assert "$ provision apply" not in proc.stdout
    assert "$ provision membership checklist" not in proc.stdout


def test_demo_users_expire_90_days_after_the_tools_clock_so_they_are_never_already_expired(
        checkout: Path) -> None:
    # long after the example manifest's default expires_at (2027-03-31): users would be stripped at once
    proc = run_demo(checkout, now="2031-06-01T00:00:00Z")

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "--var expires=2031-08-30T00:00:00Z" in proc.stdout
    assert "verify: 21 passed, 0 failed" in proc.stdout
    report = json.loads((checkout / "out" / "audit.json").read_text())
    assert report["as_of"] == "2031-06-01T00:00:00Z"
    users = {u["name"]: u for u in report["access_map"]["users"]}
    assert {u["expires_at"] for u in users.values()} == {"2031-08-30T00:00:00Z"}
    assert not any(u["expired"] for u in users.values())
    assert not [f for f in report["findings"] if f["check_id"] == "BAILIAN-007"]  # expired but active

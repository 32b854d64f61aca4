"""`make demo`: the whole delivery routine against an in-process emulator, through the real CLI.

    python -m provision.demo [--manifest manifests/example.yaml] [--out out]

Starts the emulator on a free port, points PROVISION_ENDPOINT and the root AccessKey at it, keeps state
and secrets in a throwaway ``OUT/demo`` (recreated each run), then runs the commands a user would:
plan, apply, the membership checklist, the console step (played by the emulator's console stand-in),
confirm, a plan that must show no changes, verify, and the audit report (``OUT/audit.html`` and
``.json``; screenshots of the HTML at 1400 and 390 px when chromium is installed). Exits non-zero as
soon as a step does not end as expected. Prints paths, never secrets. Ends with the next steps: the
commands to try by hand against an emulator that keeps running, and what the audit's findings mean.

Every command renders the manifest with ``--var expires=<now + 90 days>`` on the tool's clock
(``PROVISION_NOW`` when set, the only PROVISION_ variable the demo keeps), so the users it delivers are
never already expired, whatever the date.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import click

from provision.audit.browser import screenshots
from provision.cli.app import app
from provision.clock import NOW_ENV, iso, now
from provision.desired.resources import MemberSpec
from provision.emulator.huawei.seed import defaults as huawei_root
from provision.emulator.seed import default_seed
from provision.emulator.testing import EmulatorHandle, running_emulator
from provision.engine.flow import prepare
from provision.errors import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, ProvisionError
from provision.state.statefile import StateFile

# Variables that could point the demo at a real account or another endpoint: the demo removes them all.
_CLOUD_ENV = ("ALIBABA_CLOUD_", "ALICLOUD_", "DASHSCOPE_", "OPENAI_", "PROVISION_", "HUAWEICLOUD_")
HUAWEI_MANIFEST = Path("manifests/huawei.yaml")
ENGAGEMENT = timedelta(days=90)  # how long the demo's users stay delivered (their expires_at)

# The commands to try by hand once the demo is over: the README's "Try it by hand" and "A 60-second tour"
# blocks, line for line (tests/e2e/test_demo.py compares them; tests/docs runs the README's).
NEXT_STEPS = (
    'export PATH="$PWD/.venv/bin:$PATH"',
    "export PROVISION_ENDPOINT=http://127.0.0.1:8930",
    "export ALIBABA_CLOUD_ACCESS_KEY_ID=LTAI5tEmulatorRootKey01",
    "export ALIBABA_CLOUD_ACCESS_KEY_SECRET=emulator-root-secret-not-a-real-key",
    "make emulator &",
    "until curl -sf http://127.0.0.1:8930/_emulator/health >/dev/null; do sleep 1; done",
    "provision plan -m manifests/example.yaml",
    "provision apply -m manifests/example.yaml --auto-approve",
    "provision membership checklist -m manifests/example.yaml",
    "provision verify -m manifests/example.yaml",
    "provision audit -m manifests/example.yaml --format html --out audit.html",
    "kill %1",
)


class DemoFailed(Exception):
    """A step did not end as expected (its output is already on screen)."""


@dataclass(frozen=True)
class Paths:
    """Where the demo writes: the throwaway state dir, its secrets sink, and the audit reports."""

    manifest: Path
    out: Path
    expires: str  # the manifest's `expires` variable: ISO-8601, ENGAGEMENT after the demo's start

    @property
    def variables(self) -> tuple[str, ...]:
        """The template options every command gets: ``--var expires=...``."""
        return ("--var", f"expires={self.expires}")

    @property
    def home(self) -> Path:
        return self.out / "demo"

    @property
    def state(self) -> Path:
        return self.home / "state"

    @property
    def secrets(self) -> Path:
        return self.state / "secrets"

    @property
    def audit_html(self) -> Path:
        return self.out / "audit.html"

    @property
    def audit_json(self) -> Path:
        return self.out / "audit.json"


def run_cli(args: Sequence[str]) -> int:
    """Run one `provision` command in-process, exactly as the console entry point would; its exit code."""
    try:
        code = app(args=list(args), prog_name="provision", standalone_mode=False)
    except ProvisionError as exc:  # commands without the friendly wrapper
        click.secho(f"error: {exc}", fg="red", err=True)
        return exc.exit_code
    except click.ClickException as exc:  # usage errors
        exc.show()
        return exc.exit_code
    return code if isinstance(code, int) else EXIT_OK


class Demo:
    """The steps, numbered and explained, each checked against the exit code it must end with."""

    def __init__(self, paths: Paths, emulator: EmulatorHandle,
                 runner: Callable[[Sequence[str]], int]) -> None:
        self.paths = paths
        self.emulator = emulator
        self.runner = runner
        self.number = 0

    def say(self, title: str, why: str) -> None:
        """Announce the next step: its number, its title and why it is there."""
        self.number += 1
        print(f"\n━━ step {self.number}: {title}", flush=True)
        print(f"   {why}", flush=True)

    def provision(self, *args: str, expect: int = EXIT_OK) -> None:
        """Show and run ``provision ARGS``; raise DemoFailed unless it exits with ``expect``."""
        print(f"$ provision {' '.join(args)}", flush=True)
        code = self.runner(args)
        sys.stdout.flush()
        if code != expect:
            raise DemoFailed(f"step {self.number}: `provision {' '.join(args)}` exited {code}, "
                             f"expected {expect}")

    def run(self) -> None:
        """Every step of the delivery routine, in order; raises DemoFailed at the first that goes wrong."""
        m = (str(self.paths.manifest), *self.paths.variables)
        self.say("plan", "Read the (empty) account, diff it with the manifest. Nothing is changed.")
        self.provision("plan", "-m", *m)
        self.say("apply", "Create users, keys, policy, workspace, grants, API key and the PrivateLink "
                          "endpoint. Secrets go to the sink, never to the screen.")
        self.provision("apply", "-m", *m, "--auto-approve")
        self.say("membership checklist", "Workspace membership has no public API: the tool lists the console "
                                         "steps instead.")
        self.provision("membership", "checklist", "-m", *m)
        members = self.console_step()
        self.say("membership confirm", "The operator records what was done in the console (the probe proves "
                                       "membership, the confirmation records the role).")
        for member in members:
            self.provision("membership", "confirm", "-m", *m, "--workspace", member.workspace,
                           "--user", member.user, "--role", member.role or "guest", "--by", "demo-operator")
        self.say("plan again", "The account now matches the manifest: --detailed-exitcode must exit 0.")
        self.provision("plan", "-m", *m, "--detailed-exitcode")
        self.say("verify", "Prove the delivered access works: model calls with the API key (allowed and "
                           "denied models), through the endpoint, each AccessKey's identity, membership.")
        self.provision("verify", "-m", *m)
        self.say("audit", "Who can reach what, with risks flagged; no secret is ever included.")
        self.provision("audit", "-m", *m, "--format", "html", "--out", str(self.paths.audit_html))
        self.provision("audit", "-m", *m, "--format", "json", "--out", str(self.paths.audit_json))

    def console_step(self) -> list[MemberSpec]:
        """Add the declared members through the emulator's console stand-in; what a human does by hand."""
        self.say("CONSOLE STEP (done by a human in the Model Studio console)",
                 "On a real account an administrator opens Model Studio → Permission management → Accounts "
                 "and adds each RAM user to the workspace with its role. Here the emulator's console "
                 "stand-in (POST /_emulator/workspaces/{id}/members) plays that person.")
        prepared = prepare(self.paths.manifest, {"expires": self.paths.expires})
        state = StateFile(self.paths.state / "state.json")
        members = [s for s in prepared.desired.present if isinstance(s, MemberSpec)]
        for member in members:
            workspace_id = state.workspace_id(member.workspace)
            if workspace_id is None:
                raise DemoFailed(f"no workspace id recorded for {member.workspace}: did apply create it?")
            print(f"   [console] add RAM user {member.user} to {member.workspace} ({workspace_id}) "
                  f"as {member.role}", flush=True)
            self.emulator.add_member(workspace_id, member.user, member.role or "guest")
        return members


class HuaweiDemo(Demo):
    """The same routine on Huawei Cloud (ModelArts Studio / Pangu), then the revoke with its proofs."""

    def run(self) -> None:
        state = ("--state-dir", str(self.paths.state))
        m = (str(self.paths.manifest), *self.paths.variables)
        accepted = (str(self.paths.manifest), "--var", f"expires={iso(now() - timedelta(days=1))}")
        print("\n━━ Huawei Cloud: the same routine for ModelArts Studio / Pangu (manifests/huawei.yaml)")
        self.say("plan",
                 "IAM v5 user, AK/SK, console login, policies, an INTERNAL workspace with its grant, a "
                         "MaaS API key, a VPC endpoint, a guardrail (SCP): --detailed-exitcode exits 2.")
        self.provision("plan", "-m", *m, *state, "--detailed-exitcode", expect=EXIT_CHANGES)
        self.say("apply", "Workspace members are INTERNAL grants here, applied by API: no console step.")
        self.provision("apply", "-m", *m, *state, "--auto-approve")
        self.say("plan again", "The account now matches the manifest: --detailed-exitcode must exit 0.")
        self.provision("plan", "-m", *m, *state, "--detailed-exitcode")
        self.say("verify", "STS names the user for its AK/SK; Pangu V1 signed with it, V2 with the API key "
                           "(openai client), an agent-run conversation; each again through the VPC endpoint.")
        self.provision("verify", "-m", *m, *state)
        self.say("revoke", "After acceptance the manifest says the user has expired: take its access back "
                           "and prove it with the old credentials.")
        self.provision("revoke", "-m", *accepted, *state, "--user", "acme-delivery", "--auto-approve")
        self.say("audit", "Who can reach what on the Huawei account after the revoke.")
        self.provision("audit", "-m", *accepted, *state, "--format", "html", "--out",
                       str(self.paths.audit_html))
        self.provision("audit", "-m", *accepted, *state, "--format", "json", "--out",
                       str(self.paths.audit_json))


def isolate_environment(emulator: EmulatorHandle, paths: Paths) -> None:
    """Point this process at the emulator only: no real credential, profile or metadata service leaks in."""
    for name in list(os.environ):
        if name.startswith(_CLOUD_ENV) and name != NOW_ENV:
            del os.environ[name]
    os.environ.update({
        "PROVISION_ENDPOINT": emulator.url,
        "ALIBABA_CLOUD_ACCESS_KEY_ID": emulator.root_key_id,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": emulator.root_secret,
        "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
        "HUAWEICLOUD_SDK_AK": huawei_root(emulator.account_id)["root_access_key_id"],
        "HUAWEICLOUD_SDK_SK": huawei_root(emulator.account_id)["root_secret_access_key"],
        "PROVISION_STATE_DIR": str(paths.state),
        "PROVISION_POLL_INTERVAL_S": "0.05",
    })


def fresh_dir(path: Path) -> None:
    """Recreate ``path`` empty (the demo's state is throwaway)."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; 0 when every step ended as expected, 1 otherwise."""
    parser = argparse.ArgumentParser(prog="python -m provision.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, default=Path("manifests/example.yaml"))
    parser.add_argument("--out", type=Path, default=Path("out"))
    options = parser.parse_args(argv)
    today = now()
    paths = Paths(options.manifest, options.out, iso(today + ENGAGEMENT))
    fresh_dir(paths.home)
    started = time.monotonic()
    # the cloud's clock starts at the tool's: with PROVISION_NOW set, key ages and expiry agree
    with running_emulator(default_seed(use_env=False).model_copy(update={"clock_start": today})) as emulator:
        isolate_environment(emulator, paths)
        print(f"emulator listening on {emulator.url} (account {emulator.account_id}; emulator-only root key "
              f"{emulator.root_key_id}, not a real credential)")
        print(f"state: {paths.state}   secrets sink: {paths.secrets}")
        print(f"clock: {iso(today)}; the users' expires_at: {paths.expires} ({ENGAGEMENT.days} days later)")
        huawei = Paths(HUAWEI_MANIFEST, options.out / "huawei", paths.expires)
        try:
            Demo(paths, emulator, run_cli).run()
            if options.manifest == Path("manifests/example.yaml"):  # the default run: both clouds
                fresh_dir(huawei.home)
                HuaweiDemo(huawei, emulator, run_cli).run()
        except DemoFailed as failure:
            print(f"\ndemo FAILED: {failure}", file=sys.stderr)
            return EXIT_ERROR
    print(f"\ndemo finished in {time.monotonic() - started:.1f}s: every step ended as expected")
    print(f"audit report: {paths.audit_html} (and {paths.audit_json})")
    try:  # best-effort: the demo has done its job without them
        shots = screenshots(paths.audit_html, paths.out)
        print("screenshots (1400 px, 390 px): " + ", ".join(map(str, shots)))
    except Exception as exc:  # no chromium, or no playwright
        print(f"screenshots skipped: {exc}")
    print(f"Huawei Cloud audit report: {huawei.audit_html} (and {huawei.audit_json})")
    print("secrets env files (mode 0600; load one with `set -a; . FILE; set +a`, never print them):")
    for env_file in sorted([*paths.secrets.glob("*.env"), *huawei.secrets.glob("*.env")]):
        print(f"  {env_file}")
    print(next_steps(paths.audit_json))
    return EXIT_OK


def next_steps(audit_json: Path) -> str:
    """What to do after the demo: the commands to try by hand, and what each audit finding means."""
    findings = json.loads(audit_json.read_text(encoding="utf-8"))["findings"]
    lines = ["", "━━ next steps",
             "   The demo's emulator has stopped. Try the same by hand against one that keeps running:",
             "   the three exports make its root key, so they come before it starts (README.md, \"Try it by "
             "hand\").", ""]
    lines += [f"   {command}" for command in NEXT_STEPS]
    lines += ["", "   `verify` fails the two memberships until the console step is done: on the emulator its "
              "control API", "   plays the administrator (docs/emulator.md, \"Control API\"); then run the "
              "`provision membership confirm`", "   commands the checklist prints.", "",
              f"   What the audit's {len(findings)} finding(s) mean (every check: docs/audit.md):"]
    for finding in findings:
        check, severity, resource = finding["check_id"], finding["severity"], finding["resource"]
        lines.append(f"   {check} ({severity}) {resource}: {finding['title']}")
        for label in ("evidence", "fix"):
            lines += textwrap.wrap(f"{label}: {finding[label]}", 110, initial_indent="      ",
                                   subsequent_indent="        ", break_long_words=False,
                                   break_on_hyphens=False)
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

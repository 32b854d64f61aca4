"""The top-to-bottom flow shared by the commands: manifest → desired → live → plan → apply.

``prepare`` makes no cloud call (a manifest with lint errors stops here); ``Context`` holds the cloud
target, the SDK clients, the secrets sink, the state file and the providers; ``make_plan`` reads the
live account and diffs. A saved plan carries the manifest and variables it came from, so ``apply PLAN``
re-plans and refuses a plan the account (or the manifest) has moved away from. Time comes from one clock,
:func:`provision.clock.now` (``PROVISION_NOW``, for reproducible runs and tests, else the real UTC time).
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Generic

from provision import clock
from provision.desired.build import desired_from_manifest
from provision.desired.kinds import Kind
from provision.desired.live import Live
from provision.desired.model import Desired
from provision.engine.apply import ApplySummary, OnEvent, apply_plan
from provision.engine.intents import Reconciled, reconcile_intents, secret_facts
from provision.engine.live import read_live
from provision.errors import ProvisionError, StalePlanError
from provision.manifest import LintFinding, Manifest, lint, load_manifest, report_lines
from provision.plan.diff import Plan, diff
from provision.plan.io import plan_from_dict, plan_to_dict
from provision.providers.registry import (
    ClientsT,
    CloudClients,
    Provider,
    Target,
    TargetT,
    check_desired,
    runtime,
)
from provision.state.intents import Settler
from provision.state.lock import Hold, command_line, lock_state_dir
from provision.state.secrets import SecretSink, ensure_writable_dir
from provision.state.statefile import StateFile

DEFAULT_STATE_DIR = Path(".provision")
STATE_DIR_ENV = "PROVISION_STATE_DIR"
SECRETS_DIR_ENV = "PROVISION_SECRETS_DIR"
POLL_INTERVAL_ENV = "PROVISION_POLL_INTERVAL_S"  # seconds between polls of asynchronous work (default 2)


@dataclass(frozen=True)
class Source:
    """Where a plan comes from: the manifest file and the variables it was rendered with; and the state
    and secrets dirs the command was given, so every command it prints names them too (never saved in a
    plan file: ``apply PLAN`` takes them from its own command line)."""

    manifest: Path
    vars: Mapping[str, str] = field(default_factory=dict)
    var_files: tuple[Path, ...] = ()
    state_dir: Path | None = None
    secrets_dir: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form with absolute paths, so a saved plan applies from any directory."""
        return {"manifest": str(self.manifest.resolve()), "vars": dict(self.vars),
                "var_files": [str(p.resolve()) for p in self.var_files]}

    def command_args(self) -> str:
        """The one way a printed command names what this one was given: ``PATH [--var NAME=VALUE]...
        [--var-file FILE]... [--state-dir DIR] [--secrets-dir DIR]`` (after ``-m``), shell-quoted."""
        args = [str(self.manifest)]
        args += [a for name, value in self.vars.items() for a in ("--var", f"{name}={value}")]
        args += [a for path in self.var_files for a in ("--var-file", str(path))]
        args += ["--state-dir", str(self.state_dir)] if self.state_dir is not None else []
        args += ["--secrets-dir", str(self.secrets_dir)] if self.secrets_dir is not None else []
        return shlex.join(args)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Source:
        """The source :meth:`to_dict` wrote."""
        return cls(Path(data["manifest"]), {str(k): str(v) for k, v in data.get("vars", {}).items()},
                   tuple(Path(p) for p in data.get("var_files", [])))


@dataclass(frozen=True)
class PlanOptions:
    """The switches a plan was made with (a saved plan is re-planned with the same ones)."""

    allow_destroy: bool = False
    only_expired: bool = False
    rotate_missing: bool = False  # --rotate-missing-secrets


@dataclass(frozen=True)
class Prepared:
    """A loaded, linted manifest and the desired resources it declares."""

    source: Source
    manifest: Manifest
    desired: Desired
    findings: list[LintFinding]

    @property
    def warnings(self) -> list[str]:
        """Lint warnings, one line per rule (``file:line: warning [code] ...``)."""
        return report_lines(self.source.manifest, self.findings, "warning")


@dataclass
class Context(Generic[TargetT, ClientsT]):
    """Everything that talks to (or remembers) the cloud: target, clients, sink, state file, providers.

    ``cloud`` is the manifest's ``cloud.provider``; ``target`` and ``clients`` are that cloud's own types,
    built by its entry in the provider registry (``providers/registry.py``): the core never names a cloud
    and holds a :data:`CloudContext`; a cloud's own entry points (verify, revoke, audit, which the registry
    calls only with a context that cloud's entry built) take their own, e.g. ``Context[HuaweiTarget,
    HuaweiClients]``, so mypy checks each use of the target and the clients."""

    target: TargetT
    clients: ClientsT
    sink: SecretSink
    state: StateFile
    providers: dict[Kind, Provider]
    cloud: str
    settlers: dict[str, Settler] = field(default_factory=dict)
    hold: Hold = Hold.NONE

    @classmethod
    def build(cls, manifest: Manifest, *, state_dir: Path | None = None, secrets_dir: Path | None = None,
              hold: Hold = Hold.NONE) -> CloudContext:
        """A context for the manifest's cloud; dirs default to env, then ``.provision`` (+ ``secrets``).

        ``hold``: the state dir's lock, taken before the state is read, so the state is read once and no
        other writer records after the read. A writer's (exclusive) is taken once the dir is known to take
        a file (else a ProvisionError naming it); a second writer fails at once, naming the holder."""
        state_root, secrets = state_paths(state_dir, secrets_dir)
        if hold is Hold.EXCLUSIVE:
            ensure_writable_dir(state_root, "the state directory", f"--state-dir (or {STATE_DIR_ENV})")
        if hold is not Hold.NONE:
            note = lock_state_dir(state_root, command_line(), shared=hold is Hold.SHARED)
            if note:
                print(note, file=sys.stderr)
        state = StateFile(state_root / "state.json")
        cloud, sink = runtime(manifest, secrets, state, _poll_interval())
        return Context(cloud.target, cloud.clients, sink, state, cloud.providers, cloud.cloud, cloud.settlers,
                       hold)

    def check_writable(self) -> None:
        """Before a command that changes the cloud: the secrets sink takes a file, else a ProvisionError
        naming the directory (a secret the cloud shows once must have a place to go). The context holds
        the state dir's lock exclusive since it was built."""
        if self.hold is not Hold.EXCLUSIVE:
            raise ProvisionError("internal: a command that changes the cloud must build its context with "
                                 "hold=Hold.EXCLUSIVE (the state dir's lock, before the state is read)")
        self.sink.check_writable()


CloudContext = Context[Target, CloudClients]  # what the core holds: any cloud's context


def state_paths(state_dir: Path | None = None, secrets_dir: Path | None = None) -> tuple[Path, Path]:
    """The state dir and the secrets sink: the options, else env, else ``.provision`` (+ ``secrets``)."""
    state_root = Path(state_dir or os.environ.get(STATE_DIR_ENV) or DEFAULT_STATE_DIR)
    return state_root, Path(secrets_dir or os.environ.get(SECRETS_DIR_ENV) or state_root / "secrets")


def _poll_interval() -> float | None:
    """``PROVISION_POLL_INTERVAL_S`` in seconds, None when unset (the cloud's default)."""
    raw = os.environ.get(POLL_INTERVAL_ENV, "").strip()
    if not raw:
        return None
    try:
        interval = float(raw)
    except ValueError:
        raise ProvisionError(f"{POLL_INTERVAL_ENV}={raw!r} is not a number of seconds") from None
    if interval <= 0:
        raise ProvisionError(f"{POLL_INTERVAL_ENV} must be positive, got {raw}")
    return interval


@dataclass(frozen=True)
class PlanResult:
    """A plan and the live resources it was made against."""

    plan: Plan
    live: list[Live]
    options: PlanOptions = PlanOptions()
    reconciled: Reconciled = Reconciled()


def prepare(manifest_path: Path, vars: Mapping[str, str] | None = None, var_files: Sequence[Path] = (), *,
            now: datetime | None = None) -> Prepared:
    """Load, validate and lint the manifest, then derive the desired resources as of ``now`` (default:
    :func:`clock.now`, i.e. ``PROVISION_NOW`` or the system clock). No cloud call.

    Lint errors raise a ProvisionError listing each with file:line."""
    source = Source(Path(manifest_path), dict(vars or {}), tuple(Path(p) for p in var_files))
    manifest = load_manifest(source.manifest, source.vars, source.var_files)
    findings = lint(manifest)
    errors = report_lines(source.manifest, findings, "error")
    if errors:
        count = sum(f.level == "error" for f in findings)
        raise ProvisionError(f"{source.manifest}: {count} lint error(s), nothing was read or "
                             "changed:\n  " + "\n  ".join(errors))
    return Prepared(source, manifest, desired_from_manifest(manifest, now or clock.now()), findings)


def make_plan(prepared: Prepared, context: Context[TargetT, ClientsT], *, allow_destroy: bool = False,
              only_expired: bool = False, rotate_missing: bool = False, settle: bool = False) -> PlanResult:
    """Check the declared ids against the account (unknown models, VPCs, vSwitches stop here), reconcile
    the intents an interrupted run left open (``settle``: for real, as apply does; else only reported),
    read the live account and diff it with the desired resources (and what was last applied)."""
    check_desired(context.providers, prepared.desired, prepared.manifest, only_expired=only_expired)
    reconciled = reconcile_intents(context.state, context.settlers, act=settle)
    live = read_live(context.providers, prepared.desired)
    plan = diff(prepared.desired, live, allow_destroy=allow_destroy, only_expired=only_expired,
                applied=context.state.applied(), manifest=str(prepared.source.manifest),
                rotate_missing=rotate_missing, secrets=secret_facts(context.state, reconciled))
    plan.undelivered[:0] = reconciled.undelivered
    plan.warnings += reconciled.notes
    return PlanResult(plan, live, PlanOptions(allow_destroy, only_expired, rotate_missing), reconciled)


def run_apply(plan: Plan, context: Context[TargetT, ClientsT], *, concurrency: int = 8,
              on_event: OnEvent | None = None) -> ApplySummary:
    """Apply a plan with the context's providers, recording what was applied in the state file."""
    return apply_plan(plan, context.providers, concurrency=concurrency, on_event=on_event,
                      state=context.state)


# --- saved plans ----------------------------------------------------------------------------------------


def plan_document(result: PlanResult, source: Source) -> dict[str, Any]:
    """The JSON plan (``--json``, ``--out``): the plan plus the manifest, variables and switches used."""
    return {**plan_to_dict(result.plan), "source": source.to_dict(), "options": asdict(result.options)}


@dataclass(frozen=True)
class SavedPlan:
    """A plan file read back: the plan, what it was made from, and where it was read."""

    plan: Plan
    source: Source
    options: PlanOptions
    path: Path


def load_saved_plan(path: Path) -> SavedPlan:
    """Read a plan file written by ``provision plan --out``."""
    try:
        data = json.loads(Path(path).read_text())
        return SavedPlan(plan_from_dict(data), Source.from_dict(data["source"]),
                         PlanOptions(**data.get("options", {})), Path(path))
    except FileNotFoundError:
        raise ProvisionError(f"{path}: plan file not found") from None
    except IsADirectoryError:
        raise ProvisionError(f"{path}: a directory, not a plan file") from None
    except (ValueError, KeyError, TypeError) as exc:
        hint = f"; to apply a manifest, give it with -m: provision apply -m {path}" \
            if Path(path).suffix.lower() in (".yaml", ".yml", ".j2") else ""
        raise ProvisionError(f"{path}: not a plan file written by `provision plan --out` ({exc}){hint}") \
            from None


def plan_to_apply(prepared: Prepared, context: Context[TargetT, ClientsT], saved: SavedPlan | None,
                  options: PlanOptions) -> Plan:
    """Check the sink can be written (the context holds the state dir's lock), then re-plan right before
    applying: the fresh plan, or the saved one if it is still what would be done."""
    context.check_writable()
    if saved is not None:
        options = saved.options
    result = make_plan(prepared, context, allow_destroy=options.allow_destroy,
                       only_expired=options.only_expired, rotate_missing=options.rotate_missing, settle=True)
    for note in result.reconciled.notes:
        print(f"settled: {note}", file=sys.stderr)
    if saved is None:
        return result.plan
    check_fresh(saved, result)
    return saved.plan


def check_fresh(saved: SavedPlan, current: PlanResult) -> None:
    """Refuse a saved plan whose live state or changes differ from a plan made now."""
    moved = _differing(saved.plan, current.plan)
    if current.plan.live_fingerprint != saved.plan.live_fingerprint:
        raise StalePlanError(f"{saved.path} is stale: the account changed since the plan was made"
                             f"{_listed(moved)}; re-run plan")
    if moved:
        raise StalePlanError(f"{saved.path} is stale: the manifest, its variables or the state file changed "
                             f"since the plan was made{_listed(moved)}; re-run plan")


def _differing(saved: Plan, current: Plan) -> list[str]:
    """Keys whose planned change is not the same in both plans."""
    before = {c["key"]: c for c in plan_to_dict(saved)["changes"]}
    after = {c["key"]: c for c in plan_to_dict(current)["changes"]}
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def _listed(keys: list[str], most: int = 5) -> str:
    if not keys:
        return ""
    more = f" and {len(keys) - most} more" if len(keys) > most else ""
    return f" (planned differently now: {', '.join(keys[:most])}{more})"

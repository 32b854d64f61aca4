"""`provision verify` on Huawei Cloud: the manifest and the secrets sink turned into the typed inputs of
``checks/huawei/verify.py`` (the smoke calls and their diagnoses), run, and reported in the verify table.

Per delivered user: each AK/SK in the sink must sign STS as that IAM user. Per ``verify.checks`` entry: Pangu
V1 on ``deployment_id`` and the agent-run conversation on ``agent_id``, signed with ``user``'s AK/SK; Pangu
V2 with the MaaS key through ``openai`` (a new key is retried until valid); each again through every
``via_endpoints`` VPC endpoint (its private domain). A credential the sink lacks is a failed row saying so.
Users the manifest has revoked (expired, or ``state: absent``) are not verified: revoke proves them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from provision.checks.huawei.context import HuaweiContext
from provision.checks.huawei.verify import KEY_ACTIVATION, DeliveredKey, HuaweiVerifyCheck
from provision.checks.huawei.verify import run_verify as run_checks
from provision.checks.results import CheckResult, Credential, VerifyReport
from provision.desired.huawei import ScpSpec
from provision.desired.model import Desired
from provision.engine.flow import POLL_INTERVAL_ENV, Prepared
from provision.manifest.marks import FieldPath, dotted
from provision.manifest.schema_verify import VerifyCheck
from provision.providers.huawei.network import endpoint_names
from provision.providers.huawei.read import read_endpoints
from provision.state.secrets import SecretSink


def run_verify(prepared: Prepared, context: HuaweiContext, *, workers: int = 8) -> VerifyReport:
    """Every smoke check of the manifest with the credentials in the sink; a failed check never raises."""
    clients = context.clients
    manifest = prepared.manifest
    desired = prepared.desired
    revoked = desired.revoked()
    sink = context.sink
    missing: list[CheckResult] = []
    keys = []
    for i, user in enumerate(manifest.users):
        if not user.access_keys or user.name in revoked:
            continue
        entry = _entry(prepared, ("users", i))
        held = sink.access_keys(user.name)
        if not held:
            missing.append(_missing(f"access-key/{user.name}", "access-key", f"IAM user {user.name}", entry,
                                    f"the secrets sink holds no AK/SK of {user.name}"))
        keys += [DeliveredKey(user.name, entry, Credential("access-key", key_id, secret))
                 for key_id, secret in sorted(held.items())]
    domains = {name: e.domains[0] for name, e in endpoint_names(read_endpoints(clients),
                                                                manifest.name).items()
               if e.domains}
    checks = []
    confining = confining_endpoints(prepared.desired)
    for i, check in enumerate(manifest.verify.checks):
        if check.user in revoked:  # it would demand access the manifest takes away: shown, not run
            missing.append(CheckResult(
                f"verify.checks[{i}]", "skipped", f"the calls of {check.user}",
                _entry(prepared, ("verify", "checks", i)), False,
                f"skipped: {revoked[check.user]}; revoke proves its old credentials refused", skipped=True))
            continue
        found, absent = _inputs(prepared, sink, i, check, domains)
        confined = bool(found.endpoints) and bool(confining & set(check.via_endpoints))
        checks.append(replace(found, confined=confined))
        missing += absent
    interval = os.environ.get(POLL_INTERVAL_ENV)  # the emulator's runs poll fast; the cloud: minutes
    activation = replace(KEY_ACTIVATION, interval_s=float(interval)) if interval else KEY_ACTIVATION
    report = run_checks(clients, checks, keys, activation=activation, workers=workers)
    return VerifyReport(tuple(missing) + report.results)


def confining_endpoints(desired: Desired) -> set[str]:
    """The endpoints a declared, attached guardrail admits Pangu calls only through: a ``Deny`` of
    ``pangu:*`` (or a ``pangu:`` action) on the condition that ``g:SourceVpce`` is not ``${endpoint:NAME}``.
    Verify then expects the calls made without the endpoint refused."""
    names: set[str] = set()
    for spec in desired.present:
        if not isinstance(spec, ScpSpec) or not spec.document or spec.attached is False:
            continue
        for statement in _statements(spec.document):
            actions = statement.get("Action", [])
            actions = [actions] if isinstance(actions, str) else actions
            negated = {op: keys for op, keys in (statement.get("Condition") or {}).items()
                       if op.startswith("StringNotEquals") or op.startswith("StringNotLike")}
            values = [v for keys in negated.values() if isinstance(keys, dict)
                      for v in _listed(keys.get("g:SourceVpce"))]
            if statement.get("Effect") == "Deny" and any(str(a).startswith("pangu:") for a in actions):
                names |= {name for name in spec.endpoints if f"${{endpoint:{name}}}" in values}
    return names


def _statements(document: str) -> list[dict[str, Any]]:
    try:
        parsed = json.loads(document)
    except ValueError:
        return []
    statements = parsed.get("Statement", []) if isinstance(parsed, dict) else []
    return [s for s in ([statements] if isinstance(statements, dict) else statements) if isinstance(s, dict)]


def _listed(value: object) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value] if isinstance(value, list) else []


def _entry(prepared: Prepared, path: FieldPath) -> str:
    origin = prepared.manifest.locate(path)
    return f"{dotted(path)} ({origin.file}:{origin.line})" if origin else dotted(path)


def _missing(check_id: str, check: str, target: str, entry: str, what: str) -> CheckResult:
    return CheckResult(check_id, check, target, entry, False, f"{what}: run provision apply (or plan "
                       "--rotate-missing-secrets if the cloud has the key but the secret was lost)")


def _inputs(prepared: Prepared, sink: SecretSink, index: int, check: VerifyCheck,
            domains: dict[str, str]) -> tuple[HuaweiVerifyCheck, list[CheckResult]]:
    """The typed check of one manifest entry, and a failed row per credential or endpoint it lacks."""
    entry = _entry(prepared, ("verify", "checks", index))
    base = f"verify.checks[{index}]"
    absent = list(_unready(base, entry, check, domains))
    workspace = next((w for w in prepared.manifest.workspaces if w.name == check.workspace), None)
    declared = next((k for k in workspace.api_keys if k.name == check.api_key), None) if workspace else None
    account = SecretSink.api_key_account(check.workspace, declared.issued_to if declared else None)
    held = sink.api_key(account, check.workspace, check.api_key)
    api_key = Credential("api-key", held[0], held[1], check.workspace, check.api_key, check.model) \
        if held else None
    if held is None:
        absent.append(_missing(f"{base}.v2", "v2", f"API key {check.workspace}/{check.api_key}", entry,
                               f"the secrets sink holds no API key {check.workspace}/{check.api_key}"))
    user_key = next(iter(sorted(sink.access_keys(check.user).items())), None) if check.user else None
    access_key = Credential("access-key", *user_key) if user_key else None
    if check.user and user_key is None and (check.deployment_id or check.agent_id):
        absent.append(_missing(f"{base}.v1", "v1", f"IAM user {check.user}", entry,
                               f"the secrets sink holds no AK/SK of {check.user} to sign the calls with"))
    return HuaweiVerifyCheck(
        entry=entry, user=check.user or "", access_key=access_key, deployment_id=check.deployment_id,
        api_key=api_key, model=check.model, agent_id=check.agent_id,
        endpoints=tuple(domains[n] for n in check.via_endpoints if n in domains)), absent


def _unready(base: str, entry: str, check: VerifyCheck, domains: dict[str, str]) -> Iterator[CheckResult]:
    for name in check.via_endpoints:
        if name not in domains:
            yield CheckResult(f"{base}.endpoint@{name}", "endpoint", name, entry, False,
                              f"endpoint {name} has no private domain yet (not created, not accepted, or "
                              "enable_dns: false): run apply, then verify again")

"""Policy lint: privileged access without a reviewed reason is an error; risky delivery accounts warn.

Codes are stable (CI and reviews refer to them):
  LINT001 error    AliyunBailianFullAccess attached without super_admin or an allow_privileged reason
  LINT002 error    an account-admin system policy (AdministratorAccess, AliyunRAMFullAccess) without a reason
  LINT003 error    a custom policy allowing every action ("*" or "*:*") without a reason
  LINT004 warning  console login without MFA required
  LINT005 warning  a delivery account (access keys or console login) without expires_at
  LINT006 warning  super_admin: account-wide admin of every workspace
  LINT007 warning  an allow_privileged entry for a policy the user does not have
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from provision.manifest.marks import FieldPath, dotted
from provision.manifest.model import Manifest
from provision.manifest.schema_base import SUPER_ADMIN_POLICY
from provision.manifest.schema_users import Policy, User

ACCOUNT_ADMIN_POLICIES = ("AdministratorAccess", "AliyunRAMFullAccess")
_EVERY_ACTION = ("*", "*:*")


@dataclass(frozen=True)
class LintFinding:
    """One lint result, located at the field (and line, when loaded from a file) it is about."""

    level: Literal["error", "warning"]
    code: str
    user: str | None
    field: str
    line: int | None
    message: str


def lint(manifest: Manifest) -> list[LintFinding]:
    """Lint every present user of the manifest, in manifest order."""
    policies = {p.name: p for p in manifest.policies}
    findings: list[LintFinding] = []
    for i, user in enumerate(manifest.users):
        if user.state == "present":
            for level, code, path, message in _user_findings(user, ("users", i), policies):
                origin = manifest.locate(path)
                findings.append(LintFinding(level, code, user.name, dotted(path),
                                            origin.line if origin else None, message))
    return findings


_Raw = tuple[Literal["error", "warning"], str, FieldPath, str]

# what each rule flags, for the one line that reports it for many users at once
RULES = {
    "LINT001": f"{SUPER_ADMIN_POLICY} attached without super_admin or an allow_privileged reason",
    "LINT002": "an account-admin system policy attached without an allow_privileged reason",
    "LINT003": "a custom policy allowing every action attached without an allow_privileged reason",
    "LINT004": "console login without MFA; set mfa_required: true",
    "LINT005": "delivery accounts (console login or access keys) without expires_at; set one so access ends "
               "with the engagement",
    "LINT006": f"super admin: {SUPER_ADMIN_POLICY} is account-wide, admin of every workspace",
    "LINT007": "an allow_privileged entry for a policy the user does not have",
}
_NAMED = 3  # users named in a grouped line


def finding_line(manifest: Path | str, finding: LintFinding) -> str:
    """One lint finding as ``file:line: level [code] (user u) field: message``."""
    where = f"{manifest}:{finding.line}" if finding.line else str(manifest)
    who = f" (user {finding.user})" if finding.user else ""
    return f"{where}: {finding.level} [{finding.code}]{who} {finding.field}: {finding.message}"


def report_lines(manifest: Path | str, findings: Sequence[LintFinding],
                 level: Literal["error", "warning"]) -> list[str]:
    """The findings of ``level``, one line per rule: a rule that fires once keeps its own line; one that
    fires for several users says how many, names the first few and points at the first."""
    by_code: dict[str, list[LintFinding]] = {}
    for finding in findings:
        if finding.level == level:
            by_code.setdefault(finding.code, []).append(finding)
    lines = []
    for code, group in by_code.items():
        if len(group) == 1:
            lines.append(finding_line(manifest, group[0]))
            continue
        first = group[0]
        users = list(dict.fromkeys(f.user or f.field for f in group))
        more = f" and {len(users) - _NAMED:,} more" if len(users) > _NAMED else ""
        where = f"{manifest}:{first.line}" if first.line else str(manifest)
        who = ", ".join(users[:_NAMED]) + more
        rule = RULES.get(code, first.message)
        lines.append(f"{where}: {level} [{code}] {len(group):,} findings ({who}): {rule}")
    return lines


def grants_every_action(policy: Policy) -> bool:
    """Whether a custom policy has an Allow statement over every action."""
    statements = policy.document.statement if policy.document else []
    return any(s.effect == "Allow" and any(a in _EVERY_ACTION for a in s.actions()) for s in statements)


def _user_findings(user: User, base: FieldPath, policies: dict[str, Policy]) -> Iterator[_Raw]:
    allowed = {a.policy for a in user.allow_privileged}
    privileged: set[str] = set()
    for j, name in enumerate(user.policies.system):
        path = (*base, "policies", "system", j)
        if name == SUPER_ADMIN_POLICY:
            privileged.add(name)
            if name not in allowed and user.super_admin is None:
                yield ("error", "LINT001", path,
                       f"{name} makes {user.name} super admin of every workspace (account-wide); declare "
                       "`super_admin: {reason: ...}` or an allow_privileged entry with a reason")
        elif name in ACCOUNT_ADMIN_POLICIES:
            privileged.add(name)
            if name not in allowed:
                yield ("error", "LINT002", path,
                       f"{name} gives {user.name} control of the whole account; add an allow_privileged "
                       "entry with a reason if this is really intended")
    for j, name in enumerate(user.policies.custom):
        policy = policies.get(name)
        if policy is not None and grants_every_action(policy):
            privileged.add(name)
            if name not in allowed:
                yield ("error", "LINT003", (*base, "policies", "custom", j),
                       f"custom policy {name} allows every action (Action \"*\"); narrow it or add an "
                       "allow_privileged entry with a reason")
    yield from _user_warnings(user, base, privileged)


def _user_warnings(user: User, base: FieldPath, privileged: set[str]) -> Iterator[_Raw]:
    login = user.console_login is not None and user.console_login.enabled
    if login and user.console_login is not None and not user.console_login.mfa_required:
        yield ("warning", "LINT004", (*base, "console_login", "mfa_required"),
               f"{user.name} can sign in to the console without MFA; set mfa_required: true")
    if (login or user.access_keys > 0) and user.expires_at is None:
        yield ("warning", "LINT005", (*base, "expires_at"),
               f"{user.name} is a delivery account (console login or access keys) without expires_at; "
               "set one so access ends with the engagement")
    if user.super_admin is not None:
        yield ("warning", "LINT006", (*base, "super_admin"),
               f"{user.name} is super admin: {SUPER_ADMIN_POLICY} is account-wide, admin of every workspace")
        privileged.add(SUPER_ADMIN_POLICY)
    for j, allow in enumerate(user.allow_privileged):
        if allow.policy not in privileged:
            yield ("warning", "LINT007", (*base, "allow_privileged", j, "policy"),
                   f"allow_privileged names {allow.policy}, which is not a privileged policy of {user.name}")

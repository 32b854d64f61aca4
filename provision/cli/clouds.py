"""The commands' way to a cloud's verify, revoke and audit: through the provider registry, by the
context's ``cloud`` (the manifest's ``cloud.provider``). Commands never name a cloud."""

from __future__ import annotations

from datetime import datetime
from types import ModuleType
from typing import TYPE_CHECKING, cast

from provision.engine.flow import CloudContext, Prepared
from provision.providers.registry import entry_point, revoke_module

if TYPE_CHECKING:
    from provision.audit.model import AuditReport
    from provision.checks.results import VerifyReport


def run_verify(prepared: Prepared, context: CloudContext) -> VerifyReport:
    """The cloud's verify: every smoke check of the manifest."""
    return cast("VerifyReport", entry_point(context.cloud, "verify")(prepared, context))


def run_audit(prepared: Prepared, context: CloudContext, now: datetime) -> AuditReport:
    """The cloud's audit of the whole account as of ``now``."""
    return cast("AuditReport", entry_point(context.cloud, "audit")(prepared, context, now))


def revoker(context: CloudContext) -> ModuleType:
    """The cloud's revoke module: ``read_revoke``, ``run_revoke``, ``render_record``, ``step_line``."""
    return revoke_module(context.cloud)

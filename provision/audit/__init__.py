"""``provision audit``: who can reach what in Model Studio, with risks and drift flagged.

``collect`` reads the whole account into an :class:`AccessMap` (``collect.run_audit`` also checks it),
``findings`` runs the checks (stable ids ``BAILIAN-NNN``, see docs/audit.md), ``render`` prints the
report as HTML, Markdown, JSON or CSV. ``collect`` talks to the cloud; the rest is pure.
"""

from provision.audit.findings import CHECKS, audit_report, run_checks
from provision.audit.model import AccessMap, AuditReport, Finding, Severity
from provision.audit.render import Format, render

__all__ = ["CHECKS", "AccessMap", "AuditReport", "Finding", "Format", "Severity", "audit_report", "render",
           "run_checks"]

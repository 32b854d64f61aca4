"""The manifest: render, parse with line marks, validate into typed models, lint, JSON Schema."""

from provision.manifest.lint import LintFinding, finding_line, lint, report_lines
from provision.manifest.load import load_manifest, manifest_json_schema
from provision.manifest.model import Manifest

__all__ = ["LintFinding", "Manifest", "finding_line", "lint", "load_manifest", "manifest_json_schema",
           "report_lines"]

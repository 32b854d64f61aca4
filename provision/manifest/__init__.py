"""The manifest: render, parse with line marks, validate into typed models, lint, JSON Schema."""

from provision.manifest.lint import LintFinding, lint
from provision.manifest.load import load_manifest, manifest_json_schema
from provision.manifest.model import Manifest

__all__ = ["LintFinding", "Manifest", "lint", "load_manifest", "manifest_json_schema"]

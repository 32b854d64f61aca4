"""`provision schema`: the manifest's JSON Schema (no cloud call, no SDK)."""

from __future__ import annotations

import json

import typer


def schema() -> None:
    """Print the manifest's JSON Schema (for editors and CI validation).

    Example: `provision schema > manifest.schema.json`
    """
    from provision.manifest import manifest_json_schema

    typer.echo(json.dumps(manifest_json_schema(), indent=2))


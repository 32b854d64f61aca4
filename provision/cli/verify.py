"""`provision verify`: smoke calls with the delivered credentials prove the access works."""

from __future__ import annotations

import json

import typer

from provision.cli.common import (
    JsonOpt,
    ManifestOpt,
    SecretsDirOpt,
    StateDirOpt,
    VarFileOpt,
    VarOpt,
    cloud_context,
    friendly,
    load,
    use_color,
)
from provision.errors import EXIT_OK


@friendly
def verify(
    manifest: ManifestOpt,
    var: VarOpt = None,
    var_file: VarFileOpt = None,
    as_json: JsonOpt = False,
    state_dir: StateDirOpt = None,
    secrets_dir: SecretsDirOpt = None,
) -> None:
    """Prove the delivered access works: smoke calls with the credentials in the secrets sink.

    Per `verify.checks` entry: a chat completion (OpenAI-compatible) and a DashScope generation with the
    workspace's API key, the refusal of `denied_model`, the agent app, and the same calls through each
    PrivateLink endpoint. Each delivered AccessKey must sign STS GetCallerIdentity as its RAM user; each
    declared member must pass the membership probe. A failure says what is wrong and which manifest
    entry (file:line) to change. Exits 0 only when every check passes. Changes nothing.

    Example: `provision verify -m manifests/example.yaml`

    Example: `provision verify -m manifests/example.yaml --json > verify.json`
    """
    from provision.cli.clouds import run_verify
    from provision.cli.views import render_table

    prepared = load(manifest, var, var_file, state_dir, secrets_dir)
    report = run_verify(prepared, cloud_context(prepared, state_dir, secrets_dir))
    if as_json:
        typer.echo(json.dumps(report.to_list(), indent=2))
    else:
        typer.echo(render_table(report, color=use_color()), nl=False)
    if report.exit_code != EXIT_OK:
        raise typer.Exit(report.exit_code)


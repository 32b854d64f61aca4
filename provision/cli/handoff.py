"""`provision handoff`: record that the secrets in the sink were handed to a secret store (by fingerprint)."""

from __future__ import annotations

import typer

from provision.cli.common import SecretsDirOpt, StateDirOpt, friendly


@friendly
def handoff(state_dir: StateDirOpt = None, secrets_dir: SecretsDirOpt = None) -> None:
    """Record that the secrets now in the sink were handed off, by key id and fingerprint, never the secret.

    The state file then knows they went to a secret store or to the people they are for.

    Run it after the secrets left the sink for good (the CI example's hand-off step runs it before the sink
    is shredded). Later plans then report those keys, missing from a sink, as warnings; a secret the tool
    stored and nobody handed off is reported lost (`plan --detailed-exitcode` exits 2).

    Example: `provision handoff --state-dir .provision --secrets-dir "$RUNNER_TEMP/sink"`
    """
    from provision.engine.intents import record_handoff

    done = record_handoff(state_dir, secrets_dir)
    for cloud_id, print_ in done.recorded:
        typer.echo(f"handed off: {cloud_id} ({print_})")
    typer.echo(f"recorded the hand-off of {len(done.recorded)} secret(s) in {done.state_file}")

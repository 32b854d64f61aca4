"""The `provision` command: its root options, and where each command lives.

One module per command (cli/plan.py, apply.py, schema.py, verify.py, revoke.py, audit.py, membership.py;
the emulator's own in provision/emulator/cli.py). A command's module is imported only when that command
runs or shows its help (cli/lazy.py): `provision --help`, `--version` and a mistyped command import no
command, no SDK. Shared options and the error handling live in cli/common.py. Expected failures
(ProvisionError) print one actionable message, never a traceback.
"""

from __future__ import annotations

import typer

from provision.cli.common import HELP_NAMES, ProvisionGroup
from provision.cli.lazy import LazyCommand

# In the order `provision --help` lists them; each summary is the first paragraph of the command's help
# (tests/unit/test_cli_lazy.py keeps the two equal).
COMMANDS = (
    LazyCommand("plan", "provision.cli.plan:plan",
                "Show what apply would change: read the account, diff it with the manifest. "
                "Changes nothing."),
    LazyCommand("apply", "provision.cli.apply:apply",
                "Make the account match the manifest: re-plan, show the plan, ask, then apply it."),
    LazyCommand("schema", "provision.cli.schema:schema",
                "Print the manifest's JSON Schema (for editors and CI validation)."),
    LazyCommand("verify", "provision.cli.verify:verify",
                "Prove the delivered access works: smoke calls with the credentials in the secrets sink."),
    LazyCommand("revoke", "provision.cli.revoke:revoke",
                "Take one account's access back, prove it with its old credentials, and keep a record."),
    LazyCommand("audit", "provision.cli.audit:audit",
                "Report who can reach what in Model Studio, with risks and drift flagged. Changes nothing."),
    LazyCommand("emulator", "provision.emulator.cli:app",
                "The local cloud emulator: Alibaba Cloud (RAM, STS, Model Studio, PrivateLink, VPC, "
                "DashScope) and Huawei Cloud (IAM, STS, ModelArts, MaaS, VPCEP, Organizations, Pangu) "
                "on one port."),
    LazyCommand("membership", "provision.cli.membership:membership_app",
                "Workspace membership: console-only steps, their checklist, confirmations."),
    LazyCommand("handoff", "provision.cli.handoff:handoff",
                "Record that the secrets now in the sink were handed off, by key id and fingerprint, "
                "never the secret."),
)


class RootGroup(ProvisionGroup):
    """The root command with its lazily imported commands; its help is click's plain one, so that
    `provision --help` loads no rich module (a command's own help, `provision plan --help`, is typer's)."""

    lazy = COMMANDS
    plain_help = True


app = typer.Typer(
    name="provision",
    help="Access-as-code for AI model platforms, Alibaba Cloud Model Studio (Bailian) and Huawei Cloud "
         "ModelArts / Pangu: plan, apply, verify, revoke, audit.",
    epilog="Exit codes: 0 success (`plan --detailed-exitcode`: nothing to change) · 1 error, usage error, "
           "failed or refused change · 2 `plan --detailed-exitcode` only: the account differs from the "
           "manifest · 130 interrupted (Ctrl-C)",
    cls=RootGroup,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": HELP_NAMES},
)


def _show_version(value: bool) -> None:
    if value:
        from importlib.metadata import version as package_version

        typer.echo(f"provision {package_version('provision')}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_show_version, is_eager=True,
                                       help="Show the version and exit.")) -> None:
    pass


def main() -> None:
    """Console entry point (ProvisionGroup maps usage errors and ProvisionErrors to one line and a code)."""
    app()


if __name__ == "__main__":
    main()

"""`provision emulator ...` commands (serve). Owned by the emulator package."""

from __future__ import annotations

import typer

app = typer.Typer(help="The local Alibaba Cloud emulator (RAM, STS, Model Studio, PrivateLink, VPC, DashScope).",
                  no_args_is_help=True)

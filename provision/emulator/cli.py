"""`provision emulator ...` commands (serve). Owned by the emulator package."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Annotated, NoReturn

import typer

app = typer.Typer(
    help="The local cloud emulator: Alibaba Cloud (RAM, STS, Model Studio, PrivateLink, VPC, DashScope) and "
         "Huawei Cloud (IAM, STS, ModelArts, MaaS, VPCEP, Organizations, Pangu) on one port.",
    no_args_is_help=True)


@app.callback()
def _group() -> None:
    """The local cloud emulator (keeps `serve` a subcommand even while it is the only one)."""


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind; 0.0.0.0 serves other machines.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind; 0 picks a free one (see the first line).")] = 0,
    seed: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, help="Seed file (YAML or JSON); default: the built-in seed.")] = None,
    state: Annotated[Path | None, typer.Option(
        dir_okay=False, help="State file: loaded at start if it exists, saved after changes.")] = None,
    region: Annotated[str | None, typer.Option(
        help="Default region (replaces the seed's): where calls naming no region land, e.g. every Model "
             "Studio workspace. A finance-cloud manifest needs cn-shanghai-finance-1.")] = None,
) -> None:
    """Serve every emulated API on one HOST:PORT until Ctrl-C or SIGTERM.

    Example: `provision emulator serve --port 8930 --state .emulator/state.json`. The first line printed
    is "listening on http://HOST:PORT".

    Huawei SDK clients take `.with_endpoint("http://127.0.0.1:8930")`; the Huawei root key is
    HUAWEICLOUD_SDK_AK/HUAWEICLOUD_SDK_SK when both are set (docs/emulator.md, Huawei Cloud).

    Then point provision at it with `export PROVISION_ENDPOINT=http://127.0.0.1:8930` (every SDK client
    and model call goes there), or an SDK with Config(endpoint="127.0.0.1:8930", protocol="http").

    Model Studio calls carry no region, so workspaces land in the default region (cn-beijing, the public
    site). For a finance-cloud manifest: `provision emulator serve --region cn-shanghai-finance-1`.
    """
    # Imported here so `provision --help` does not load every emulated service.
    from pydantic import ValidationError
    from ruamel.yaml.error import YAMLError

    from provision.emulator.catalog import SERVICES
    from provision.emulator.seed import build_world, default_seed, load_seed
    from provision.emulator.server import EmulatorServer

    try:
        chosen = load_seed(seed) if seed else default_seed()
        if region:
            chosen = chosen.model_copy(update={"default_region": region})
        world = build_world(chosen, SERVICES)
    except ValidationError as exc:
        _fail(f"--seed {seed}: " + "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'the file'}: {e['msg']}" for e in exc.errors()))
    except (ValueError, YAMLError, OSError) as exc:
        _fail(f"--seed {seed}: {_one_line(exc)}")
    try:
        server = EmulatorServer(world, SERVICES, host=host, port=port, state_file=state)
    except OSError as exc:
        _fail(f"cannot serve on {host}:{port}: {exc.strerror or _one_line(exc)}"
              + ("; choose another --port, or --port 0 for a free one" if port else ""))
    if region:  # a world loaded from --state keeps its resources, but new calls land in --region
        server.world.default_region = region
    stopping: list[int] = []

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        # Lock-free on purpose: a handler that took a lock (Event.set does) deadlocked when the main thread
        # held it, or when a second signal interrupted the first handler. Signals after the first are
        # ignored, so a supervisor that repeats SIGTERM cannot kill the process half-way through its stop.
        stopping.append(signum)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    server.start()
    print(f"listening on {server.url}", flush=True)
    try:
        while not stopping:
            time.sleep(0.2)
    finally:
        server.stop()
    print("stopped", file=sys.stderr, flush=True)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _fail(message: str) -> NoReturn:
    """An expected failure: one line on stderr, exit 1, no traceback."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)

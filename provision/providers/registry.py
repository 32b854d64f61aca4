"""The provider registry: which package serves the manifest's ``cloud.provider``.

The core (``engine/flow.py``'s Context, ``checks``, ``audit``, ``cli``) never names a cloud: it asks this
registry for the cloud's runtime (target, SDK clients, providers by kind), and each cloud's entry names,
as dotted ``module:function`` strings, its verify, revoke and audit entry points. Each cloud's package is
imported lazily by module name, so an Alibaba Cloud run never imports the Huawei Cloud SDKs and vice versa.

A cloud package's ``cloud`` module exposes ``CLOUD: CloudEntry``; :func:`runtime` calls its
``build(manifest, sink, state, poll_interval_s) -> Runtime[ITS_TARGET, ITS_CLIENTS]``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from provision.desired.build import problem_line
from provision.desired.kinds import Kind
from provision.desired.live import Live
from provision.desired.model import Desired, SpecProblem
from provision.errors import ProvisionError
from provision.manifest import Manifest
from provision.manifest.schema_base import PROVIDERS
from provision.plan.diff import Change
from provision.state.intents import Settler
from provision.state.secrets import SecretSink, SinkNames
from provision.state.statefile import StateFile

# cloud.provider → the module holding its CloudEntry (imported only when that cloud is used)
CLOUD_MODULES: dict[str, str] = {
    "alibabacloud": "provision.providers.alibaba.cloud",
    "huaweicloud": "provision.providers.huawei.cloud",
}
assert set(CLOUD_MODULES) == set(PROVIDERS), "every manifest provider has a registry entry"


class Provider(Protocol):
    """Reads and changes the resources of some kinds."""

    kinds: tuple[Kind, ...]

    def read(self, desired: Desired) -> list[Live]:
        """The live resources of ``kinds`` that ``desired`` declares or the tool manages."""
        ...

    def execute(self, change: Change) -> str:
        """Carry out one change idempotently; a one-line result message without secrets."""
        ...


@runtime_checkable
class Validator(Protocol):
    """A provider that checks the desired resources against the account before anything is planned."""

    def validate(self, desired: Desired) -> list[SpecProblem]:
        """What the account says is wrong with ``desired`` (unknown ids), without changing anything."""
        ...


class Target(Protocol):
    """What every cloud's target says: the manifest's region, and the emulator's URL when
    ``PROVISION_ENDPOINT`` sends every client there (``CloudTarget``, ``HuaweiTarget``)."""

    @property
    def region(self) -> str: ...

    @property
    def emulator_url(self) -> str | None: ...


class CloudClients(Protocol):
    """What every cloud's SDK clients say: the target they call (``Clients``, ``HuaweiClients``)."""

    @property
    def target(self) -> Target: ...


TargetT = TypeVar("TargetT", bound=Target)
ClientsT = TypeVar("ClientsT", bound=CloudClients)


@dataclass
class Runtime(Generic[TargetT, ClientsT]):
    """One cloud's side of a Context: its own target and clients types (``Runtime[HuaweiTarget,
    HuaweiClients]``), which the core holds as :class:`Target` / :class:`CloudClients`; the cloud's entry
    points take them back as its own types."""

    cloud: str  # the manifest's cloud.provider
    target: TargetT
    clients: ClientsT
    providers: dict[Kind, Provider]
    settlers: dict[str, Settler] = field(default_factory=dict)  # who settles open intents, by kind value


@dataclass(frozen=True)
class CloudEntry(Generic[TargetT, ClientsT]):
    """What a cloud package offers the core: how to build its runtime, and where its commands live.

    Entry points are ``"module:function"`` strings, resolved (and imported) only when called:
    ``verify(prepared, context) -> VerifyReport`` and ``audit(prepared, context, now) -> AuditReport``.
    ``revoke`` names a module with ``read_revoke(prepared, context, user, *, delete_user, now)`` (a plan
    with ``why`` and ``steps()``), ``run_revoke(plan, prepared, context, *, started, on_step)`` (a record
    with ``ok``, ``path``, ``to_dict()``), ``render_record(record)`` and ``step_line(step)``."""

    provider: str
    build: Callable[[Manifest, SecretSink, StateFile, float | None], Runtime[TargetT, ClientsT]]
    verify: str
    revoke: str
    audit: str
    label: str = ""  # how commands name the cloud: "Alibaba Cloud", "Huawei Cloud"
    sink_names: SinkNames = SinkNames()  # the variable names of its secrets in the sink's env files


def cloud_entry(provider: str) -> CloudEntry[Target, CloudClients]:
    """The registry entry of ``provider`` (its package imported now)."""
    module = CLOUD_MODULES.get(provider)
    if module is None:
        raise ProvisionError(f"cloud.provider {provider!r} is not supported; use one of "
                             f"{', '.join(sorted(CLOUD_MODULES))}")
    entry = importlib.import_module(module).CLOUD
    assert isinstance(entry, CloudEntry) and entry.provider == provider, module
    return entry


def runtime(manifest: Manifest, secrets: Path, state: StateFile,
            poll_interval_s: float | None) -> tuple[Runtime[Target, CloudClients], SecretSink]:
    """The target, clients and providers of the manifest's cloud, and its secrets sink in ``secrets``
    (writing the cloud's own variable names)."""
    entry = cloud_entry(manifest.cloud.provider)
    sink = SecretSink(secrets, entry.sink_names)
    return entry.build(manifest, sink, state, poll_interval_s), sink


def entry_point(provider: str, name: str) -> Callable[..., Any]:
    """The function a cloud names for one command (``verify``, ``audit``), its module imported now."""
    dotted = getattr(cloud_entry(provider), name)
    module, _, function = str(dotted).partition(":")
    found: Callable[..., Any] = getattr(importlib.import_module(module), function)
    return found


def revoke_module(provider: str) -> ModuleType:
    """The module of a cloud's revoke (``read_revoke``, ``run_revoke``, ``render_record``, ``step_line``)."""
    return importlib.import_module(cloud_entry(provider).revoke)


def check_desired(providers: Mapping[Kind, Provider], desired: Desired, manifest: Manifest, *,
                  only_expired: bool = False) -> None:
    """Raise a ProvisionError listing, with file:line, every declared model, VPC or vSwitch the account does
    not have (each validating provider once, concurrently). Revocation-only plans (``only_expired``) skip
    it: an unrelated bad id must not hold up taking access away."""
    if only_expired:
        return
    unique: list[Validator] = []
    for provider in providers.values():
        if isinstance(provider, Validator) and not any(provider is seen for seen in unique):
            unique.append(provider)
    with ThreadPoolExecutor(max_workers=max(1, len(unique))) as pool:
        problems = [p for found in pool.map(lambda v: v.validate(desired), unique) for p in found]
    if problems:
        lines = "\n  ".join(problem_line(manifest, p) for p in problems)
        raise ProvisionError(f"{manifest.source_file or 'the manifest'}: {len(problems)} problem(s) found "
                             f"against the account, nothing was changed:\n  {lines}")

"""The providers: the only code that talks to the cloud. One module per service, one registry by kind.

A provider reads the live state of its kinds (normalised into the same specs the manifest produces)
and executes one planned change at a time, idempotently, returning a one-line message (never a secret).
"""

from __future__ import annotations

# First, before any SDK: the SDKs' model packages load one model at a time (lazy_models.py)
import provision.providers.alibaba.lazy_models  # noqa: F401  # isort: skip

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, runtime_checkable

from provision.desired.build import problem_line
from provision.desired.resources import Desired, Kind, Live, SpecProblem
from provision.errors import ProvisionError
from provision.manifest import Manifest
from provision.plan.diff import Change
from provision.providers.alibaba.base import Clients, CloudTarget, DashScopeTarget, PollPolicy
from provision.providers.alibaba.calls import CallError, Outcome, RetryPolicy
from provision.providers.alibaba.membership import MembershipProvider
from provision.providers.alibaba.modelstudio import ModelStudioProvider
from provision.providers.alibaba.privatelink import PrivateLinkProvider
from provision.providers.alibaba.ram import RamProvider
from provision.state.secrets import SecretSink
from provision.state.statefile import StateFile

__all__ = ["CallError", "Clients", "CloudTarget", "DashScopeTarget", "Outcome", "PollPolicy", "Provider",
           "RetryPolicy", "Validator", "build_providers", "check_desired"]


class Provider(Protocol):
    """Reads and changes the resources of some kinds."""

    kinds: tuple[Kind, ...]

    def read(self, desired: Desired) -> list[Live]:
        """The live resources of ``kinds`` that ``desired`` declares or the tool manages."""
        ...

    def execute(self, change: Change) -> str:
        """Carry out one change idempotently; a one-line result message without secrets."""
        ...


def build_providers(clients: Clients, sink: SecretSink, state: StateFile) -> dict[Kind, Provider]:
    """Every provider, keyed by each kind it handles."""
    workers = clients.governors.workers  # each provider's threads: its service's calls in flight
    providers: list[Provider] = [
        RamProvider(clients, sink, workers.of("ram")),
        ModelStudioProvider(clients, sink, state, workers.of("modelstudio")),
        MembershipProvider(clients, sink, state, workers.of("bailian")),
        PrivateLinkProvider(clients, workers.of("privatelink")),
    ]
    return {kind: provider for provider in providers for kind in provider.kinds}


@runtime_checkable
class Validator(Protocol):
    """A provider that checks the desired resources against the account before anything is planned."""

    def validate(self, desired: Desired) -> list[SpecProblem]:
        """What the account says is wrong with ``desired`` (unknown ids), without changing anything."""
        ...


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

"""The providers: the only code that talks to the cloud. One module per service, one registry by kind.

A provider reads the live state of its kinds (normalised into the same specs the manifest produces)
and executes one planned change at a time, idempotently, returning a one-line message (never a secret).
"""

from __future__ import annotations

from typing import Protocol

from provision.plan import Change
from provision.providers.base import Clients, CloudTarget, DashScopeTarget, PollPolicy
from provision.providers.calls import CallError, Outcome, RetryPolicy
from provision.providers.membership import MembershipProvider
from provision.providers.modelstudio import ModelStudioProvider
from provision.providers.privatelink import PrivateLinkProvider
from provision.providers.ram import RamProvider
from provision.resources import Desired, Kind, Live
from provision.secrets import SecretSink
from provision.statefile import StateFile

__all__ = ["CallError", "Clients", "CloudTarget", "DashScopeTarget", "Outcome", "PollPolicy", "Provider",
           "RetryPolicy", "build_providers"]


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
    providers: list[Provider] = [
        RamProvider(clients, sink),
        ModelStudioProvider(clients, sink, state),
        MembershipProvider(clients, sink, state),
        PrivateLinkProvider(clients),
    ]
    return {kind: provider for provider in providers for kind in provider.kinds}

"""The providers: the only code that talks to the cloud. One module per service, one registry by kind.

A provider reads the live state of its kinds (normalised into the same specs the manifest produces)
and executes one planned change at a time, idempotently, returning a one-line message (never a secret).
"""

from __future__ import annotations

# First, before any SDK: the SDKs' model packages load one model at a time (lazy_models.py)
import provision.providers.alibaba.lazy_models  # noqa: F401  # isort: skip

from collections.abc import Mapping

from provision.desired.kinds import Kind
from provision.providers.alibaba.base import Clients, CloudTarget, DashScopeTarget
from provision.providers.alibaba.calls import CallError
from provision.providers.alibaba.intents import AlibabaSettler
from provision.providers.alibaba.membership import MembershipProvider
from provision.providers.alibaba.modelstudio import ModelStudioProvider
from provision.providers.alibaba.privatelink import PrivateLinkProvider
from provision.providers.alibaba.ram import RamProvider
from provision.providers.common.outcomes import Outcome
from provision.providers.common.policies import PollPolicy, RetryPolicy
from provision.providers.lookup import provider_of
from provision.providers.registry import Provider, Validator, check_desired
from provision.state.intents import Settler
from provision.state.secrets import SecretSink
from provision.state.statefile import StateFile

__all__ = ["CallError", "Clients", "CloudTarget", "DashScopeTarget", "Outcome", "PollPolicy", "Provider",
           "RetryPolicy", "Validator", "build_providers", "build_settlers", "check_desired"]


def build_providers(clients: Clients, sink: SecretSink, state: StateFile, manifest: str = ""
                    ) -> dict[Kind, Provider]:
    """Every provider of one manifest (the owner they judge by and mark with; "": every marker counts
    as ours), keyed by each kind it handles."""
    workers = clients.governors.workers  # each provider's threads: its service's calls in flight
    providers: list[Provider] = [
        RamProvider(clients, sink, state, workers.of("ram"), manifest),
        ModelStudioProvider(clients, sink, state, workers.of("modelstudio"), manifest),
        MembershipProvider(clients, sink, state, workers.of("bailian")),
        PrivateLinkProvider(clients, state, workers.of("privatelink"), manifest),
    ]
    return {kind: provider for provider in providers for kind in provider.kinds}


def build_settlers(providers: Mapping[Kind, Provider], clients: Clients, sink: SecretSink,
                   state: StateFile) -> dict[str, Settler]:
    """Who settles the open write-ahead intents of each kind (``state/intents.py``), by kind value."""
    ram = provider_of(providers, Kind.ACCESS_KEYS, RamProvider)
    settler = AlibabaSettler(clients, sink, state, ram.credentials)
    return {kind: settler for kind in settler.kinds}

"""Alibaba Cloud's entry in the provider registry (``providers/registry.py``): its runtime and commands."""

from __future__ import annotations

from provision.manifest import Manifest
from provision.providers.alibaba import Clients, CloudTarget, PollPolicy, build_providers, build_settlers
from provision.providers.registry import CloudEntry, Runtime
from provision.state.secrets import SecretSink
from provision.state.statefile import StateFile


def build(manifest: Manifest, sink: SecretSink, state: StateFile, poll_interval_s: float | None
          ) -> Runtime[CloudTarget, Clients]:
    """The target (site, region, endpoint overrides, ``PROVISION_ENDPOINT``), the SDK clients and the
    providers of an Alibaba Cloud manifest, and the settlers of its open write-ahead intents."""
    overrides = {name: host for name, host in manifest.cloud.endpoints.model_dump().items()
                 if host and name != "dashscope"}
    target = CloudTarget.from_env(manifest.cloud.site, manifest.cloud.region, overrides)
    poll = PollPolicy(interval_s=poll_interval_s) if poll_interval_s is not None else PollPolicy()
    clients = Clients(target, poll=poll)
    providers = build_providers(clients, sink, state, manifest.name)
    settlers = build_settlers(providers, clients, sink, state)
    return Runtime("alibabacloud", target, clients, providers, settlers)


CLOUD = CloudEntry(
    provider="alibabacloud",
    build=build,
    verify="provision.checks.verify:run_verify",
    revoke="provision.checks.revoke",
    audit="provision.audit.collect:run_audit",
    label="Alibaba Cloud",
)

"""Huawei Cloud's entry in the provider registry (``providers/registry.py``): its runtime and commands.

Credentials are the SDK's own ``HUAWEICLOUD_SDK_AK`` / ``HUAWEICLOUD_SDK_SK``; ``PROVISION_ENDPOINT`` sends
every client to the emulator (``clients.py``).
"""

from __future__ import annotations

from provision.desired.kinds import Kind
from provision.manifest import Manifest
from provision.providers.common.policies import PollPolicy
from provision.providers.huawei.clients import HuaweiClients, HuaweiCredentials, HuaweiTarget
from provision.providers.huawei.iam import IamProvider
from provision.providers.huawei.iam_policies import IamPolicyProvider
from provision.providers.huawei.intents import HuaweiSettler
from provision.providers.huawei.network import ScpProvider, VpcepProvider
from provision.providers.huawei.studio_roles import StudioRoleProvider
from provision.providers.huawei.workspaces import WorkspaceProvider
from provision.providers.lookup import provider_of
from provision.providers.registry import CloudEntry, Provider, Runtime
from provision.state.secrets import SecretSink, SinkNames
from provision.state.statefile import StateFile


def build_providers(clients: HuaweiClients, sink: SecretSink, state: StateFile, manifest: str,
                    poll_interval_s: float | None = None) -> dict[Kind, Provider]:
    """Every Huawei provider, keyed by each kind it handles."""
    policies = IamPolicyProvider(clients, manifest)
    iam = IamProvider(clients, sink, manifest, policies, state)
    providers: list[Provider] = [
        iam,
        policies,
        WorkspaceProvider(clients, sink, state, iam, manifest),
        VpcepProvider(clients, manifest,
                      PollPolicy(interval_s=poll_interval_s) if poll_interval_s else PollPolicy(), state),
        ScpProvider(clients, manifest),
        StudioRoleProvider(clients, sink, state),
    ]
    return {kind: provider for provider in providers for kind in provider.kinds}


def build(manifest: Manifest, sink: SecretSink, state: StateFile, poll_interval_s: float | None
          ) -> Runtime[HuaweiTarget, HuaweiClients]:
    """The target (region, ``PROVISION_ENDPOINT``), the SDK clients and the providers of a Huawei manifest,
    and the settler of its open write-ahead intents."""
    target = HuaweiTarget.from_env(manifest.cloud.region)
    clients = HuaweiClients(target, HuaweiCredentials.from_env())
    providers = build_providers(clients, sink, state, manifest.name, poll_interval_s)
    settler = HuaweiSettler(clients, sink, state, provider_of(providers, Kind.IAM_ACCESS_KEYS, IamProvider),
                            provider_of(providers, Kind.MAAS_API_KEY, WorkspaceProvider))
    return Runtime("huaweicloud", target, clients, providers, {kind: settler for kind in settler.kinds})


CLOUD = CloudEntry(
    provider="huaweicloud",
    build=build,
    verify="provision.checks.huawei.verify_manifest:run_verify",
    revoke="provision.checks.huawei.revoke",
    audit="provision.audit.huawei_audit:run_audit",
    label="Huawei Cloud",
    # the SDK's own credential variables; MaaS keys are Bearer keys of the OpenAI-compatible V2 API
    sink_names=SinkNames(key_id="HUAWEICLOUD_SDK_AK", key_secret="HUAWEICLOUD_SDK_SK",
                         password="HUAWEICLOUD_CONSOLE_PASSWORD", api_key="MAAS_API_KEY"),
)

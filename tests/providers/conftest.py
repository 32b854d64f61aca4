"""Provider test fixtures: the real SDK clients, credentials from the default chain, the emulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from provision.desired.kinds import Kind, Spec
from provision.desired.live import Live
from provision.desired.model import Desired, SpecProblem
from provision.emulator.testing import EmulatorHandle
from provision.emulator.testing import emulator as emulator  # noqa: F401  (the fixture)
from provision.plan.diff import Action, Change
from provision.providers.alibaba import (
    Clients,
    CloudTarget,
    PollPolicy,
    Provider,
    RetryPolicy,
    Validator,
    build_providers,
)
from provision.state.secrets import SecretSink
from provision.state.statefile import StateFile

FAST_RETRY = RetryPolicy(attempts=6, base_delay_s=0.001, max_delay_s=0.01, max_retry_after_s=0.05)
FAST_POLL = PollPolicy(interval_s=0.02, timeout_s=10.0)


@pytest.fixture
def target(emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> CloudTarget:
    """The public-cloud target redirected to the emulator; the root key reaches the SDK through env."""
    monkeypatch.setenv("PROVISION_ENDPOINT", emulator.url)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", emulator.root_key_id)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", emulator.root_secret)
    return CloudTarget.from_env()


@pytest.fixture
def clients(target: CloudTarget) -> Clients:
    return Clients(target, retry=FAST_RETRY, poll=FAST_POLL)


@pytest.fixture
def sink(tmp_path: Path) -> SecretSink:
    return SecretSink(tmp_path / "secrets")


@pytest.fixture
def state(tmp_path: Path) -> StateFile:
    return StateFile(tmp_path / "state.json")


@pytest.fixture
def providers(clients: Clients, sink: SecretSink, state: StateFile) -> dict[Kind, Provider]:
    return build_providers(clients, sink, state)


class Run:
    """Drive providers the way apply does: one change at a time; read live for a Desired. Providers are
    built for one manifest; reading as another (``manifest=``) switches to providers built for that one,
    and the changes after it are made as that manifest (``build``: how to build them; None: only the
    given providers' manifest, "")."""

    def __init__(self, providers: dict[Kind, Provider],
                 build: Callable[[str], dict[Kind, Provider]] | None = None) -> None:
        self.providers = providers
        self.build = build
        self.manifest = ""

    def as_manifest(self, manifest: str) -> dict[Kind, Provider]:
        if manifest != self.manifest:
            assert self.build is not None, "these providers serve one manifest only"
            self.providers, self.manifest = self.build(manifest), manifest
        return self.providers

    def create(self, spec: Spec) -> str:
        return self.providers[spec.kind].execute(Change(spec.key, Action.CREATE, "test", desired=spec))

    def update(self, spec: Spec, live: Live | None = None, rotate: bool = False) -> str:
        change = Change(spec.key, Action.UPDATE, "test", desired=spec, live=live, rotate=rotate)
        return self.providers[spec.kind].execute(change)

    def delete(self, live: Live) -> str:
        return self.providers[live.spec.kind].execute(Change(live.key, Action.DELETE, "test", live=live,
                                                             cascade=live.cascade))

    def read(self, kind: Kind, *present: Spec, absent: tuple[Spec, ...] = (),
             adopt: frozenset[str] = frozenset(), manifest: str = "") -> dict[str, Live]:
        """Read as the manifest named ``manifest`` would ("" = no name: every marker counts as ours)."""
        lives = self.as_manifest(manifest)[kind].read(Desired(present=present, absent=absent, adopt=adopt,
                                                              manifest=manifest))
        return {live.key: live for live in lives}

    def validate(self, kind: Kind, *present: Spec, manifest: str = "") -> list[SpecProblem]:
        provider = self.as_manifest(manifest)[kind]
        assert isinstance(provider, Validator)
        return provider.validate(Desired(present=present, manifest=manifest))


@pytest.fixture
def run(providers: dict[Kind, Provider], clients: Clients, sink: SecretSink,
        state: StateFile) -> Iterator[Run]:
    yield Run(providers, lambda manifest: build_providers(clients, sink, state, manifest))

"""Read the live account: every provider's read, run concurrently (bounded), in a stable order."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from provision.desired.kinds import Kind
from provision.desired.live import Live
from provision.desired.model import Desired
from provision.providers.registry import Provider


def read_live(providers: Mapping[Kind, Provider], desired: Desired, max_workers: int = 4) -> list[Live]:
    """The live resources every provider reports for ``desired``; the first failure is raised."""
    unique: list[Provider] = []
    for provider in providers.values():  # one provider serves several kinds
        if not any(provider is seen for seen in unique):
            unique.append(provider)
    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(unique)))) as pool:
        results = list(pool.map(lambda p: p.read(desired), unique))
    return [live for lives in results for live in lives]

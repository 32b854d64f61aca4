"""A provider of a known type among the providers a cloud's registry entry built, without a downcast."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from provision.desired.kinds import Kind
from provision.errors import ProvisionError

P = TypeVar("P")


def provider_of(providers: Mapping[Kind, object], kind: Kind, cls: type[P]) -> P:
    """The provider of ``kind``, typed as ``cls``; a ProvisionError when this cloud serves ``kind`` with
    another provider (a command of one cloud run on a manifest of another)."""
    provider = providers.get(kind)
    if not isinstance(provider, cls):
        served = type(provider).__name__ if provider is not None else "no provider"
        raise ProvisionError(f"{kind} is served by {served} here, not by {cls.__name__}: this command does "
                             "not apply to the manifest's cloud (cloud.provider)")
    return provider

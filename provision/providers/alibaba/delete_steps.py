"""A delete described once: the steps it takes (a label and the call), built from the live facts.

A provider builds a resource's :class:`DeleteStep` list from what it read; the plan shows the labels
(``Live.cascade``), apply runs that same list (and refuses when the account no longer gives the steps
the plan showed), and revoke prints and runs it too. Each step tolerates "already gone".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from provision.errors import ProvisionError
from provision.providers.alibaba.base import Clients
from provision.providers.alibaba.calls import CallError

DONE = "done"
ALREADY_GONE = "already gone"


@dataclass(frozen=True)
class Step:
    """One step of taking something away, and its result: done, already gone, or failed: CODE."""

    step: str
    result: str
    error: CallError | None = field(default=None, repr=False, compare=False)


def run_step(clients: Clients, key: str, what: str, action: str, fn: Callable[[], Any]) -> Step:
    """Run one removal call as a Step: done, already gone (the cloud says it does not exist), or failed."""
    try:
        found = clients.call_or_none(key, action, fn) is not None
    except CallError as err:
        return Step(what, f"failed: {err.code}", err)
    return Step(what, DONE if found else ALREADY_GONE)


@dataclass(frozen=True)
class DeleteStep:
    """One step of a delete: what the plan shows, and the call apply makes."""

    label: str
    run: Callable[[], Step] = field(repr=False, compare=False)


def labels(steps: Sequence[DeleteStep]) -> tuple[str, ...]:
    """What a plan shows of the steps."""
    return tuple(step.label for step in steps)


def run_steps(key: str, steps: Sequence[DeleteStep], planned: Sequence[str] = ()) -> list[Step]:
    """Run the steps in order (a failed one is recorded, the later ones still run). With ``planned``
    (the labels a plan showed), refuse to run anything when the account now gives other steps."""
    if planned and tuple(planned) != labels(steps):
        now = "; ".join(labels(steps)) or "nothing"
        raise ProvisionError(f"{key}: the account changed since the plan: deleting it now takes: {now} "
                             f"(the plan showed: {'; '.join(planned)}); nothing was done: re-run plan")
    return [step.run() for step in steps]


def first_failure(steps: Sequence[Step]) -> CallError | None:
    """The error of the first failed step, if any."""
    return next((step.error for step in steps if step.error is not None), None)

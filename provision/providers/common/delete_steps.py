"""A delete described once: the steps it takes (a label and the call), built from the live facts.

A provider builds a resource's :class:`DeleteStep` list from what it read; the plan shows the labels
(``Live.cascade``), apply runs that same list (and refuses when the account no longer gives the steps
the plan showed), and revoke prints and runs it too. Each step tolerates "already gone".

Cloud-neutral: each cloud's package runs one removal call as a :class:`Step` with its own clients
(``providers/alibaba/delete_steps.run_step``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from provision.errors import CloudCallError, ProvisionError

DONE = "done"
ALREADY_GONE = "already gone"


@dataclass(frozen=True)
class Step:
    """One step of taking something away, and its result: done, already gone, or failed: CODE."""

    step: str
    result: str
    error: CloudCallError | None = field(default=None, repr=False, compare=False)


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


def first_failure(steps: Sequence[Step]) -> CloudCallError | None:
    """The error of the first failed step, if any."""
    return next((step.error for step in steps if step.error is not None), None)

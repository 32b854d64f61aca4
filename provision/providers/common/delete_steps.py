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
from enum import StrEnum

from provision.errors import CloudCallError, ProvisionError


class StepResult(StrEnum):
    """How one step of taking something away ended (its value is the word a record shows)."""

    DONE = "done"
    ALREADY_GONE = "already gone"
    FAILED = "failed"
    MANUAL = "manual"  # no API: a console step the operator takes


DONE = StepResult.DONE
ALREADY_GONE = StepResult.ALREADY_GONE
MANUAL = StepResult.MANUAL


@dataclass(frozen=True)
class Step:
    """One step of taking something away, and how it ended: done, already gone, manual, or failed with
    its error (``code``: the cloud's error code, else the exception's type)."""

    step: str
    outcome: StepResult
    error: CloudCallError | None = field(default=None, repr=False, compare=False)
    code: str = ""

    @classmethod
    def failed(cls, step: str, error: Exception) -> Step:
        """A step whose call failed with ``error``."""
        cloud = error if isinstance(error, CloudCallError) else None
        return cls(step, StepResult.FAILED, cloud, cloud.code if cloud else type(error).__name__)

    @property
    def result(self) -> str:
        """What a record shows: ``done``, ``already gone``, ``manual`` or ``failed: CODE``."""
        return f"failed: {self.code}" if self.outcome is StepResult.FAILED else self.outcome.value


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

"""Run a delete as its provider described it (``delete_steps.DeleteStep``) and say what it did.

The steps are built again from a fresh read; when they are not the ones the plan showed, nothing runs
(``run_steps`` refuses: "re-run plan"). A failed step raises its error after the later steps ran.
"""

from __future__ import annotations

from collections.abc import Sequence

from provision.plan.diff import InSync
from provision.providers.common.delete_steps import ALREADY_GONE, DONE, DeleteStep, first_failure, run_steps


def run_delete(key: str, steps: Sequence[DeleteStep], planned: Sequence[str]) -> str:
    """Run ``steps`` (refused when they differ from ``planned``, the labels a plan showed): "deleted KEY
    (removed …)", or "already absent" when the last step found the resource gone and nothing was done."""
    done = run_steps(key, steps, planned)
    failed = first_failure(done)
    if failed is not None:
        raise failed
    removed = "; ".join(step.step for step in done[:-1] if step.outcome is DONE)
    if done and done[-1].outcome is ALREADY_GONE and not removed:
        return InSync(f"{key} already absent")
    return f"deleted {key}" + (f" (removed {removed})" if removed else "")

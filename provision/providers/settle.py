"""What settling an open write-ahead intent (``state/intents.py``) finds, said the same way on every cloud.

A cloud's settler (``providers/alibaba/intents.py``, ``providers/huawei/intents.py``) finds what the
interrupted create made, by name or marker and leaving out ``Intent.before``; these functions turn the
finding into a :class:`Settlement` and, in an apply (``act``), do what it says:

* keys whose secret never reached the sink are unusable: deactivated and deleted (the plan then creates
  the replacement in the same run); a plan reports them as not delivered;
* a workspace the create made is ours: recorded in the state file (no ``adopt``), or, in a plan, taken as
  managed for that process only;
* a console login's password went to the sink before the create: nothing is lost unless it is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from provision.state.intents import Intent, Settlement
from provision.state.statefile import StateFile

INTERRUPTED = "created by an interrupted apply (intent of {at})"


class KindSettler:
    """A cloud's settler (``state.intents.Settler``): one function per kind it settles, by kind value."""

    def __init__(self, by_kind: Mapping[str, Callable[[Intent, bool], Settlement]]) -> None:
        self._by_kind = dict(by_kind)

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(self._by_kind)

    def settle(self, intent: Intent, act: bool) -> Settlement:
        return self._by_kind[intent.kind](intent, act)


def made_by(intent: Intent) -> str:
    return INTERRUPTED.format(at=intent.started_at)


def settle_orphans(intent: Intent, act: bool, what: str, orphans: Sequence[str],
                   delete: Callable[[str], object]) -> Settlement:
    """Keys (``what``: "AccessKey", "API key") the intent made whose secret is not in the sink: deleted with
    ``delete`` in an apply, reported as not delivered in a plan."""
    if not orphans:
        return Settlement(intent.key, f"no {what} {made_by(intent)} is left without its secret")
    ids = ", ".join(orphans)
    if act:
        for key_id in orphans:
            delete(key_id)
        return Settlement(intent.key, f"deactivated and deleted {what} {ids}, {made_by(intent)}: its secret "
                                      "never reached the sink; this run creates its replacement")
    return Settlement(intent.key, f"{what} {ids} was {made_by(intent)} and its secret never reached the "
                                  "sink: apply deactivates and deletes it, then creates its replacement",
                      undelivered=True, orphaned=tuple(orphans))


def settle_workspace(intent: Intent, act: bool, state: StateFile, made: Sequence[str]) -> Settlement:
    """The workspace ids the intent made (the first is taken): recorded as managed, no ``adopt``."""
    if not made:
        return Settlement(intent.key, "the interrupted create made no workspace")
    ws_id = made[0]
    extra = f" ({len(made) - 1} more of that name not taken)" if len(made) > 1 else ""
    if act:
        state.record_workspace(intent.name, ws_id)
        return Settlement(intent.key, f"recorded workspace {ws_id} as managed, {made_by(intent)}{extra}")
    state.assume_workspace(intent.name, ws_id)
    return Settlement(intent.key, f"workspace {ws_id} was {made_by(intent)}: planned as managed; apply "
                                  f"records it{extra}")


def settle_login(intent: Intent, act: bool, held: bool, console: str) -> Settlement:
    """A console login profile: its password went to the sink before the create (``held``)."""
    if held:
        return Settlement(intent.key, "its password went to the secrets sink before the create")
    return Settlement(intent.key, f"its password is not in the secrets sink: reset it in the {console} "
                                  "or delete the login profile, then re-run apply", undelivered=not act)


def settle_tagged(intent: Intent) -> Settlement:
    """A resource tagged with its ownership marker by the create itself (an endpoint): already managed."""
    return Settlement(intent.key, "an endpoint is tagged as managed when it is created: nothing to record")

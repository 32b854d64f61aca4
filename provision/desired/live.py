"""A resource as read from the cloud (:class:`Live`: its spec, ownership, the cloud's id, the steps its
delete takes) and what is known of a live membership, which no API lists (:class:`MemberFacts`). Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from provision.desired.kinds import Spec


class Proof(StrEnum):
    """How a live membership (which no API lists) is known."""

    PROBE = "probe"  # a probe call with the member's own AccessKey succeeded
    CONFIRMATION = "confirmation"  # an operator confirmed it (`membership confirm --role`)
    PENDING = "pending removal"  # its console removal was asked for and is not confirmed yet


@dataclass(frozen=True)
class MemberFacts:
    """What the membership provider knows of a live membership, and how."""

    proven_by: Proof = Proof.PROBE
    probe: str = ""  # what the probe said ("unknown: …" when it could not tell)
    role: str = ""  # where the role comes from (the probe cannot tell guest from admin)
    confirmed: str = ""  # the operator's confirmation: "guest by jane at T"
    pending: str = ""  # a pending removal: why, and since when


@dataclass(frozen=True)
class Live:
    """A resource as read from the cloud: its spec plus ownership and the cloud's id."""

    spec: Spec
    managed: bool  # carries the tool's marker (or was adopted)
    cloud_id: str = ""
    cascade: tuple[str, ...] = ()  # a deletable resource: the steps its delete takes, as its provider says
    member: MemberFacts | None = None  # a membership: how it is known
    duplicates: int = 0  # a workspace: how many share its exact name (more than 1: the others are ignored)

    @property
    def key(self) -> str:
        return self.spec.key

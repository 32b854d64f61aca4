"""The delete cascade spelled out: the steps deleting a top-level resource performs, in the cloud's order.

A plan shows them under each delete (Terraform-like: each cascade step explicit); the providers perform
the same steps. Pure: no I/O, no SDK, no output library.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import partial
from typing import TypeVar

from provision.desired.resources import (
    AccessKeysSpec,
    ApiKeySpec,
    AttachmentSpec,
    EndpointSpec,
    GrantSpec,
    Live,
    LoginProfileSpec,
    MemberSpec,
    PolicySpec,
    Spec,
    UserSpec,
    WorkspaceSpec,
)

# Keys of ``Live.details`` a user's cascade reads (the RAM provider fills them for users declared absent).
DETAIL_GROUPS = "groups"  # comma-separated RAM group names
DETAIL_MFA = "mfa"  # serial number of the bound MFA device

_S = TypeVar("_S", bound=Spec)


def delete_steps(live: Live, everything: Iterable[Live]) -> tuple[str, ...]:
    """The steps deleting ``live`` performs, given every live resource (its children among them)."""
    return tuple(_steps(live, list(everything)))


def _children(parent: Live, lives: list[Live], cls: type[_S]) -> list[_S]:
    found = [lv.spec for lv in lives if isinstance(lv.spec, cls) and parent.key in lv.spec.parents()]
    return sorted(found, key=lambda s: s.key)


def _steps(live: Live, lives: list[Live]) -> Iterator[str]:
    spec = live.spec
    children = partial(_children, live, lives)
    if isinstance(spec, UserSpec):
        for keys in children(AccessKeysSpec):
            for key_id in keys.key_ids:
                yield from (f"deactivate access key {key_id}", f"delete access key {key_id}")
        if children(LoginProfileSpec):
            yield "delete login profile"
        for att in children(AttachmentSpec):
            yield f"detach policy {att.policy_type}:{att.policy}"
        details = dict(live.details)
        yield from (f"remove from group {g}" for g in details.get(DETAIL_GROUPS, "").split(",") if g)
        if details.get(DETAIL_MFA):
            yield f"unbind MFA device {details[DETAIL_MFA]}"
        for member in children(MemberSpec):
            yield f"remove from workspace {member.workspace} (console)"
        yield "delete user"
    elif isinstance(spec, WorkspaceSpec):
        for key in children(ApiKeySpec):
            yield f"delete API key {key.key_name}"
        if children(GrantSpec):
            yield "revoke grants"
        yield "delete workspace"
    elif isinstance(spec, EndpointSpec):
        yield f"delete endpoint {live.cloud_id or spec.endpoint_id or spec.endpoint}"
    elif isinstance(spec, PolicySpec):
        for att in children(AttachmentSpec):
            yield f"detach from {att.user}"
        yield "delete policy"

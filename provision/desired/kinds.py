"""The resource kinds the tool manages and the base of their specs: a spec has a natural key
(``ram.user/alice``), the fields the manifest declares (``None`` means "not declared": never compared,
never drift), and its parents (created before it, deleted after it). The specs of each cloud:
``resources.py`` (Alibaba Cloud) and ``huawei.py``. This module imports no SDK and no output library.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any, ClassVar, Protocol, runtime_checkable

MARKER = "managed-by=provision"  # in RAM user Comments, API key descriptions, tags' value


class Kind(StrEnum):
    USER = "ram.user"
    LOGIN_PROFILE = "ram.login_profile"
    ACCESS_KEYS = "ram.access_keys"
    POLICY = "ram.policy"
    ATTACHMENT = "ram.attachment"
    WORKSPACE = "modelstudio.workspace"
    GRANT = "modelstudio.grant"
    API_KEY = "modelstudio.api_key"
    MEMBER = "modelstudio.member"
    ENDPOINT = "privatelink.endpoint"
    # Huawei Cloud (specs in desired/huawei.py)
    IAM_USER = "iam.user"
    IAM_LOGIN_PROFILE = "iam.login_profile"
    IAM_ACCESS_KEYS = "iam.access_keys"
    IAM_POLICY = "iam.policy"
    IAM_ATTACHMENT = "iam.attachment"
    IAM_GROUP_MEMBER = "iam.group_member"
    MA_WORKSPACE = "modelarts.workspace"
    MA_GRANT = "modelarts.grant"
    STUDIO_ROLE = "modelarts.studio_role"
    MAAS_API_KEY = "maas.api_key"
    VPCEP_ENDPOINT = "vpcep.endpoint"
    SCP = "organizations.policy"


@dataclass(frozen=True)
class Spec:
    """Base of every resource spec. ``compared`` lists the fields the diff looks at."""

    kind: ClassVar[Kind]
    compared: ClassVar[tuple[str, ...]] = ()
    described: ClassVar[tuple[str, ...]] = ()  # also shown under a create (never compared)
    manual: ClassVar[bool] = False  # no API: plan/apply produce a checklist item instead

    @property
    def name(self) -> str:  # the key within the kind
        raise NotImplementedError

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.name}"

    def parents(self) -> tuple[str, ...]:
        """Keys of resources that must exist before this one."""
        return ()

    def cleared_by(self) -> str | None:
        """The key of a resource whose deletion takes this one away too (it is then created again, after
        that deletion, as an explicit change of the plan), if any."""
        return None

    def holder(self) -> str | None:
        """The user this resource gives access to (its own user, the user a key is issued to), if any:
        the one whose expiry takes it away."""
        return None

    def expired_form(self) -> Spec | None:
        """What the manifest asks of this resource once its holder has expired: None (withheld, removed
        when present), or a stripped form (zero access keys)."""
        return None

    def declared(self) -> Iterator[tuple[str, Any]]:
        """(field, value) for each compared field the spec declares (value not None)."""
        return self._set(self.compared)

    def shown(self) -> Iterator[tuple[str, Any]]:
        """(field, value) a plan shows under a create: the declared compared fields, then the described."""
        return self._set((*self.compared, *self.described))

    def _set(self, names: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
        for f in names:
            value = getattr(self, f)
            if value is not None:
                yield f, value


@runtime_checkable
class Protectable(Protocol):
    """A top-level spec that may carry ``protect: true`` (its deletion is always refused)."""

    protect: bool


# Creation order of kinds (parents first); deletion runs it backwards.
KIND_ORDER: tuple[Kind, ...] = (
    Kind.POLICY, Kind.USER, Kind.LOGIN_PROFILE, Kind.ACCESS_KEYS, Kind.ATTACHMENT,
    Kind.WORKSPACE, Kind.GRANT, Kind.API_KEY, Kind.MEMBER, Kind.ENDPOINT,
    Kind.IAM_POLICY, Kind.IAM_USER, Kind.IAM_LOGIN_PROFILE, Kind.IAM_ACCESS_KEYS, Kind.IAM_ATTACHMENT,
    Kind.IAM_GROUP_MEMBER, Kind.MA_WORKSPACE, Kind.MA_GRANT, Kind.STUDIO_ROLE, Kind.MAAS_API_KEY,
    Kind.VPCEP_ENDPOINT, Kind.SCP,
)


def spec_fields(spec: Spec) -> dict[str, Any]:
    """All dataclass fields of a spec (for JSON output)."""
    return {f.name: getattr(spec, f.name) for f in fields(spec)}

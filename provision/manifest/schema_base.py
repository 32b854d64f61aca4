"""What every section of the manifest schema is built from: the strict frozen base model, the field types
(names, model ids, IPs, roles, expiry dates) with their validators, the common ``state``/``protect``/``adopt``
fields, and the cloud providers a manifest may name.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
)

SUPER_ADMIN_POLICY = "AliyunBailianFullAccess"
# cloud.provider values; the default keeps every existing manifest an Alibaba Cloud one
CloudProvider = Literal["alibabacloud", "huaweicloud"]
ALIBABA: CloudProvider = "alibabacloud"
HUAWEI: CloudProvider = "huaweicloud"
PROVIDERS: tuple[CloudProvider, ...] = (ALIBABA, HUAWEI)
State = Literal["present", "absent"]


class StrictModel(BaseModel):
    """A manifest section: unknown fields are rejected, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _reject_super_admin_role(value: Any) -> Any:
    if isinstance(value, str) and value.replace("-", "_").lower() in ("super_admin", "superadmin"):
        raise ValueError(
            f"super admin is not a workspace role: it is the account-wide RAM policy {SUPER_ADMIN_POLICY} "
            "(admin of every workspace). Declare it on the user as `super_admin: {reason: ...}`")
    return value


def _midnight(value: Any) -> Any:
    """A date means midnight UTC of that day."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time(), tzinfo=UTC)
    return value


def _utc(value: datetime) -> datetime:
    """A time without a zone is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _ip_or_cidr(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address or CIDR block") from None
    return value


UserName = Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,64}$",
                                description="RAM user name (1-64 of A-Z a-z 0-9 . _ -)")]
PolicyName = Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{1,128}$", description="RAM policy name")]
ModelId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$", description="model id: qwen-plus")]
IpOrCidr = Annotated[str, AfterValidator(_ip_or_cidr), Field(description="an IP address or CIDR block")]
Role = Annotated[Literal["guest", "admin"], BeforeValidator(_reject_super_admin_role)]
ExpiresAt = Annotated[datetime, BeforeValidator(_midnight), AfterValidator(_utc)]

STATE: Any = Field("present", description="present: make it exist; absent: delete it (--allow-destroy)")
PROTECT = Field(False, description="refuse to delete this resource, even with state: absent")
ADOPT = Field(False, description="take an existing resource of the same name that provision did not create "
                                  "under management (writes the ownership marker)")


UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

"""RAM state (one pydantic model per account) and the helpers every RAM rule shares.

Errors carry RAM's own codes; the status follows from the code family as on RAM's error-code
page (``EntityNotExist`` 404, ``EntityAlreadyExists`` / ``DeleteConflict`` / ``LimitExceeded`` 409,
``InvalidParameter`` 400).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Collection, Sequence
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, Field

from provision.emulator.paging import MARKER, TokenPaging
from provision.emulator.wire import Body, CloudError, Ctx, Request
from provision.emulator.world import StateModel, register_state

PolicyType = Literal["System", "Custom"]
T = TypeVar("T")

_STATUS_BY_PREFIX = (("EntityNotExist", 404), ("EntityAlreadyExists", 409), ("DeleteConflict", 409),
                     ("LimitExceeded", 409), ("CheckAuthenticationCodeFail", 403))


def ram_error(code: str, message: str) -> CloudError:
    """A RAM error; its HTTP status follows from the code family (404 / 409 / 400)."""
    status = next((s for prefix, s in _STATUS_BY_PREFIX if code.startswith(prefix)), 400)
    return CloudError(code, message, status)


# -- state ------------------------------------------------------------------------------------------
class Attachment(BaseModel):
    policy_type: PolicyType
    policy_name: str
    attach_date: str
    resource_group_id: str = ""  # "" = account scope


class LoginProfile(BaseModel):
    password_sha256: str  # the password itself is never stored or returned
    password_reset_required: bool = False
    mfa_bind_required: bool = False
    create_date: str


class AccessKeyMeta(BaseModel):
    """A user's key; its secret and status live in ``world.keys`` (what the signer reads)."""

    access_key_id: str
    create_date: str


class User(BaseModel):
    user_id: str
    user_name: str
    display_name: str = ""
    comments: str = ""
    email: str = ""
    mobile_phone: str = ""
    create_date: str
    update_date: str
    last_login_date: str = ""
    login_profile: LoginProfile | None = None
    access_keys: list[AccessKeyMeta] = Field(default_factory=list)
    policies: list[Attachment] = Field(default_factory=list)


class Membership(BaseModel):
    user_name: str
    join_date: str


class Group(BaseModel):
    group_id: str
    group_name: str
    comments: str = ""
    create_date: str
    update_date: str
    members: list[Membership] = Field(default_factory=list)
    policies: list[Attachment] = Field(default_factory=list)


class MfaDevice(BaseModel):
    serial_number: str
    name: str
    seed: str
    user_name: str | None = None
    activate_date: str = ""


class PolicyVersion(BaseModel):
    version_id: str
    document: str
    create_date: str


class CustomPolicy(BaseModel):
    policy_name: str
    description: str = ""
    create_date: str
    update_date: str
    default_version: str = "v1"
    versions: list[PolicyVersion] = Field(default_factory=list)
    version_counter: int = 0
    tags: dict[str, str] = Field(default_factory=dict)


@register_state
class RamState(StateModel):
    """One account's RAM: dicts keep creation order, which is the order lists return."""

    service: ClassVar[str] = "ram"
    users: dict[str, User] = Field(default_factory=dict)
    groups: dict[str, Group] = Field(default_factory=dict)
    policies: dict[str, CustomPolicy] = Field(default_factory=dict)
    mfa_devices: dict[str, MfaDevice] = Field(default_factory=dict)  # by serial number


def ram_state(ctx: Ctx) -> RamState:
    """The caller's account RAM state."""
    return ctx.world.state(ctx.account_id, RamState)


# -- validation and ids -----------------------------------------------------------------------------
_CHARS = {"user": r"[A-Za-z0-9._-]+", "dashed": r"[A-Za-z0-9-]+"}


def check_name(param: str, value: str, max_len: int, chars: str) -> None:
    """``InvalidParameter.<param>.Length`` / ``.InvalidChars`` (400) unless 1..max_len of ``chars``."""
    if not 1 <= len(value) <= max_len:
        raise ram_error(f"InvalidParameter.{param}.Length",
                        f'The parameter - "{param}" beyond the length limit.')
    if not re.fullmatch(_CHARS[chars], value):
        raise ram_error(f"InvalidParameter.{param}.InvalidChars",
                        f'The parameter - "{param}" contains invalid chars.')


def check_length(param: str, value: str | None, max_len: int, min_len: int = 0) -> None:
    """``InvalidParameter.<param>.Length`` (400) when a given value is out of range."""
    if value is not None and not min_len <= len(value) <= max_len:
        raise ram_error(f"InvalidParameter.{param}.Length",
                        f'The parameter - "{param}" beyond the length limit.')


def check_contact(param: str, value: str | None, pattern: str) -> None:
    """``InvalidParameter.<param>.Format`` (400) when a given value does not match ``pattern``."""
    if value and not re.fullmatch(pattern, value):
        raise ram_error(f"InvalidParameter.{param}.Format",
                        f'The format of the parameter - "{param}" is incorrect.')


def check_new(taken: Collection[str], name: str, entity: str, noun: str, limit: int | None = None,
              counted: str = "") -> None:
    """``EntityAlreadyExists.<entity>`` when ``name`` is taken, else ``LimitExceeded.<entity>`` once
    ``limit`` exist (both 409); ``counted`` is the quota message's noun (default ``noun``)."""
    if name in taken:
        raise ram_error(f"EntityAlreadyExists.{entity}", f"The {noun} does already EXIST.")
    if limit is not None and len(taken) >= limit:
        raise ram_error(f"LimitExceeded.{entity}",
                        f"The count of {counted or noun} beyond the current limits.")


def hex_digest(ctx: Ctx, purpose: str) -> str:
    """64 deterministic hex digits from ``world.ids``."""
    return ctx.world.ids.next(f"ram-{purpose}", 64).rsplit("-", 1)[1]


def digits_id(ctx: Ctx, purpose: str, length: int = 16) -> str:
    """A deterministic numeric id (RAM user ids are 16 digits)."""
    low = 10 ** (length - 1)
    return str(low + int(hex_digest(ctx, purpose), 16) % (9 * low))


_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def base62_token(ctx: Ctx, purpose: str, length: int) -> str:
    """A deterministic mixed-case alphanumeric token (AccessKey ids and secrets look like this)."""
    n, out = int(hex_digest(ctx, purpose) + hex_digest(ctx, purpose), 16), []
    for _ in range(length):
        n, r = divmod(n, 62)
        out.append(_B62[r])
    return "".join(out)


def _bad_size(param: str, limit: int) -> tuple[str, str]:
    return f"InvalidParameter.{param}", f'The parameter - "{param}" must be 1 to {limit}.'


_BAD_MARKER = ("InvalidParameter.Marker", "The marker is invalid.")
MARKER_PAGING = TokenPaging(100, 1000, MARKER, _bad_size("MaxItems", 1000), _BAD_MARKER)  # the List* calls
TAG_PAGING = TokenPaging(50, 100, MARKER, _bad_size("PageSize", 100), _BAD_MARKER)  # ListTagResources


def ok(**parts: Any) -> Body:
    """A success body: a fresh RequestId plus ``parts`` (the SDK needs JSON even for deletes)."""
    return {"RequestId": str(uuid.uuid4()).upper(), **parts}


def paged_body(req: Request, items: Sequence[T], key: str, inner: str, shape: Callable[[T], Body]) -> Body:
    """A Marker/MaxItems page shaped ``{key: {inner: [...]}, "IsTruncated", "Marker"}``."""
    found = MARKER_PAGING.page(items, req.get_int("MaxItems"), req.get("Marker"))
    body = ok(IsTruncated=found.next_token is not None, **{key: {inner: [shape(i) for i in found.items]}})
    if found.next_token:
        body["Marker"] = found.next_token
    return body

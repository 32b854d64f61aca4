"""The manifest's ``policies`` and ``users`` sections: custom policy documents, console login, the policies
attached to a user, privileged grants and the super-admin reason.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
)

from provision.manifest.schema_base import (
    ADOPT,
    PROTECT,
    STATE,
    ExpiresAt,
    PolicyName,
    State,
    StrictModel,
    UserName,
)


def _version_as_string(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _at_most_two_keys(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and value > 2:
        raise ValueError(f"at most 2 access keys per RAM user (RAM limit), got {value}")
    return value


# --- RAM ---------------------------------------------------------------------------------------------

Actions = str | list[str]


class Statement(StrictModel):
    """One statement of a RAM policy document (RAM's own key names)."""

    model_config = ConfigDict(populate_by_name=True)
    effect: Literal["Allow", "Deny"] = Field(alias="Effect", description="Allow or Deny")
    action: Actions | None = Field(None, alias="Action", description="actions, e.g. sfm:ListPublishedAgent")
    not_action: Actions | None = Field(None, alias="NotAction", description="every action except these")
    resource: Actions | None = Field(None, alias="Resource", description="resources (ARNs) or *")
    not_resource: Actions | None = Field(None, alias="NotResource", description="every resource except these")
    condition: dict[str, dict[str, Any]] | None = Field(None, alias="Condition", description="RAM conditions")

    @field_validator("action", "not_action")
    @classmethod
    def _action_names(cls, value: Actions | None) -> Actions | None:
        for action in [value] if isinstance(value, str) else value or []:
            if action != "*" and (action.count(":") not in (1, 2) or not all(action.split(":"))):
                raise ValueError(f"action {action!r} is not '<service>:<Action>' (Huawei: "
                                 "'<service>:<resource>:<action>') or '*'")
        return value

    def actions(self) -> list[str]:
        """The Action entries of the statement as a list."""
        return [self.action] if isinstance(self.action, str) else list(self.action or [])


class PolicyDocument(StrictModel):
    """A RAM policy document, written as YAML with RAM's key names."""

    model_config = ConfigDict(populate_by_name=True)
    version: Annotated[Literal["1", "5.0"], BeforeValidator(_version_as_string)] = Field(
        alias="Version", description='policy language version: "1" (Alibaba), "5.0" (Huawei IAM v5, SCP)')
    statement: list[Statement] = Field(alias="Statement", min_length=1, description="the statements")

    def canonical_json(self) -> str:
        """The document as canonical JSON (sorted keys, no spaces): the form compared with the live policy."""
        body = self.model_dump(by_alias=True, exclude_none=True, mode="json")
        return json.dumps(body, sort_keys=True, separators=(",", ":"))


class Policy(StrictModel):
    """A custom RAM policy the tool owns (tagged managed-by=provision)."""

    name: PolicyName
    description: str | None = Field(None, max_length=1024, description="policy description shown in RAM")
    document: PolicyDocument | None = Field(None, description="the policy document (required unless absent)")
    state: State = STATE
    protect: bool = PROTECT
    adopt: bool = ADOPT


class ConsoleLogin(StrictModel):
    """Console sign-in for the user. The initial password is generated and goes to the secrets sink."""

    enabled: bool = Field(True, description="whether the user can sign in to the console")
    password_reset_required: bool = Field(True, description="force a new password at first sign-in")
    mfa_required: bool = Field(True, description="force binding an MFA device at sign-in")


class UserPolicies(StrictModel):
    """RAM policies attached to the user."""

    system: list[PolicyName] = Field(default_factory=list,
                                     description="system policies, e.g. AliyunBailianDataReadOnlyAccess")
    custom: list[PolicyName] = Field(default_factory=list,
                                     description="custom policies declared under policies")


class PrivilegedAllow(StrictModel):
    """An explicit, reviewed exception to the lint rule against a privileged policy."""

    policy: PolicyName = Field(description="the privileged policy allowed for this user")
    reason: str = Field(min_length=10, description="why this user needs it (kept in review history)")


class SuperAdmin(StrictModel):
    """Model Studio super admin: the account-wide RAM policy AliyunBailianFullAccess (every workspace)."""

    reason: str = Field(min_length=10, description="why this user must administer every workspace")


class User(StrictModel):
    """A RAM user (an agent-delivery account); its ownership marker lives in the user's Comments."""

    name: UserName
    display_name: str | None = Field(None, min_length=1, max_length=128, description="display name in RAM")
    email: str | None = Field(None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", description="contact email")
    console_login: ConsoleLogin | None = Field(None, description="console sign-in; omitted = none")
    access_keys: Annotated[int, BeforeValidator(_at_most_two_keys)] = Field(
        0, ge=0, le=2, description="number of active AccessKeys wanted (0-2); secrets go to the secrets sink")
    policies: UserPolicies = Field(default_factory=UserPolicies, description="attached RAM policies")
    groups: list[Annotated[str, Field(min_length=1, max_length=128)]] = Field(
        default_factory=list, description="Huawei IAM user groups the user joins (existing groups)")
    allow_privileged: list[PrivilegedAllow] = Field(
        default_factory=list, description="reviewed exceptions to the privileged-policy lint")
    super_admin: SuperAdmin | None = Field(
        None, description="make the user super admin: attaches AliyunBailianFullAccess, account-wide")
    expires_at: ExpiresAt | None = Field(
        None, description="ISO-8601 time after which the account is stripped of all access (UTC if no zone)")
    state: State = STATE
    protect: bool = PROTECT
    adopt: bool = ADOPT

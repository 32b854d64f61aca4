"""The ``ram`` section of a seed account: custom policies, groups and users built through the same
rules the API uses, so a seeded account is one the API could have produced.

    ram:
      policies: [{name: team-read, document: {...}, description: "", tags: {managed-by: provision}}]
      groups:   [{name: devs, comments: "", policies: [AliyunBailianDataReadOnlyAccess]}]
      users:
        - name: alice
          display_name: Alice
          comments: managed-by=provision
          policies: [AliyunBailianFullAccess, "Custom:team-read"]   # "System:" / "Custom:" prefix optional
          groups: [devs]
          access_keys: [{id: LTAI5tAliceKey000000001, secret: "...", active: true}]   # id/secret optional
          login_profile: {password_reset_required: false, mfa_bind_required: false}
          mfa: true                                                   # binds a virtual MFA device
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from provision.emulator.alibaba import ram_custom as pol
from provision.emulator.alibaba import ram_rules as rules
from provision.emulator.alibaba.ram_policies import system_policy
from provision.emulator.alibaba.ram_state import PolicyType, base62_token
from provision.emulator.wire import CloudError, Ctx
from provision.emulator.world import World

DEFAULT_SEED: dict[str, Any] = {"users": []}  # an empty account


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SeedKey(_Strict):
    id: str | None = None
    secret: str | None = Field(default=None, repr=False)
    active: bool = True


class SeedLoginProfile(_Strict):
    password_reset_required: bool = False
    mfa_bind_required: bool = False


class SeedUser(_Strict):
    name: str
    display_name: str | None = None
    comments: str | None = None
    email: str | None = None
    mobile_phone: str | None = None
    policies: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)
    access_keys: list[SeedKey] = Field(default_factory=list)
    login_profile: SeedLoginProfile | None = None
    mfa: bool = False


class SeedGroup(_Strict):
    name: str
    comments: str = ""
    policies: list[str] = Field(default_factory=list)


class SeedPolicy(_Strict):
    name: str
    document: dict[str, Any] | str
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)


class RamSeed(_Strict):
    policies: list[SeedPolicy] = Field(default_factory=list)
    groups: list[SeedGroup] = Field(default_factory=list)
    users: list[SeedUser] = Field(default_factory=list)


def policy_ref(ref: str) -> tuple[PolicyType, str]:
    """``System:Name`` / ``Custom:Name``; a bare name is System when such a system policy exists."""
    kind, _, name = ref.partition(":")
    if kind in ("System", "Custom") and name:
        return pol.check_policy_type(kind), name
    return ("System" if system_policy(ref) else "Custom"), ref


def _seed_user(ctx: Ctx, spec: SeedUser) -> None:
    user = rules.create_user(ctx, spec.name, rules.UserFields(spec.display_name, spec.comments, spec.email,
                                                              spec.mobile_phone))
    for ref in spec.policies:
        pol.attach_policy(ctx, "User", user, *policy_ref(ref))
    for group in spec.groups:
        rules.add_user_to_group(ctx, group, spec.name)
    for key in spec.access_keys:
        rules.create_access_key(ctx, spec.name, key.id, key.secret, key.active)
    if spec.login_profile is not None:
        password = base62_token(ctx, "seed-password", 20) + "a1"  # meets the password rule
        rules.create_login_profile(ctx, spec.name, password, spec.login_profile.password_reset_required,
                                   spec.login_profile.mfa_bind_required)
    if spec.mfa:
        device = rules.create_mfa_device(ctx, f"{spec.name.replace('.', '-').replace('_', '-')}-mfa")
        rules.bind_mfa_device(ctx, spec.name, device.serial_number, "123456", "654321")


def seed_ram(world: World, account_id: str, section: dict[str, Any]) -> None:
    """Load one account's ``ram`` seed section (policies, then groups, then users)."""
    try:
        seed = RamSeed.model_validate(section)
    except ValidationError as exc:
        raise ValueError(f"seed account {account_id}: invalid ram section: {exc}") from None
    ctx = Ctx(world, account_id)
    try:
        for p in seed.policies:
            document = p.document if isinstance(p.document, str) else json.dumps(p.document)
            pol.create_policy(ctx, p.name, document, p.description, list(p.tags.items()))
        for g in seed.groups:
            group = rules.create_group(ctx, g.name, g.comments)
            for ref in g.policies:
                pol.attach_policy(ctx, "Group", group, *policy_ref(ref))
        for u in seed.users:
            _seed_user(ctx, u)
    except CloudError as exc:
        raise ValueError(f"seed account {account_id}: ram section: {exc.code}: {exc.message}") from None

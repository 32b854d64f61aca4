"""Per-cloud rules of a manifest: the fields only one cloud understands, and each cloud's own limits.

One manifest schema serves every ``cloud.provider``; a field written for the other cloud is refused at
its line (``file:line: users[0].groups: groups is a Huawei Cloud field ...``), and so is a value outside the
cloud's limits (Huawei: 2 access keys per IAM user, 30 MaaS API keys per account, workspace names 4-64
characters and not ``default``; policy language Version "1" on Alibaba, "5.0" on Huawei).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from provision.manifest.marks import FieldPath, Problem
from provision.manifest.model import Cloud, Manifest
from provision.manifest.schema_base import ALIBABA, HUAWEI
from provision.manifest.schema_services import ApiKey, Endpoint, Workspace
from provision.manifest.schema_users import PolicyDocument, User
from provision.manifest.schema_verify import VerifyCheck

LABELS: dict[str, str] = {ALIBABA: "an Alibaba Cloud", HUAWEI: "a Huawei Cloud"}
MAAS_KEYS_PER_ACCOUNT = 30  # "≤30 valid keys per account" (MaaS)
WORKSPACE_NAME = re.compile(r"^[\w\u4e00-\u9fff-]{4,64}$")  # letters (Chinese too), digits, - and _
RESERVED_WORKSPACES = ("default",)
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

# The fields one cloud only: model → field → cloud. Anything not listed is common to both.
ONLY: dict[type[BaseModel], dict[str, str]] = {
    Cloud: {"site": ALIBABA, "endpoints": ALIBABA},
    User: {"super_admin": ALIBABA, "groups": HUAWEI},
    Workspace: {"models": ALIBABA},
    ApiKey: {"allowed_models": ALIBABA, "ip_allow_list": ALIBABA, "disabled": ALIBABA,
             "ip_whitelist": HUAWEI},
    Endpoint: {"zones": ALIBABA, "security_group_ids": ALIBABA, "service_name": ALIBABA, "region": ALIBABA,
               "subnet_id": HUAWEI, "enable_dns": HUAWEI},
    VerifyCheck: {"denied_model": ALIBABA, "app_id": ALIBABA, "biz_params": ALIBABA, "rag_options": ALIBABA,
                  "memory_id": ALIBABA, "user": HUAWEI, "deployment_id": HUAWEI, "agent_id": HUAWEI},
    Manifest: {"guardrails": HUAWEI},
}


def check_cloud(manifest: Manifest) -> list[Problem]:
    """Every field of the other cloud, then the rules and limits of the manifest's own cloud."""
    provider = manifest.cloud.provider
    problems = list(_foreign(manifest, (), provider))
    problems += list(_huawei(manifest) if provider == HUAWEI else _alibaba(manifest))
    return problems


def _foreign(value: Any, path: FieldPath, provider: str) -> Iterator[Problem]:
    """A problem at each explicitly written field that belongs to the other cloud (depth first)."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            yield from _foreign(item, (*path, i), provider)
        return
    if not isinstance(value, BaseModel):
        return
    only = ONLY.get(type(value), {})
    for name in type(value).model_fields:
        if name not in value.model_fields_set:
            continue
        owner = only.get(name)
        if owner is not None and owner != provider:
            yield Problem((*path, name), f"{name} is {LABELS[owner]} field: not valid with cloud.provider "
                                         f"{provider} (remove it, or set cloud.provider: {owner})")
            continue
        yield from _foreign(getattr(value, name), (*path, name), provider)


def _documents(m: Manifest) -> Iterator[tuple[FieldPath, PolicyDocument]]:
    for i, p in enumerate(m.policies):
        if p.document is not None:
            yield ("policies", i, "document"), p.document
    for i, g in enumerate(m.guardrails):
        if g.document is not None:
            yield ("guardrails", i, "document"), g.document


def _alibaba(m: Manifest) -> Iterator[Problem]:
    for path, document in _documents(m):
        if document.version != "1":
            yield Problem((*path, "Version"), 'a RAM policy document has Version "1"')
        for j, statement in enumerate(document.statement):
            for action in statement.actions():
                if action.count(":") != 1:
                    yield Problem((*path, "Statement", j, "Action"),
                                  f"action {action!r} is not '<service>:<Action>' or '*'")
    for i, e in enumerate(m.endpoints):
        base: FieldPath = ("endpoints", i)
        if e.state == "present" and len(e.zones) < 2:
            yield Problem((*base, "zones"),
                          "a PrivateLink endpoint to DashScope needs vSwitches in at least 2 "
                                            "zones")
        if e.state == "present" and not e.security_group_ids:
            yield Problem((*base, "security_group_ids"),
                          "a PrivateLink endpoint needs at least 1 security group")
        if not e.vpc_id.startswith("vpc-"):
            yield Problem((*base, "vpc_id"), f"{e.vpc_id!r} is not an Alibaba Cloud VPC id (vpc-...)")
        if e.service_id is not None and not e.service_id.startswith("epsrv-"):
            yield Problem((*base, "service_id"),
                          f"{e.service_id!r} is not an endpoint service id (epsrv-...)")


def _huawei(m: Manifest) -> Iterator[Problem]:
    for path, document in _documents(m):
        if document.version != "5.0":
            yield Problem((*path, "Version"), 'a Huawei IAM v5 or SCP document has Version "5.0"')
    for i, g in enumerate(m.guardrails):
        if g.state == "present" and g.document is None:
            yield Problem(("guardrails", i, "document"),
                          f"guardrail {g.name} needs a document (or state: absent)")
    for i, w in enumerate(m.workspaces):
        if w.name.lower() in RESERVED_WORKSPACES:
            yield Problem(("workspaces", i, "name"),
                          f"{w.name!r} is the reserved name of the default workspace")
        elif not WORKSPACE_NAME.match(w.name):
            yield Problem(("workspaces", i, "name"),
                          "a ModelArts workspace name has 4-64 characters: letters, "
                                                     "digits, - and _")
    keys = [(i, k) for i,
            w in enumerate(m.workspaces) if w.state == "present" for k in range(len(w.api_keys))]
    if len(keys) > MAAS_KEYS_PER_ACCOUNT:
        i, k = keys[MAAS_KEYS_PER_ACCOUNT]
        yield Problem(("workspaces", i, "api_keys", k),
                      f"{len(keys)} API keys declared: MaaS allows {MAAS_KEYS_PER_ACCOUNT} per account")
    for i, e in enumerate(m.endpoints):
        base: FieldPath = ("endpoints", i)
        if not _UUID.match(e.vpc_id):
            yield Problem((*base, "vpc_id"), f"{e.vpc_id!r} is not a Huawei Cloud VPC id (a UUID)")
        if e.service_id is None or not _UUID.match(e.service_id):
            yield Problem((*base, "service_id"),
                          "a VPC endpoint to MaaS names its endpoint service by service_id "
                                                 "(a UUID)")
        if e.state == "present" and e.subnet_id is None:
            yield Problem((*base, "subnet_id"), "a VPC endpoint needs the subnet_id it is created in")
    yield from _huawei_verify(m)


def _huawei_verify(m: Manifest) -> Iterator[Problem]:
    users = {u.name: u for u in m.users}
    for i, check in enumerate(m.verify.checks):
        base: FieldPath = ("verify", "checks", i)
        if (check.deployment_id or check.agent_id) and check.user is None:
            yield Problem((*base, "user"),
                          "a Pangu V1 or agent-run check is signed by a declared user's AK/SK: "
                                           "name it with user")
        if check.user is not None:
            user = users.get(check.user)
            if user is None:
                yield Problem((*base, "user"), f"user {check.user!r} is not declared under users")
            elif user.access_keys < 1:
                yield Problem((*base, "user"), f"user {check.user} has no access_keys to sign the calls with")

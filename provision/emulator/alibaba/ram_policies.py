"""RAM system policies as data, and the policy-document grammar custom policies must follow.

The documents mirror the action patterns of the real system policies (reference §1.4); the
authorizer evaluates them like any custom policy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from provision.emulator.wire import CloudError

MAX_DOCUMENT_CHARS = 6144  # current RAM limit; older docs said 2048 [UNVERIFIED]
_SYSTEM_DATE = "2015-04-28T16:00:00Z"
_RAM_LIST = ("ram:ListUserBasicInfos", "ram:ListRoles")
_READ_VERBS = ("Get*", "Describe*", "List*", "Query*")


def _read_only(*services: str) -> tuple[str, ...]:
    return tuple(f"{svc}:{verb}" for svc in services for verb in _READ_VERBS)


def _allow(*actions: str) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": list(actions), "Resource": "*"}


@dataclass(frozen=True)
class SystemPolicy:
    """One Alibaba-managed policy: its name, default version and document."""

    name: str
    description: str
    default_version: str
    statements: tuple[dict[str, Any], ...]

    @property
    def create_date(self) -> str:
        return _SYSTEM_DATE

    def document(self) -> dict[str, Any]:
        return {"Version": "1", "Statement": [dict(s) for s in self.statements]}

    def document_json(self) -> str:
        return json.dumps(self.document())


SYSTEM_POLICIES: tuple[SystemPolicy, ...] = (
    SystemPolicy("AdministratorAccess", "Provides full access to Alibaba Cloud services and resources.",
                 "v1", (_allow("*"),)),
    SystemPolicy("AliyunRAMFullAccess", "Provides full access to Resource Access Management (RAM).",
                 "v1", (_allow("ram:*"),)),
    SystemPolicy("AliyunRAMReadOnlyAccess", "Provides read-only access to Resource Access Management (RAM).",
                 "v1", (_allow("ram:Get*", "ram:List*"),)),
    SystemPolicy("AliyunSTSAssumeRoleAccess", "Provides access to call the STS AssumeRole API.",
                 "v1", (_allow("sts:AssumeRole"),)),
    SystemPolicy("AliyunBailianFullAccess", "Provides full access to Alibaba Cloud Model Studio (Bailian).",
                 "v7", (_allow("bailiancontrol:*", "modelstudio:*", "bailiandata:*", "sfm:*",
                               "bailianchatbot:*"),
                        _allow(*_RAM_LIST))),
    SystemPolicy("AliyunBailianControlFullAccess",
                 "Provides full access to the Model Studio (Bailian) control plane.",
                 "v1", (_allow("bailiancontrol:*"), _allow(*_RAM_LIST))),
    SystemPolicy("AliyunBailianControlReadOnlyAccess",
                 "Provides read-only access to the Model Studio (Bailian) control plane.",
                 "v1", (_allow(*_read_only("bailiancontrol")),)),
    SystemPolicy("AliyunBailianDataFullAccess", "Provides full access to Model Studio (Bailian) data APIs.",
                 "v1", (_allow("bailiandata:*", "sfm:*"), _allow(*_RAM_LIST))),
    SystemPolicy("AliyunBailianDataReadOnlyAccess",
                 "Provides read-only access to Model Studio (Bailian) data APIs.",
                 # bailian-sub-workspace-model-calls: NoPermission on sfm:CreateSession is fixed by
                 # AliyunBailianDataFullAccess, "AliyunBailianDataReadOnlyAccess 不可以" (the vendor document
                 # wins over the reference, which listed sfm:CreateSession here)
                 "v2", (_allow(*_read_only("bailiandata", "sfm"), "sfm:AbortGenerateAnswer"),)),
    SystemPolicy("AliyunPrivateLinkFullAccess", "Provides full access to PrivateLink.",
                 "v1", (_allow("privatelink:*"), _allow("vpc:Describe*", "ecs:DescribeSecurityGroups"))),
    SystemPolicy("AliyunPrivateLinkReadOnlyAccess", "Provides read-only access to PrivateLink.",
                 "v1", (_allow("privatelink:Get*", "privatelink:List*", "privatelink:Describe*"),
                        _allow("vpc:Describe*", "ecs:DescribeSecurityGroups"))),
    SystemPolicy("AliyunVPCFullAccess", "Provides full access to Virtual Private Cloud (VPC).",
                 "v1", (_allow("vpc:*"),)),
    SystemPolicy("AliyunECSReadOnlyAccess", "Provides read-only access to Elastic Compute Service (ECS).",
                 "v1", (_allow("ecs:Describe*", "ecs:List*"),)),
    SystemPolicy("AliyunVPCReadOnlyAccess", "Provides read-only access to Virtual Private Cloud (VPC).",
                 "v1", (_allow("vpc:Describe*", "vpc:Get*", "vpc:List*"),)),
)
_BY_NAME = {p.name: p for p in SYSTEM_POLICIES}


def system_policy(name: str) -> SystemPolicy | None:
    """The system policy called ``name``, if there is one."""
    return _BY_NAME.get(name)


def _malformed(detail: str) -> CloudError:
    return CloudError("MalformedPolicyDocument", f"The policy document is malformed: {detail}", 400)


def _is_str_or_str_list(value: Any) -> bool:
    if isinstance(value, str):
        return bool(value)
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) and v for v in value)


def _check_statement(index: int, stmt: Any) -> None:
    where = f"Statement[{index}]"
    if not isinstance(stmt, dict):
        raise _malformed(f"{where} must be an object.")
    if stmt.get("Effect") not in ("Allow", "Deny"):
        raise _malformed(f"{where}.Effect must be Allow or Deny.")
    for pair in (("Action", "NotAction"), ("Resource", "NotResource")):
        present = [k for k in pair if k in stmt]
        if len(present) != 1:
            raise _malformed(f"{where} must have exactly one of {pair[0]} / {pair[1]}.")
        if not _is_str_or_str_list(stmt[present[0]]):
            raise _malformed(f"{where}.{present[0]} must be a string or a list of strings.")
    if "Condition" in stmt and not isinstance(stmt["Condition"], dict):
        raise _malformed(f"{where}.Condition must be an object.")
    unknown = set(stmt) - {"Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}
    if unknown:
        raise _malformed(f"{where} has unknown element(s) {sorted(unknown)}.")


def parse_document(text: str) -> dict[str, Any]:
    """Parse and validate a policy document; raise MalformedPolicyDocument (400) when it is not one."""
    if len(text) > MAX_DOCUMENT_CHARS:
        raise CloudError("InvalidParameter.PolicyDocument.Length",
                         f'The parameter - "PolicyDocument" beyond the length limit ({MAX_DOCUMENT_CHARS}).',
                         400)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _malformed(f"not valid JSON ({exc.msg}).") from None
    if not isinstance(doc, dict):
        raise _malformed("the document must be a JSON object.")
    if doc.get("Version") != "1":
        raise _malformed('Version must be "1".')
    statements = doc.get("Statement")
    if not isinstance(statements, list) or not statements:
        raise _malformed("Statement must be a non-empty list.")
    for i, stmt in enumerate(statements):
        _check_statement(i, stmt)
    return doc

"""The reader of VPC endpoints and of the Organizations SCPs with their attachments (typed, frozen)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from huaweicloudsdkorganizations.v1 import (
    ListEntitiesForPolicyRequest,
    ListPoliciesRequest,
    ShowPolicyRequest,
)
from huaweicloudsdkvpcep.v1 import ListEndpointsRequest

from provision.providers.huawei.clients import HuaweiClients
from provision.providers.huawei.read_common import each, iso, tags


@dataclass(frozen=True)
class VpcEndpoint:
    endpoint_id: str
    service_id: str
    service_name: str
    status: str  # creating | accepted | pendingAcceptance | rejected | failed | deleting
    vpc_id: str
    subnet_id: str
    ip: str
    domains: tuple[str, ...]
    tags: tuple[tuple[str, str], ...]
    description: str
    created: str

    def tag(self, key: str) -> str | None:
        return next((v for k, v in self.tags if k == key), None)


@dataclass(frozen=True)
class ScpAttachment:
    entity_id: str
    name: str
    entity_type: str  # account | organizational_unit | root


@dataclass(frozen=True)
class Scp:
    policy_id: str
    name: str
    description: str
    builtin: bool
    content: str
    attachments: tuple[ScpAttachment, ...] = ()


def read_endpoints(clients: HuaweiClients) -> tuple[VpcEndpoint, ...]:
    """Every VPC endpoint of the project."""
    listed = clients.offset_pages(
        "vpcep.endpoint",
        "ListEndpoints",
        lambda offset, limit: clients.vpcep().list_endpoints(
            ListEndpointsRequest(offset=offset, limit=limit)
        ),
        lambda r: r.endpoints,
        lambda r: r.total_count,
        1000,
    )
    return tuple(
        VpcEndpoint(
            str(e.id),
            str(e.endpoint_service_id or ""),
            str(e.endpoint_service_name or ""),
            str(e.status or ""),
            str(e.vpc_id or ""),
            str(e.subnet_id or ""),
            str(e.ip or ""),
            tuple(str(d) for d in e.dns_names or ()),
            tags(e.tags, "key", "value"),
            str(e.description or ""),
            iso(e.created_at),
        )
        for e in listed
    )


def read_scps(clients: HuaweiClients) -> tuple[Scp, ...]:
    """Every service control policy with its content and attachments."""
    listed = clients.marker_pages(
        "organizations.policy",
        "ListPolicies",
        lambda m: clients.organizations().list_policies(ListPoliciesRequest(limit=200, marker=m)),
        lambda r: r.policies,
    )

    def one(summary: Any) -> Scp:
        resource = f"organizations.policy/{summary.name}"
        shown = clients.call(
            resource,
            "ShowPolicy",
            lambda: clients.organizations().show_policy(ShowPolicyRequest(policy_id=summary.id)),
        )
        entities = clients.marker_pages(
            resource,
            "ListEntitiesForPolicy",
            lambda m: clients.organizations().list_entities_for_policy(
                ListEntitiesForPolicyRequest(policy_id=summary.id, limit=200, marker=m)
            ),
            lambda r: r.attached_entities,
        )
        return Scp(
            str(summary.id),
            str(summary.name),
            str(summary.description or ""),
            bool(summary.is_builtin),
            str(shown.policy.content or ""),
            tuple(ScpAttachment(str(e.id), str(e.name or ""), str(e.type or "")) for e in entities),
        )

    scps = [
        s
        for s in listed
        if str(getattr(s, "type", "") or "service_control_policy") == "service_control_policy"
    ]
    return tuple(each(one, scps))

"""ECS (2014-05-26) security-group reads for the endpoints: each declared group must exist, be in the
endpoint's VPC, and admit inbound TCP 80 and 443 from the VPC's range.

`bailian-privatelink-endpoint.txt`: "安全组入方向需要开放HTTP(80)和HTTPS(443)端口" so that the VPC reaches
DashScope through the endpoint over HTTP or HTTPS. A group that does not is found at plan time, not when a
model call times out. Read-only: ``DescribeSecurityGroupAttribute`` (Direction=ingress).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from alibabacloud_ecs20140526 import models as ecs

from provision.desired.model import SpecProblem
from provision.desired.resources import EndpointSpec
from provision.providers.alibaba.base import Clients
from provision.providers.common.outcomes import Outcome

REQUIRED_PORTS = (80, 443)  # HTTP and HTTPS, as the PrivateLink guide asks


@dataclass(frozen=True)
class IngressRule:
    """One inbound rule of a group as the tool judges it."""

    protocol: str  # TCP, UDP, ICMP, ALL
    ports: tuple[int, int]  # first and last port (-1/-1 = all)
    source: str  # the source CIDR ("" when the rule names a group or a prefix list instead)
    accept: bool

    def admits(self, port: int, vpc_cidr: str) -> bool:
        """Whether the rule lets TCP ``port`` in from every address of ``vpc_cidr``."""
        if not self.accept or self.protocol.upper() not in ("TCP", "ALL") or not self.source:
            return False
        first, last = self.ports
        if (first, last) != (-1, -1) and not first <= port <= last:
            return False
        try:
            source = ipaddress.ip_network(self.source, strict=False)
            vpc = ipaddress.ip_network(vpc_cidr, strict=False)
        except ValueError:
            return False
        return source.version == vpc.version and vpc.subnet_of(source)  # type: ignore[arg-type]


def _ports(text: str) -> tuple[int, int]:
    first, _, last = (text or "-1/-1").partition("/")
    try:
        return int(first), int(last or first)
    except ValueError:
        return 0, -2  # unreadable: admits nothing


def rule_of(permission: Any) -> IngressRule:
    return IngressRule(protocol=str(permission.ip_protocol or ""),
                       ports=_ports(str(permission.port_range or "")),
                       source=str(permission.source_cidr_ip or ""),
                       accept=str(permission.policy or "Accept").lower() == "accept")


@dataclass(frozen=True)
class GroupFacts:
    """A security group as the check needs it."""

    security_group_id: str
    vpc_id: str
    ingress: tuple[IngressRule, ...]

    def missing_ports(self, vpc_cidr: str, ports: Iterable[int] = REQUIRED_PORTS) -> list[int]:
        return [p for p in ports if not any(rule.admits(p, vpc_cidr) for rule in self.ingress)]


def security_group(clients: Clients, key: str, region: str, security_group_id: str) -> GroupFacts | None:
    """DescribeSecurityGroupAttribute (inbound rules): the group, or None when the region has no such id."""
    request = ecs.DescribeSecurityGroupAttributeRequest(
        region_id=region, security_group_id=security_group_id, direction="ingress")
    response = clients.call_or_none(
        key, "DescribeSecurityGroupAttribute",
        lambda: clients.ecs(region).describe_security_group_attribute(request), tolerate=Outcome.GONE)
    if response is None:
        return None
    body = response.body
    permissions = body.permissions.permission if body.permissions else None
    return GroupFacts(str(body.security_group_id or security_group_id), str(body.vpc_id or ""),
                      tuple(rule_of(p) for p in permissions or () if (p.direction or "ingress") == "ingress"))


def security_group_problems(clients: Clients, spec: EndpointSpec, vpc_cidr: str) -> list[SpecProblem]:
    """Each declared group exists, is in the endpoint's VPC, and admits TCP 80 and 443 from ``vpc_cidr``."""
    problems: list[SpecProblem] = []
    for group_id in spec.security_group_ids or ():
        found = security_group(clients, spec.key, spec.region, group_id)
        if found is None:
            message = f"security group {group_id} does not exist in region {spec.region}"
        elif found.vpc_id != spec.vpc_id:
            message = (f"security group {group_id} is in VPC {found.vpc_id}, not in the endpoint's VPC "
                       f"{spec.vpc_id}")
        elif missing := found.missing_ports(vpc_cidr):
            message = (f"security group {group_id} does not allow inbound TCP "
                       f"{' and '.join(map(str, missing))} from the VPC's range {vpc_cidr}: calls through "
                       "the endpoint would time out; add ingress rules for TCP 80 and 443 from that range "
                       "(PrivateLink guide: the group must open HTTP 80 and HTTPS 443)")
        else:
            continue
        problems.append(SpecProblem(spec.key, "security_group_ids", group_id, message))
    return problems

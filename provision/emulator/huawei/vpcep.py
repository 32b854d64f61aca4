"""VPCEP: VPC endpoints to the (seeded) MaaS endpoint services, with their status machine (reference §3.8).

Statuses derive from the clock at each read (``d`` = the world's ``async_delay_s``): ``creating`` for
``d`` after the create, then ``accepted`` (the service auto-accepts) or ``pendingAcceptance``;
``deleting`` for ``d`` after the delete, then gone (404 ``EndPoint.0005``). With ``enable_dns`` an
endpoint has the domain ``{id}.vpcep.{region}.huaweicloud.com``: a call whose ``Host`` is that domain
came through the endpoint (``g:SourceVpce``).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from provision.emulator.huawei.routing import HwCtx, HwRoute, Reply
from provision.emulator.huawei.state import REGION, Endpoint, EndpointService, HuaweiState, hw_state, uuid_id
from provision.emulator.wire import Body, CloudError
from provision.emulator.world import World

MAX_ENDPOINTS = 50  # per project [UNVERIFIED]
MAX_TAGS = 10
P = "/v1/{project_id}/vpc-endpoints"
S = "/v1/{project_id}/vpc-endpoint-services"


def bad(message: str) -> CloudError:
    return CloudError("EndPoint.0002", message, 400)


def endpoint_domain(endpoint_id: str) -> str:
    return f"{endpoint_id}.vpcep.{REGION}.huaweicloud.com"


def status(world: World, state: HuaweiState, endpoint: Endpoint) -> str | None:
    """The endpoint's status now, or None once a delete has finished."""
    now, delay = world.clock.timestamp(), world.settings["async_delay_s"]
    if endpoint.deleted_ts is not None:
        return "deleting" if now - endpoint.deleted_ts < delay else None
    if now - endpoint.created_ts < delay:
        return "creating"
    service = _service(state, endpoint.service_id)
    return "accepted" if service is None or service.auto_accept else "pendingAcceptance"


def endpoint_by_host(world: World, host: str) -> tuple[str, str] | None:
    """``(endpoint id, status)`` of the endpoint whose domain is ``host``, across accounts."""
    endpoint_id = host.removesuffix(f".vpcep.{REGION}.huaweicloud.com")
    if endpoint_id == host:
        return None
    for account_id in world.accounts:
        state = hw_state(world, account_id)
        endpoint = state.endpoints.get(endpoint_id)
        if endpoint is not None and endpoint.enable_dns:
            now = status(world, state, endpoint)
            return (endpoint_id, now) if now is not None else None
    return None


def _service(state: HuaweiState, service_id: str) -> EndpointService | None:
    return next((s for s in state.endpoint_services if s.id == service_id), None)


def _live(ctx: HwCtx) -> list[tuple[Endpoint, str]]:
    """Every endpoint not yet gone, with its status; finished deletes are dropped."""
    result = []
    for endpoint in list(ctx.state.endpoints.values()):
        now = status(ctx.world, ctx.state, endpoint)
        if now is None:
            del ctx.state.endpoints[endpoint.id]
        else:
            result.append((endpoint, now))
    return result


def _body(ctx: HwCtx, endpoint: Endpoint, now: str) -> Body:
    service = _service(ctx.state, endpoint.service_id)
    return {
        "id": endpoint.id,
        "service_type": "interface",
        "status": now,
        "active_status": ["active"] if now == "accepted" else [],
        "endpoint_service_name": service.service_name if service else "",
        "endpoint_service_id": endpoint.service_id,
        "marker_id": int(endpoint.id[:7], 16),
        "enable_dns": endpoint.enable_dns,
        "dns_names": [endpoint_domain(endpoint.id)] if endpoint.enable_dns else [],
        "ip": endpoint.ip,
        "vpc_id": endpoint.vpc_id,
        "subnet_id": endpoint.subnet_id,
        "created_at": endpoint.created_at,
        "updated_at": endpoint.updated_at,
        "project_id": ctx.params["project_id"],
        "tags": endpoint.tags,
        "whitelist": endpoint.whitelist,
        "enable_whitelist": endpoint.enable_whitelist,
        "routetables": [],
        "description": endpoint.description,
        "specification_name": "default",
        "enable_status": "enable",
        "public_border_group": "center",
    }


def _tags(raw: Any) -> list[dict[str, str]]:
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > MAX_TAGS:
        raise bad(f"tags must be a list of at most {MAX_TAGS} {{key, value}} objects.")
    tags = []
    for tag in raw:
        if not isinstance(tag, dict) or not isinstance(tag.get("key"), str) or not tag["key"]:
            raise bad(f"the tag {tag!r} needs a key.")
        tags.append({"key": tag["key"], "value": str(tag.get("value", ""))})
    if len({t["key"] for t in tags}) != len(tags):
        raise bad("tag keys must be unique.")
    return tags


def create_endpoint(ctx: HwCtx) -> Body:
    body = ctx.body()
    service_id, vpc_id, subnet_id = body.get("endpoint_service_id"), body.get("vpc_id"), body.get("subnet_id")
    service = _service(ctx.state, str(service_id or ""))
    if service is None:
        raise CloudError("EndPoint.1003", f"The endpoint service {service_id} does not exist.", 400)
    vpc = next((v for v in ctx.state.vpcs if v.id == vpc_id), None)
    if vpc is None:
        raise CloudError("EndPoint.0020", f"The VPC {vpc_id} does not exist.", 400)
    subnet = next((s for s in vpc.subnets if s.id == subnet_id), None)
    if subnet is None:
        raise CloudError("EndPoint.0023", f"The subnet {subnet_id} does not exist in VPC {vpc_id}.", 400)
    tags = _tags(body.get("tags"))
    live = _live(ctx)
    if any(e.vpc_id == vpc_id and e.service_id == service.id and s != "deleting" for e, s in live):
        raise CloudError(
            "EndPoint.0012", f"The VPC {vpc_id} already has an endpoint to the service {service.id}.", 409
        )
    if len(live) >= MAX_ENDPOINTS:
        raise CloudError("EndPoint.0011", f"The project already has {MAX_ENDPOINTS} endpoints (quota).", 400)
    used = {e.ip for e, _ in live}
    hosts = (str(ip) for ip in ipaddress.ip_network(subnet.cidr).hosts())
    ip = next(h for h in hosts if h not in used and int(h.rsplit(".", 1)[1]) >= 10)
    endpoint = Endpoint(
        id=uuid_id(ctx.world, "hw-vpcep"),
        service_id=service.id,
        vpc_id=vpc.id,
        subnet_id=subnet.id,
        ip=ip,
        enable_dns=body.get("enable_dns") is True,
        description=str(body.get("description") or ""),
        tags=tags,
        whitelist=[str(w) for w in body.get("whitelist") or []],
        enable_whitelist=body.get("enable_whitelist") is True,
        created_at=ctx.now_iso(),
        created_ts=ctx.now_ts(),
        updated_at=ctx.now_iso(),
    )
    ctx.state.endpoints[endpoint.id] = endpoint
    return _body(ctx, endpoint, "creating")


def _endpoint_of(ctx: HwCtx) -> tuple[Endpoint, str]:
    found = next(((e, s) for e, s in _live(ctx) if e.id == ctx.params["vpc_endpoint_id"]), None)
    if found is None:
        raise CloudError(
            "EndPoint.0005", f"The VPC endpoint {ctx.params['vpc_endpoint_id']} does not exist.", 404
        )
    return found


def show_endpoint(ctx: HwCtx) -> Body:
    return _body(ctx, *_endpoint_of(ctx))


def list_endpoints(ctx: HwCtx) -> Body:
    query = ctx.request.query
    limit = ctx.query_int("limit", 10, 0, 1000, "EndPoint.0006") or 10
    offset = ctx.query_int("offset", 0, 0, 10**9, "EndPoint.0010")
    items = _live(ctx)
    if query.get("endpoint_service_name"):
        name = query["endpoint_service_name"].lower()
        items = [
            (e, s)
            for e, s in items
            if name in ((svc := _service(ctx.state, e.service_id)) and svc.service_name.lower() or "")
        ]
    for field, attr in (("vpc_id", "vpc_id"), ("id", "id")):
        if query.get(field):
            items = [(e, s) for e, s in items if getattr(e, attr) == query[field]]
    key = "updated_at" if query.get("sort_key") == "update_at" else "created_at"
    items.sort(key=lambda pair: (getattr(pair[0], key), pair[0].id), reverse=query.get("sort_dir") != "asc")
    return {
        "endpoints": [_body(ctx, e, s) for e, s in items[offset : offset + limit]],
        "total_count": len(items),
    }


def delete_endpoint(ctx: HwCtx) -> Reply:
    endpoint, now = _endpoint_of(ctx)
    if now in ("creating", "deleting"):
        raise CloudError(
            "EndPoint.0002", f"The VPC endpoint {endpoint.id} is {now}: retry when it is accepted.", 400
        )
    endpoint.deleted_ts = ctx.now_ts()
    return Reply(204)


def _service_body(service: EndpointService) -> Body:
    return {
        "id": service.id,
        "owner": service.owner,
        "service_name": service.service_name,
        "service_type": service.service_type,
        "created_at": "2025-01-01T00:00:00Z",
        "is_charge": True,
        "enable_policy": False,
        "public_border_group": "center",
    }


def list_public_services(ctx: HwCtx) -> Body:
    name = ctx.request.query.get("endpoint_service_name", "").lower()
    services = [_service_body(s) for s in ctx.state.endpoint_services if name in s.service_name.lower()]
    return {"endpoint_services": services, "total_count": len(services)}


def describe_service(ctx: HwCtx) -> Body:
    query = ctx.request.query
    service = next(
        (
            s
            for s in ctx.state.endpoint_services
            if s.id == query.get("id") or s.service_name == query.get("endpoint_service_name")
        ),
        None,
    )
    if service is None:
        raise CloudError("EndPoint.0005", "The endpoint service does not exist.", 404)
    body = _service_body(service)
    del body["owner"]
    return body


ROUTES: tuple[HwRoute, ...] = (
    HwRoute(
        "ListServicePublicDetails", "GET", S + "/public", list_public_services, "vpcep:endpointServices:list"
    ),
    HwRoute(
        "ListServiceDescribeDetails", "GET", S + "/describe", describe_service, "vpcep:endpointServices:get"
    ),
    HwRoute("CreateEndpoint", "POST", P, create_endpoint, "vpcep:endpoints:create"),
    HwRoute("ListEndpoints", "GET", P, list_endpoints, "vpcep:endpoints:list"),
    HwRoute("ListEndpointInfoDetails", "GET", P + "/{vpc_endpoint_id}", show_endpoint, "vpcep:endpoints:get"),
    HwRoute("DeleteEndpoint", "DELETE", P + "/{vpc_endpoint_id}", delete_endpoint, "vpcep:endpoints:delete"),
)

"""PrivateLink interface endpoints to DashScope (privatelink 2020-04-15); vSwitches checked with VPC.

Everything here is asynchronous: each change is followed by polling until the endpoint is Active and
Connected (zones Connected) or gone, bounded by ``Clients.poll``. An endpoint is managed when tagged
``managed-by=provision``; it is identified by (region, VPC, endpoint name).
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from alibabacloud_privatelink20200415 import models as pl
from alibabacloud_vpc20160428 import models as vpc

from provision.errors import ProvisionError
from provision.plan import Action, Change
from provision.providers.base import MARKER_TAG, Clients, ordered_like
from provision.providers.calls import CallError, Outcome, page_number_pager, token_pager
from provision.resources import Desired, EndpointSpec, Kind, Live, Zone

_GONE_ZONE_STATES = frozenset({"Deleting", "Deleted"})
_VSWITCH_PAGE = 50


def client_token(spec: EndpointSpec) -> str:
    """A deterministic ClientToken for creating ``spec``: a retried or re-run create never duplicates it."""
    service = spec.service_id or spec.service_name
    digest = hashlib.sha256(f"{spec.region}/{spec.vpc_id}/{spec.endpoint}/{service}".encode()).hexdigest()
    return f"provision-{digest[:40]}"


class PrivateLinkProvider:
    """Reads and changes PrivateLink endpoints (zones and security groups included)."""

    kinds: tuple[Kind, ...] = (Kind.ENDPOINT,)

    def __init__(self, clients: Clients, workers: int = 8) -> None:
        self.clients = clients
        self.workers = workers

    def _pl(self, region: str) -> Any:
        return self.clients.privatelink(region)

    # -- read -----------------------------------------------------------------------------------------
    def read(self, desired: Desired) -> list[Live]:
        """ListVpcEndpoints per (region, VPC) declared; ListVpcEndpointZones and
        ListVpcEndpointSecurityGroups for managed or adopted ones."""
        declared: dict[tuple[str, str], list[EndpointSpec]] = defaultdict(list)
        for s in (*desired.present, *desired.absent):
            if isinstance(s, EndpointSpec):
                declared[(s.region, s.vpc_id)].append(s)
        found: list[tuple[EndpointSpec | None, Any, str]] = []
        for (region, vpc_id), specs in sorted(declared.items()):
            for item in self._list(region, vpc_id):
                named = [s for s in specs if s.endpoint == item.endpoint_name]
                spec = next((s for s in named if _same_service(s, item)), None)
                # Same name, other service: not the declared endpoint (the key would collide).
                if spec is not None or (not named and tagged(item)):
                    found.append((spec, item, region))
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            return list(pool.map(lambda f: self._live(f[0], f[1], f[2], desired.adopt), found))

    def _list(self, region: str, vpc_id: str) -> list[Any]:
        def page(token: str | None) -> Any:
            return self._pl(region).list_vpc_endpoints(pl.ListVpcEndpointsRequest(
                region_id=region, vpc_id=vpc_id, max_results=100, next_token=token))

        return self.clients.paginate(f"{Kind.ENDPOINT}/*", "ListVpcEndpoints",
                                     token_pager(page, lambda body: body.endpoints))

    def _live(self, spec: EndpointSpec | None, item: Any, region: str, adopt: frozenset[str]) -> Live:
        managed = tagged(item)
        key = f"{Kind.ENDPOINT}/{item.endpoint_name}"
        zones: tuple[Zone, ...] | None = None
        groups: tuple[str, ...] | None = None
        if managed or key in adopt:
            zones = ordered_like(tuple(sorted(
                (Zone(z.zone_id, z.v_switch_id) for z in self._zones(key, region, item.endpoint_id)
                 if z.zone_status not in _GONE_ZONE_STATES), key=lambda z: z.zone_id)),
                spec.zones if spec else None)
            groups = ordered_like(tuple(sorted(self._groups(key, region, item.endpoint_id))),
                                  spec.security_group_ids if spec else None)
        live = EndpointSpec(
            endpoint=item.endpoint_name, region=region, vpc_id=item.vpc_id, zones=zones,
            security_group_ids=groups, service_name=item.service_name, service_id=item.service_id,
            endpoint_id=item.endpoint_id, domain=item.endpoint_domain, status=item.endpoint_status,
            connection_status=item.connection_status)
        return Live(live, managed=managed, cloud_id=item.endpoint_id)

    def _zones(self, key: str, region: str, endpoint_id: str) -> list[Any]:
        def page(token: str | None) -> Any:
            return self._pl(region).list_vpc_endpoint_zones(pl.ListVpcEndpointZonesRequest(
                region_id=region, endpoint_id=endpoint_id, next_token=token))

        return self.clients.paginate(key, "ListVpcEndpointZones", token_pager(page, lambda body: body.zones))

    def _groups(self, key: str, region: str, endpoint_id: str) -> list[str]:
        def page(token: str | None) -> Any:
            request = pl.ListVpcEndpointSecurityGroupsRequest(region_id=region, endpoint_id=endpoint_id,
                                                              next_token=token)
            return self._pl(region).list_vpc_endpoint_security_groups(request)

        items = self.clients.paginate(key, "ListVpcEndpointSecurityGroups",
                                      token_pager(page, lambda body: body.security_groups))
        return [g.security_group_id for g in items if g.security_group_status != "Detaching"]

    # -- execute --------------------------------------------------------------------------------------
    def execute(self, change: Change) -> str:
        """CreateVpcEndpoint (validated, deterministic ClientToken) / zone and security-group changes /
        remove zones then DeleteVpcEndpoint (gone = done); each followed by polling."""
        spec = change.spec
        assert isinstance(spec, EndpointSpec)
        if change.action is Action.CREATE:
            return self._create(change.key, spec)
        endpoint_id = (change.live.cloud_id if change.live else "") or spec.endpoint_id or ""
        if change.action is Action.DELETE:
            return self._delete(change.key, spec.region, endpoint_id)
        return self._update(change, spec, endpoint_id)

    def _create(self, key: str, spec: EndpointSpec) -> str:
        self.validate(key, spec)
        tag_key, tag_value = MARKER_TAG
        request = pl.CreateVpcEndpointRequest(
            region_id=spec.region, vpc_id=spec.vpc_id, endpoint_name=spec.endpoint, endpoint_type="Interface",
            service_name=None if spec.service_id else spec.service_name, service_id=spec.service_id,
            security_group_id=list(spec.security_group_ids or ()) or None,
            zone=[pl.CreateVpcEndpointRequestZone(zone_id=z.zone_id, v_switch_id=z.vswitch_id)
                  for z in spec.zones or ()] or None,
            zone_private_ip_address_count=1, client_token=client_token(spec),
            tag=[pl.CreateVpcEndpointRequestTag(key=tag_key, value=tag_value)])
        body = self.clients.call(key, "CreateVpcEndpoint",
                                 lambda: self._pl(spec.region).create_vpc_endpoint(request)).body
        self._wait_ready(key, spec.region, body.endpoint_id)
        return f"created {key} ({body.endpoint_id}, {body.endpoint_domain})"

    def validate(self, key: str, spec: EndpointSpec) -> None:
        """DescribeVSwitches of the VPC: every declared vSwitch must exist there, in its declared zone."""
        def page(number: str | None) -> Any:
            return self.clients.vpc(spec.region).describe_vswitches(vpc.DescribeVSwitchesRequest(
                region_id=spec.region, vpc_id=spec.vpc_id, page_number=int(number or "1"),
                page_size=_VSWITCH_PAGE))

        found = self.clients.paginate(key, "DescribeVSwitches", page_number_pager(
            page, lambda body: body.v_switches.v_switch if body.v_switches else None, _VSWITCH_PAGE))
        zone_of = {v.v_switch_id: v.zone_id for v in found}
        for zone in spec.zones or ():
            actual = zone_of.get(zone.vswitch_id)
            if actual is None:
                raise ProvisionError(f"{key}: vSwitch {zone.vswitch_id} is not in VPC {spec.vpc_id} "
                                     f"({spec.region}); fix zones[{zone.zone_id}] in the manifest")
            if actual != zone.zone_id:
                raise ProvisionError(f"{key}: vSwitch {zone.vswitch_id} is in zone {actual}, not "
                                     f"{zone.zone_id} as declared; fix the manifest")

    def _update(self, change: Change, spec: EndpointSpec, endpoint_id: str) -> str:
        key, region = change.key, spec.region
        live = change.live.spec if change.live else None
        assert live is None or isinstance(live, EndpointSpec)
        done: list[str] = []
        if change.live is not None and not change.live.managed:
            tag_key, tag_value = MARKER_TAG
            request = pl.TagResourcesRequest(region_id=region, resource_type="VpcEndpoint",
                                             resource_id=[endpoint_id],
                                             tag=[pl.TagResourcesRequestTag(key=tag_key, value=tag_value)])
            self.clients.call(key, "TagResources", lambda: self._pl(region).tag_resources(request))
            done.append("adopted")
        if spec.zones is not None:
            current = {z.zone_id: z for z in (live.zones or ())} if live else {}
            wanted = {z.zone_id: z for z in spec.zones}
            for zone in [z for zid, z in current.items() if wanted.get(zid) != z]:
                self._remove_zone(key, region, endpoint_id, zone.zone_id)
                done.append(f"removed zone {zone.zone_id}")
            if any(current.get(zid) != z for zid, z in wanted.items()):
                self.validate(key, spec)
            for zone in [z for zid, z in wanted.items() if current.get(zid) != z]:
                self._add_zone(key, region, endpoint_id, zone)
                done.append(f"added zone {zone.zone_id}")
        if spec.security_group_ids is not None:
            current_groups = set(live.security_group_ids or ()) if live else set()
            for sg in [g for g in spec.security_group_ids if g not in current_groups]:
                self._security_group(key, region, endpoint_id, sg, attach=True)
                done.append(f"attached {sg}")
            for sg in sorted(current_groups - set(spec.security_group_ids)):
                self._security_group(key, region, endpoint_id, sg, attach=False)
                done.append(f"detached {sg}")
        if done:
            self._wait_ready(key, region, endpoint_id)
        return f"updated {key}: {', '.join(done)}" if done else f"{key} already in sync"

    def _add_zone(self, key: str, region: str, endpoint_id: str, zone: Zone) -> None:
        self._wait_ready(key, region, endpoint_id, full=False)
        request = pl.AddZoneToVpcEndpointRequest(region_id=region, endpoint_id=endpoint_id,
                                                 zone_id=zone.zone_id, v_switch_id=zone.vswitch_id,
                                                 client_token=_once())
        self.clients.call_or_none(key, "AddZoneToVpcEndpoint",
                                  lambda: self._pl(region).add_zone_to_vpc_endpoint(request),
                                  tolerate=Outcome.EXISTS)

    def _remove_zone(self, key: str, region: str, endpoint_id: str, zone_id: str) -> None:
        self._wait_ready(key, region, endpoint_id, full=False)
        request = pl.RemoveZoneFromVpcEndpointRequest(region_id=region, endpoint_id=endpoint_id,
                                                      zone_id=zone_id, client_token=_once())
        self.clients.call_or_none(key, "RemoveZoneFromVpcEndpoint",
                                  lambda: self._pl(region).remove_zone_from_vpc_endpoint(request))
        self._poll(key, f"zone {zone_id} removed", lambda: self._zone_gone(key, region, endpoint_id, zone_id))

    def _security_group(self, key: str, region: str, endpoint_id: str, sg: str, attach: bool) -> None:
        self._wait_ready(key, region, endpoint_id, full=False)
        client = self._pl(region)
        if attach:
            attach_req = pl.AttachSecurityGroupToVpcEndpointRequest(
                region_id=region, endpoint_id=endpoint_id, security_group_id=sg, client_token=_once())
            self.clients.call_or_none(key, "AttachSecurityGroupToVpcEndpoint",
                                      lambda: client.attach_security_group_to_vpc_endpoint(attach_req),
                                      tolerate=Outcome.EXISTS)
        else:
            detach_req = pl.DetachSecurityGroupFromVpcEndpointRequest(
                region_id=region, endpoint_id=endpoint_id, security_group_id=sg, client_token=_once())
            self.clients.call_or_none(key, "DetachSecurityGroupFromVpcEndpoint",
                                      lambda: client.detach_security_group_from_vpc_endpoint(detach_req))

    def _delete(self, key: str, region: str, endpoint_id: str) -> str:
        """Remove the zones (the API refuses otherwise), DeleteVpcEndpoint, poll until it is gone."""
        if not endpoint_id or self._attribute(key, region, endpoint_id) is None:
            return f"{key} already absent"
        for zone in self._zones(key, region, endpoint_id):
            if zone.zone_status not in _GONE_ZONE_STATES:
                self._remove_zone(key, region, endpoint_id, zone.zone_id)
        self._poll(key, "without zones", lambda: (not self._zones(key, region, endpoint_id), "zones left"))
        self._wait_ready(key, region, endpoint_id, full=False)
        request = pl.DeleteVpcEndpointRequest(region_id=region, endpoint_id=endpoint_id, client_token=_once())
        self.clients.call_or_none(key, "DeleteVpcEndpoint",
                                  lambda: self._pl(region).delete_vpc_endpoint(request))
        self._poll(key, "deleted", lambda: (self._attribute(key, region, endpoint_id) is None, "Deleting"))
        return f"deleted {key} ({endpoint_id})"

    # -- polling --------------------------------------------------------------------------------------
    def _attribute(self, key: str, region: str, endpoint_id: str) -> Any | None:
        request = pl.GetVpcEndpointAttributeRequest(region_id=region, endpoint_id=endpoint_id)
        resp = self.clients.call_or_none(key, "GetVpcEndpointAttribute",
                                         lambda: self._pl(region).get_vpc_endpoint_attribute(request))
        return resp.body if resp is not None else None

    def _wait_ready(self, key: str, region: str, endpoint_id: str, full: bool = True) -> None:
        """Poll until the endpoint is Active and, when ``full``, Connected with every zone Connected."""
        def ready() -> tuple[bool, str]:
            body = self._attribute(key, region, endpoint_id)
            if body is None:
                raise CallError(key, "GetVpcEndpointAttribute", "EndpointNotFound", 404,
                                f"endpoint {endpoint_id} disappeared", "re-run plan")
            state = f"{body.endpoint_status}/{body.connection_status}"
            if body.endpoint_status != "Active" or (full and body.connection_status != "Connected"):
                return False, state
            if full:
                zones = self._zones(key, region, endpoint_id)
                waiting = [f"{z.zone_id}={z.zone_status}" for z in zones if z.zone_status != "Connected"]
                return not waiting, ", ".join(waiting)
            return True, state

        self._poll(key, "Active and Connected" if full else "Active", ready)

    def _zone_gone(self, key: str, region: str, endpoint_id: str, zone_id: str) -> tuple[bool, str]:
        zones = {z.zone_id: z.zone_status for z in self._zones(key, region, endpoint_id)}
        return zone_id not in zones, zones.get(zone_id, "")

    def _poll(self, key: str, goal: str, check: Callable[[], tuple[bool, str]]) -> None:
        policy = self.clients.poll
        deadline = time.monotonic() + policy.timeout_s
        while True:
            done, state = check()
            if done:
                return
            if time.monotonic() >= deadline:
                raise ProvisionError(f"{key}: not {goal} after {policy.timeout_s:g}s (last seen: {state}); "
                                     "re-run apply later: it resumes without duplicating the endpoint")
            time.sleep(policy.interval_s)


def tagged(item: Any) -> bool:
    """Whether a ListVpcEndpoints item carries the tool's ownership tag."""
    key, value = MARKER_TAG
    return any(t.key == key and t.value == value for t in item.tags or ())


def _same_service(spec: EndpointSpec, item: Any) -> bool:
    """Finance cloud has no ServiceId filter: compare it here (and the name on public cloud)."""
    if spec.service_id:
        return bool(item.service_id == spec.service_id)
    return not spec.service_name or item.service_name == spec.service_name


def _once() -> str:
    """A ClientToken for one zone / security-group / delete operation, reused by its retries."""
    return f"provision-{uuid.uuid4().hex}"

"""PrivateLink interface endpoints to DashScope (privatelink 2020-04-15); networks checked in ``vpc``.

Everything here is asynchronous: each change is followed by polling until the endpoint is Active and
Connected (zones Connected) or gone, bounded by ``Clients.poll``. An endpoint is managed when tagged
``managed-by=provision`` (and ``provision-manifest`` of this manifest, when it has that tag); it is
identified by (region, VPC, endpoint name), and its VPC cannot change.
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from alibabacloud_privatelink20200415 import models as pl

from provision.desired.kinds import Kind
from provision.desired.live import Live
from provision.desired.model import Desired, SpecProblem
from provision.desired.resources import EndpointSpec, Zone
from provision.errors import ProvisionError
from provision.plan.diff import Action, Change, InSync
from provision.providers.alibaba.base import Clients, ordered_like
from provision.providers.alibaba.calls import CallError
from provision.providers.alibaba.delete_run import run_delete
from provision.providers.alibaba.privatelink_delete import delete_steps, once_token
from provision.providers.alibaba.vpc import check_network, network_problems
from provision.providers.common.delete_steps import labels
from provision.providers.common.markers import marker_tags, owns, same_manifest, tags_owner
from provision.providers.common.outcomes import Outcome
from provision.providers.common.pagers import token_pager
from provision.state.intents import after_create
from provision.state.statefile import StateFile

_GONE_ZONE_STATES = frozenset({"Deleting", "Deleted"})
_MIN_ZONES = 2  # DashScope endpoints need vSwitches in at least 2 zones


@dataclass(frozen=True)
class _ZoneSteps:
    """Zone changes of one endpoint update, in the order they run."""

    added: tuple[Zone, ...] = ()
    moved: tuple[Zone, ...] = ()  # same zone, another vSwitch
    removed: tuple[Zone, ...] = ()


def client_token(spec: EndpointSpec) -> str:
    """A deterministic ClientToken for creating ``spec``: a retried or re-run create never duplicates it."""
    service = spec.service_id or spec.service_name
    digest = hashlib.sha256(f"{spec.region}/{spec.vpc_id}/{spec.endpoint}/{service}".encode()).hexdigest()
    return f"provision-{digest[:40]}"


class PrivateLinkProvider:
    """Reads and changes PrivateLink endpoints (zones and security groups included)."""

    kinds: tuple[Kind, ...] = (Kind.ENDPOINT,)

    def __init__(self, clients: Clients, state: StateFile | None = None, workers: int = 8,
                 manifest: str = "") -> None:
        self.clients = clients
        self.state = state
        self.workers = workers
        self.manifest = manifest  # the owner it judges by and writes into tags

    def client(self, region: str) -> Any:
        return self.clients.privatelink(region)

    def ours(self, item: Any) -> bool:
        """Whether a ListVpcEndpoints item is tagged as this manifest's (a nameless marker tag counts)."""
        owner = endpoint_owner(item)
        return owner is not None and owns(self.manifest, owner)

    # -- read -----------------------------------------------------------------------------------------
    def read(self, desired: Desired) -> list[Live]:
        """ListVpcEndpoints per declared region, every VPC (a managed endpoint keeps its name when the
        manifest moves it to another VPC); ListVpcEndpointZones and ListVpcEndpointSecurityGroups for
        managed or adopted ones. Endpoints tagged for another manifest are left out unless declared."""
        same_manifest(self.manifest, desired.manifest, "the PrivateLink provider")
        declared: dict[str, list[EndpointSpec]] = defaultdict(list)
        for s in (*desired.present, *desired.absent):
            if isinstance(s, EndpointSpec):
                declared[s.region].append(s)
        found: list[tuple[EndpointSpec | None, Any, str]] = []
        for region, specs in sorted(declared.items()):
            found += [(spec, item, region) for spec, item in self._match(specs, self._list(region))]
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            return list(pool.map(lambda f: self._live(f[0], f[1], f[2], desired.adopt), found))

    def _match(self, specs: list[EndpointSpec], items: list[Any]) -> list[tuple[EndpointSpec | None, Any]]:
        """The listed endpoints that are the declared ones (same name and service, in the declared VPC, else
        managed in another VPC), plus the undeclared managed ones."""
        by_name = {s.endpoint: s for s in specs}
        found: list[tuple[EndpointSpec | None, Any]] = []
        moved: dict[str, Any] = {}
        for item in items:
            spec = by_name.get(item.endpoint_name)
            if spec is None:
                if self.ours(item):
                    found.append((None, item))
            elif not _same_service(spec, item):
                continue  # same name, other service: not the declared endpoint (the key would collide)
            elif item.vpc_id == spec.vpc_id:
                found.append((spec, item))
            elif self.ours(item):
                moved.setdefault(spec.endpoint, item)
        in_place = {spec.endpoint for spec, _ in found if spec is not None}
        return found + [(by_name[name], item) for name, item in moved.items() if name not in in_place]

    def _list(self, region: str) -> list[Any]:
        def page(token: str | None) -> Any:
            return self.client(region).list_vpc_endpoints(pl.ListVpcEndpointsRequest(
                region_id=region, max_results=100, next_token=token))

        return self.clients.paginate(f"{Kind.ENDPOINT}/*", "ListVpcEndpoints",
                                     token_pager(page, lambda body: body.endpoints))

    def _live(self, spec: EndpointSpec | None, item: Any, region: str, adopt: frozenset[str]) -> Live:
        managed = self.ours(item)
        key = f"{Kind.ENDPOINT}/{item.endpoint_name}"
        zones: tuple[Zone, ...] | None = None
        groups: tuple[str, ...] | None = None
        if managed or key in adopt:
            zones = ordered_like(tuple(sorted(
                (Zone(z.zone_id, z.v_switch_id) for z in self.zones(key, region, item.endpoint_id)
                 if z.zone_status not in _GONE_ZONE_STATES), key=lambda z: z.zone_id)),
                spec.zones if spec else None)
            groups = ordered_like(tuple(sorted(self._groups(key, region, item.endpoint_id))),
                                  spec.security_group_ids if spec else None)
        live = EndpointSpec(
            endpoint=item.endpoint_name, region=region, vpc_id=item.vpc_id, zones=zones,
            security_group_ids=groups, service_name=item.service_name, service_id=item.service_id,
            endpoint_id=item.endpoint_id, domain=item.endpoint_domain, status=item.endpoint_status,
            connection_status=item.connection_status)
        steps = delete_steps(self, key, region, item.endpoint_id, [z.zone_id for z in zones or ()],
                             groups or ())
        return Live(live, managed=managed, cloud_id=item.endpoint_id,
                    cascade=labels(steps) if managed else ())

    def zones(self, key: str, region: str, endpoint_id: str) -> list[Any]:
        def page(token: str | None) -> Any:
            return self.client(region).list_vpc_endpoint_zones(pl.ListVpcEndpointZonesRequest(
                region_id=region, endpoint_id=endpoint_id, next_token=token))

        return self.clients.paginate(key, "ListVpcEndpointZones", token_pager(page, lambda body: body.zones))

    def _groups(self, key: str, region: str, endpoint_id: str) -> list[str]:
        def page(token: str | None) -> Any:
            request = pl.ListVpcEndpointSecurityGroupsRequest(region_id=region, endpoint_id=endpoint_id,
                                                              next_token=token)
            return self.client(region).list_vpc_endpoint_security_groups(request)

        items = self.clients.paginate(key, "ListVpcEndpointSecurityGroups",
                                      token_pager(page, lambda body: body.security_groups))
        return [g.security_group_id for g in items if g.security_group_status != "Detaching"]

    # -- execute --------------------------------------------------------------------------------------
    def execute(self, change: Change) -> str:
        """CreateVpcEndpoint (validated, deterministic ClientToken) / zone and security-group changes /
        remove zones then DeleteVpcEndpoint (gone = done); each followed by polling."""
        spec = change.spec_as(EndpointSpec)
        if change.action is Action.CREATE:
            return self._create(change.key, spec)
        endpoint_id = (change.live.cloud_id if change.live else "") or spec.endpoint_id or ""
        if change.action is Action.DELETE:
            return self._delete(change, spec.region, endpoint_id)
        return self._update(change, spec, endpoint_id)

    def _create(self, key: str, spec: EndpointSpec) -> str:
        check_network(self.clients, spec)
        request = pl.CreateVpcEndpointRequest(
            region_id=spec.region, vpc_id=spec.vpc_id, endpoint_name=spec.endpoint, endpoint_type="Interface",
            service_name=None if spec.service_id else spec.service_name, service_id=spec.service_id,
            security_group_id=list(spec.security_group_ids or ()) or None,
            zone=[pl.CreateVpcEndpointRequestZone(zone_id=z.zone_id, v_switch_id=z.vswitch_id)
                  for z in spec.zones or ()] or None,
            zone_private_ip_address_count=1, client_token=client_token(spec),
            tag=[pl.CreateVpcEndpointRequestTag(key=k, value=v) for k, v in marker_tags(self.manifest)])
        intent = None if self.state is None else \
            self.state.open_intent(Kind.ENDPOINT, spec.endpoint, owner=self.manifest)
        body = self.clients.call(key, "CreateVpcEndpoint",
                                 lambda: self.client(spec.region).create_vpc_endpoint(request)).body
        after_create(Kind.ENDPOINT)
        if self.state is not None and intent is not None:  # tagged at creation: nothing else to record
            self.state.close_intent(intent)
        self.wait_ready(key, spec.region, body.endpoint_id)
        return f"created {key} ({body.endpoint_id}, {body.endpoint_domain})"

    def validate(self, desired: Desired) -> list[SpecProblem]:
        """What the account says is wrong with the declared endpoints, before any change: the VPC and each
        vSwitch and security group (:func:`network_problems`), and a managed
        endpoint of the declared name in another VPC (ListVpcEndpoints per region): a VPC cannot change."""
        same_manifest(self.manifest, desired.manifest, "the PrivateLink provider")
        specs = [s for s in desired.present if isinstance(s, EndpointSpec)]
        problems: list[SpecProblem] = []
        for region in sorted({s.region for s in specs}):
            items = self._list(region)
            for spec in (s for s in specs if s.region == region):
                problems += network_problems(self.clients, spec)
                problems += [SpecProblem(spec.key, "vpc_id", spec.vpc_id,
                                         _moved_message(item.endpoint_id, item.vpc_id, spec))
                             for found, item in self._match([spec], items)
                             if found is spec and item.vpc_id != spec.vpc_id]
        return problems

    def _update(self, change: Change, spec: EndpointSpec, endpoint_id: str) -> str:
        """Every check first (same VPC, each new vSwitch, the 2-zone rule), then tag (adoption), zones (new
        ones added and Connected before old ones go) and security groups."""
        key, region = change.key, spec.region
        live = change.live_as(EndpointSpec)
        if live is not None and live.vpc_id != spec.vpc_id:
            raise ProvisionError(f"{key}: {_moved_message(endpoint_id, live.vpc_id, spec)}")
        zones = self._zone_steps(key, spec, live.zones or () if live else ())
        done: list[str] = []
        if change.live is not None and not change.live.managed:
            request = pl.TagResourcesRequest(region_id=region, resource_type="VpcEndpoint",
                                             resource_id=[endpoint_id],
                                             tag=[pl.TagResourcesRequestTag(key=k, value=v)
                                                  for k, v in marker_tags(self.manifest)])
            self.clients.call(key, "TagResources", lambda: self.client(region).tag_resources(request))
            done.append("adopted")
        done += self._change_zones(key, region, endpoint_id, zones)
        if spec.security_group_ids is not None:
            current_groups = set(live.security_group_ids or ()) if live else set()
            for sg in [g for g in spec.security_group_ids if g not in current_groups]:
                self._security_group(key, region, endpoint_id, sg, attach=True)
                done.append(f"attached {sg}")
            for sg in sorted(current_groups - set(spec.security_group_ids)):
                self._security_group(key, region, endpoint_id, sg, attach=False)
                done.append(f"detached {sg}")
        if done:
            self.wait_ready(key, region, endpoint_id)
        return f"updated {key}: {', '.join(done)}" if done else InSync(f"{key} already in sync")

    def _zone_steps(self, key: str, spec: EndpointSpec, live: tuple[Zone, ...]) -> _ZoneSteps:
        """The zones to add, move to another vSwitch and remove to reach ``spec.zones``, checked before any
        call: every new vSwitch against the VPC (DescribeVSwitches), and no step below 2 zones."""
        if spec.zones is None:
            return _ZoneSteps()
        current = {z.zone_id: z for z in live}
        wanted = {z.zone_id: z for z in spec.zones}
        steps = _ZoneSteps(added=tuple(z for zid, z in wanted.items() if zid not in current),
                           moved=tuple(z for zid, z in wanted.items() if current.get(zid, z) != z),
                           removed=tuple(z for zid, z in current.items() if zid not in wanted))
        if steps.added or steps.moved:
            check_network(self.clients, spec)
        peak = len(current) + len(steps.added)  # zones once the new ones are added
        for zone in steps.moved[:1]:  # one zone id holds one vSwitch: a move is a remove, then an add
            _keep_two(key, peak - 1, f"moving zone {zone.zone_id} to vSwitch {zone.vswitch_id}")
        for zone in steps.removed[:1]:
            _keep_two(key, len(wanted), f"removing zone {zone.zone_id}")
        return steps

    def _change_zones(self, key: str, region: str, endpoint_id: str, steps: _ZoneSteps) -> list[str]:
        """Add the new zones and wait until they are Connected, then move, then remove the old ones."""
        done: list[str] = []
        for zone in steps.added:
            self._add_zone(key, region, endpoint_id, zone)
            done.append(f"added zone {zone.zone_id}")
        if steps.added:
            self.wait_ready(key, region, endpoint_id)
        for zone in steps.moved:
            self.remove_zone(key, region, endpoint_id, zone.zone_id)
            self._add_zone(key, region, endpoint_id, zone)
            self.wait_ready(key, region, endpoint_id)
            done.append(f"moved zone {zone.zone_id} to {zone.vswitch_id}")
        for zone in steps.removed:
            self.remove_zone(key, region, endpoint_id, zone.zone_id)
            done.append(f"removed zone {zone.zone_id}")
        return done

    def _add_zone(self, key: str, region: str, endpoint_id: str, zone: Zone) -> None:
        self.wait_ready(key, region, endpoint_id, full=False)
        request = pl.AddZoneToVpcEndpointRequest(region_id=region, endpoint_id=endpoint_id,
                                                 zone_id=zone.zone_id, v_switch_id=zone.vswitch_id,
                                                 client_token=once_token())
        self.clients.call_or_none(key, "AddZoneToVpcEndpoint",
                                  lambda: self.client(region).add_zone_to_vpc_endpoint(request),
                                  tolerate=Outcome.EXISTS)

    def remove_zone(self, key: str, region: str, endpoint_id: str, zone_id: str) -> None:
        self.wait_ready(key, region, endpoint_id, full=False)
        request = pl.RemoveZoneFromVpcEndpointRequest(region_id=region, endpoint_id=endpoint_id,
                                                      zone_id=zone_id, client_token=once_token())
        self.clients.call_or_none(key, "RemoveZoneFromVpcEndpoint",
                                  lambda: self.client(region).remove_zone_from_vpc_endpoint(request))
        self.poll(key, f"zone {zone_id} removed", lambda: self._zone_gone(key, region, endpoint_id, zone_id))

    def _security_group(self, key: str, region: str, endpoint_id: str, sg: str, attach: bool) -> None:
        self.wait_ready(key, region, endpoint_id, full=False)
        client = self.client(region)
        if attach:
            attach_req = pl.AttachSecurityGroupToVpcEndpointRequest(
                region_id=region, endpoint_id=endpoint_id, security_group_id=sg, client_token=once_token())
            self.clients.call_or_none(key, "AttachSecurityGroupToVpcEndpoint",
                                      lambda: client.attach_security_group_to_vpc_endpoint(attach_req),
                                      tolerate=Outcome.EXISTS)
        else:
            detach_req = pl.DetachSecurityGroupFromVpcEndpointRequest(
                region_id=region, endpoint_id=endpoint_id, security_group_id=sg, client_token=once_token())
            self.clients.call_or_none(key, "DetachSecurityGroupFromVpcEndpoint",
                                      lambda: client.detach_security_group_from_vpc_endpoint(detach_req))

    def _delete(self, change: Change, region: str, endpoint_id: str) -> str:
        """The steps :func:`delete_steps` builds from a fresh read, which must be those the plan showed."""
        key = change.key
        if not endpoint_id or self.attribute(key, region, endpoint_id) is None:
            return InSync(f"{key} already absent")
        zones = sorted(z.zone_id for z in self.zones(key, region, endpoint_id)
                       if z.zone_status not in _GONE_ZONE_STATES)
        groups = sorted(self._groups(key, region, endpoint_id))
        steps = delete_steps(self, key, region, endpoint_id, zones, groups)
        return run_delete(key, steps, change.cascade) + f" ({endpoint_id})"

    # -- polling --------------------------------------------------------------------------------------
    def attribute(self, key: str, region: str, endpoint_id: str) -> Any | None:
        request = pl.GetVpcEndpointAttributeRequest(region_id=region, endpoint_id=endpoint_id)
        resp = self.clients.call_or_none(key, "GetVpcEndpointAttribute",
                                         lambda: self.client(region).get_vpc_endpoint_attribute(request))
        return resp.body if resp is not None else None

    def wait_ready(self, key: str, region: str, endpoint_id: str, full: bool = True) -> None:
        """Poll until the endpoint is Active and, when ``full``, Connected with every zone Connected."""
        def ready() -> tuple[bool, str]:
            body = self.attribute(key, region, endpoint_id)
            if body is None:
                raise CallError(key, "GetVpcEndpointAttribute", "EndpointNotFound", 404,
                                f"endpoint {endpoint_id} disappeared", "re-run plan")
            state = f"{body.endpoint_status}/{body.connection_status}"
            if body.endpoint_status != "Active" or (full and body.connection_status != "Connected"):
                return False, state
            if full:
                zones = self.zones(key, region, endpoint_id)
                waiting = [f"{z.zone_id}={z.zone_status}" for z in zones if z.zone_status != "Connected"]
                return not waiting, ", ".join(waiting)
            return True, state

        self.poll(key, "Active and Connected" if full else "Active", ready)

    def _zone_gone(self, key: str, region: str, endpoint_id: str, zone_id: str) -> tuple[bool, str]:
        zones = {z.zone_id: z.zone_status for z in self.zones(key, region, endpoint_id)}
        return zone_id not in zones, zones.get(zone_id, "")

    def poll(self, key: str, goal: str, check: Callable[[], tuple[bool, str]]) -> None:
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


def _keep_two(key: str, remaining: int, step: str) -> None:
    """Refuse a zone step that would leave the endpoint with fewer than 2 zones (the 2-zone rule)."""
    if remaining < _MIN_ZONES:
        raise ProvisionError(f"{key}: {step} would leave {remaining} zone(s), fewer than {_MIN_ZONES}: add "
                             "another zone first (apply), then make this change")


def _moved_message(endpoint_id: str, live_vpc: str, spec: EndpointSpec) -> str:
    return (f"managed endpoint {endpoint_id} is in VPC {live_vpc}, the manifest now declares {spec.vpc_id}; "
            "a VPC cannot change: declare the old one state: absent (with --allow-destroy) and the new one "
            "under a new name")


def endpoint_owner(item: Any) -> str | None:
    """The manifest a ListVpcEndpoints item's tags name as owner (None: untagged; "": any manifest)."""
    return tags_owner((t.key, t.value) for t in item.tags or ())


def tagged(item: Any) -> bool:
    """Whether a ListVpcEndpoints item carries the tool's ownership tag (for any manifest)."""
    return endpoint_owner(item) is not None


def _same_service(spec: EndpointSpec, item: Any) -> bool:
    """Finance cloud has no ServiceId filter: compare it here (and the name on public cloud)."""
    if spec.service_id:
        return bool(item.service_id == spec.service_id)
    return not spec.service_name or item.service_name == spec.service_name

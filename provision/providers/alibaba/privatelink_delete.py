"""The delete of a PrivateLink endpoint, described once: the plan shows these steps, apply runs them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING

from alibabacloud_privatelink20200415 import models as pl

from provision.providers.common.delete_steps import ALREADY_GONE, DONE, DeleteStep, Step

if TYPE_CHECKING:
    from provision.providers.alibaba.privatelink import PrivateLinkProvider


def delete_steps(provider: PrivateLinkProvider, key: str, region: str, endpoint_id: str, zones: Sequence[str],
                 groups: Sequence[str]) -> list[DeleteStep]:
    """Each zone removed (the API refuses a delete otherwise), then DeleteVpcEndpoint, which releases the
    security groups (named in its label: the last one cannot be detached); each polled until done."""
    p = provider

    def remove(zone_id: str) -> Step:
        p.remove_zone(key, region, endpoint_id, zone_id)
        return Step(f"remove zone {zone_id}", DONE)

    def delete(label: str) -> Step:
        p.poll(key, "without zones", lambda: (not p.zones(key, region, endpoint_id), "zones left"))
        p.wait_ready(key, region, endpoint_id, full=False)
        request = pl.DeleteVpcEndpointRequest(region_id=region, endpoint_id=endpoint_id,
                                              client_token=once_token())
        gone = p.clients.call_or_none(key, "DeleteVpcEndpoint",
                                      lambda: p.client(region).delete_vpc_endpoint(request)) is None
        p.poll(key, "deleted", lambda: (p.attribute(key, region, endpoint_id) is None, "Deleting"))
        return Step(label, ALREADY_GONE if gone else DONE)

    released = f" (releases security groups {', '.join(groups)})" if groups else ""
    label = f"delete endpoint {endpoint_id}{released}"
    return [*(DeleteStep(f"remove zone {z}", partial(remove, z)) for z in zones),
            DeleteStep(label, partial(delete, label))]


def once_token() -> str:
    """A ClientToken for one zone / security-group / delete operation, reused by its retries."""
    return f"provision-{uuid.uuid4().hex}"

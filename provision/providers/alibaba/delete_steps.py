"""An Alibaba Cloud removal call run as a delete step (the steps themselves: ``providers/common``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from provision.providers.alibaba.base import Clients
from provision.providers.alibaba.calls import CallError
from provision.providers.common.delete_steps import ALREADY_GONE, DONE, Step


def run_step(clients: Clients, key: str, what: str, action: str, fn: Callable[[], Any]) -> Step:
    """Run one removal call as a Step: done, already gone (the cloud says it does not exist), or failed."""
    try:
        found = clients.call_or_none(key, action, fn) is not None
    except CallError as err:
        return Step.failed(what, err)
    return Step(what, DONE if found else ALREADY_GONE)

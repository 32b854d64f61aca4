"""Alibaba Cloud's own Context type: what its verify, revoke and audit entry points take (the provider
registry calls them only with a context its Alibaba Cloud entry built), so mypy checks their use of the
target and the clients."""

from __future__ import annotations

from provision.engine.flow import Context
from provision.providers.alibaba import Clients, CloudTarget

AlibabaContext = Context[CloudTarget, Clients]

"""Every emulated service, in one explicit table the server dispatches through."""

from __future__ import annotations

from provision.emulator.alibaba import (
    bailian,
    dashscope,
    dashscope_apps,
    ecs,
    modelstudio,
    privatelink,
    ram,
    sts,
    vpc,
)
from provision.emulator.wire import Service

SERVICES: tuple[Service, ...] = (
    ram.SERVICE,
    sts.SERVICE,
    modelstudio.SERVICE,
    bailian.SERVICE,
    privatelink.SERVICE,
    vpc.SERVICE,
    ecs.SERVICE,
    dashscope.SERVICE,
    dashscope_apps.SERVICE,
)

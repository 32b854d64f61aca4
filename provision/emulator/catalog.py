"""Every service the one emulator process serves: Alibaba Cloud's and Huawei Cloud's."""

from __future__ import annotations

from provision.emulator import alibaba, huawei
from provision.emulator.wire import Service

SERVICES: tuple[Service, ...] = (*alibaba.SERVICES, huawei.SERVICE)

"""Every kind's spec class, of both clouds: a saved plan names each spec by its kind."""

from __future__ import annotations

from provision.desired.huawei import HUAWEI_SPECS
from provision.desired.kinds import Kind, Spec
from provision.desired.resources import ALIBABA_SPECS

SPEC_TYPES: dict[Kind, type[Spec]] = {cls.kind: cls for cls in (*ALIBABA_SPECS, *HUAWEI_SPECS)}

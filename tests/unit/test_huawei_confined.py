"""Which endpoints a guardrail confines Pangu calls to: only a Deny of pangu actions unless g:SourceVpce is
the endpoint makes verify expect the direct calls refused."""

from __future__ import annotations

import json

import pytest

from provision.checks.huawei.verify_manifest import confining_endpoints
from provision.desired.huawei import ScpSpec
from provision.desired.model import Desired


def _desired(statement: dict[str, object], attached: bool | None = True) -> Desired:
    document = json.dumps({"Version": "5.0", "Statement": [statement]}, sort_keys=True)
    return Desired(present=(ScpSpec(policy="g", document=document, attached=attached, endpoints=("ep",)),))


CONFINING = {"Effect": "Deny", "Action": ["pangu:*"],
             "Condition": {"StringNotEquals": {"g:SourceVpce": ["${endpoint:ep}"]}}}


def test_a_deny_of_pangu_outside_the_endpoint_confines_it() -> None:
    assert confining_endpoints(_desired(CONFINING)) == {"ep"}


@pytest.mark.parametrize("statement, attached", [
    ({**CONFINING, "Effect": "Allow"}, True),
    ({**CONFINING, "Action": ["modelarts:workspace:delete"]}, True),
    ({**CONFINING, "Condition": {"StringEquals": {"g:SourceVpce": ["${endpoint:ep}"]}}}, True),
    ({**CONFINING, "Condition": {"StringNotEquals": {"g:SourceVpce": ["vpce-other"]}}}, True),
    (CONFINING, False),
])
def test_other_guardrails_confine_nothing(statement: dict[str, object], attached: bool) -> None:
    assert confining_endpoints(_desired(statement, attached)) == set()

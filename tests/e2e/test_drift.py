"""Changes made outside the tool to what it manages show as drift, children included: a policy attached by
hand, a second AccessKey made by hand, a declared attachment detached by hand. Apply puts them back."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_ram20150501.client import Client as RamClient

if TYPE_CHECKING:
    from tests.e2e.conftest import Cli

pytestmark = pytest.mark.e2e


def test_children_changed_outside_the_tool_are_drift_and_apply_puts_them_back(cli: Cli) -> None:
    manifest = cli.manifests / "example.yaml"
    assert cli("apply", "-m", manifest, "--auto-approve").exit_code == 0
    ram = RamClient(cli.cloud.sdk_config())
    ram.attach_policy_to_user(ram_models.AttachPolicyToUserRequest(
        policy_type="System", policy_name="AdministratorAccess", user_name="acme-delivery"))
    extra = ram.create_access_key(ram_models.CreateAccessKeyRequest(user_name="acme-delivery")).body
    extra_id = extra.access_key.access_key_id
    ram.detach_policy_from_user(ram_models.DetachPolicyFromUserRequest(
        policy_type="System", policy_name="AliyunBailianDataReadOnlyAccess", user_name="acme-lead"))

    plan = cli("plan", "-m", manifest, "--json").json()

    drifted = {c["key"]: (c["action"], c["reason"]) for c in plan["changes"] if c["drift"]}
    assert drifted == {
        "ram.attachment/acme-delivery/System:AdministratorAccess": (
            "delete", "drift: added outside provision"),
        "ram.attachment/acme-lead/System:AliyunBailianDataReadOnlyAccess": (
            "create", "drift: deleted outside provision"),
        "ram.access_keys/acme-delivery": ("update", "drift: count"),
    }
    assert plan["summary"]["drift"] == 3
    assert not [w for w in plan["warnings"] if extra_id in w]  # deleted, not to be rotated
    assert cli("apply", "-m", manifest, "--auto-approve").exit_code == 0
    assert cli("plan", "-m", manifest, "--detailed-exitcode").exit_code == 0
    keys = ram.list_access_keys(ram_models.ListAccessKeysRequest(user_name="acme-delivery")).body
    remaining = [k.access_key_id for k in keys.access_keys.access_key]
    assert len(remaining) == 1 and extra_id not in remaining  # the key whose secret nobody holds went

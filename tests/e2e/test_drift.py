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


def test_a_one_click_grant_made_in_the_console_is_closed_and_the_declared_models_granted_again(
        cli: Cli) -> None:
    """CLOSE revokes every model of the workspace: the plan lists the declared models granted again, as
    changes of their own that apply runs after the CLOSE (the provider remembers nothing between read and
    apply, issue 8)."""
    from alibabacloud_modelstudio20260210 import models as ms
    from alibabacloud_modelstudio20260210.client import Client as ModelStudioClient

    manifest = cli.manifests / "example.yaml"
    assert cli("apply", "-m", manifest, "--auto-approve").exit_code == 0
    studio = ModelStudioClient(cli.cloud.sdk_config())
    listed = studio.list_workspaces(ms.ListWorkspacesRequest()).body.workspaces
    [workspace] = [w.workspace_id for w in listed if w.workspace_name == "agent-delivery"]
    studio.update_model_permissions(ms.UpdateModelPermissionsRequest(workspace_id=workspace,
                                                                      access_all_entities="OPEN"))

    plan = cli("plan", "-m", manifest, "--json").json()

    grants = {c["key"]: (c["action"], c["reason"]) for c in plan["changes"]
              if c["kind"] == "modelstudio.grant" and c["action"] != "noop"}
    again = "granted again: deleting modelstudio.grant/agent-delivery/* revokes it"
    assert grants == {
        "modelstudio.grant/agent-delivery/*": ("delete", "drift: added outside provision"),
        "modelstudio.grant/agent-delivery/qwen-plus": ("create", again),
        "modelstudio.grant/agent-delivery/qwen-turbo": ("create", again),
        "modelstudio.grant/agent-delivery/deepseek-v3": ("create", again),
    }
    assert again in cli("plan", "-m", manifest).stdout
    assert cli("apply", "-m", manifest, "--auto-approve").exit_code == 0
    # the one-click grant is closed and the three models granted (had a grant run before the CLOSE, the
    # CLOSE would have revoked it and this plan would create it)
    assert cli("plan", "-m", manifest, "--detailed-exitcode").exit_code == 0


def test_a_plan_leaves_the_sink_as_it_is_and_apply_forgets_a_key_deleted_outside(cli: Cli) -> None:
    """The sink's secret of a key deleted outside the tool is forgotten by apply, as a listed change; a
    plan changes nothing, the secrets sink included (issue 8: the plan shows what apply does)."""
    from provision.state.secrets import SecretSink

    manifest = cli.manifests / "example.yaml"
    assert cli("apply", "-m", manifest, "--auto-approve").exit_code == 0
    sink = SecretSink(cli.secrets_dir)
    [gone] = sink.access_keys("acme-delivery")
    RamClient(cli.cloud.sdk_config()).delete_access_key(ram_models.DeleteAccessKeyRequest(
        user_name="acme-delivery", user_access_key_id=gone))
    files = {p: p.read_bytes() for p in sorted(cli.secrets_dir.rglob("*")) if p.is_file()}

    plan = cli("plan", "-m", manifest, "--json").json()

    assert {p: p.read_bytes() for p in sorted(cli.secrets_dir.rglob("*")) if p.is_file()} == files
    [keys] = [c for c in plan["changes"] if c["key"] == "ram.access_keys/acme-delivery"]
    assert keys["action"] == "update"
    assert f"the secrets sink forgets {gone}: deleted outside provision" in keys["reason"]
    assert cli("apply", "-m", manifest, "--auto-approve").exit_code == 0
    assert gone not in sink.access_keys("acme-delivery") and len(sink.access_keys("acme-delivery")) == 1
    assert cli("plan", "-m", manifest, "--detailed-exitcode").exit_code == 0

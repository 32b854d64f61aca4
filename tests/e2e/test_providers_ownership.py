"""Who holds an API key, and which manifest owns what, are read from the cloud's markers.

A changed ``issued_to`` plans an update that rewrites the key's marker and moves its value to the new
holder's secrets file; manifests sharing one account (one per customer) neither warn about nor touch each
other's users, policies, keys and endpoints. The official SDKs against the emulator, driven through the CLI.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from alibabacloud_modelstudio20260210.client import Client as ModelStudioClient
from alibabacloud_modelstudio20260210.models import ListApiKeysRequest

from provision.state.secrets import SecretSink

if TYPE_CHECKING:
    from tests.e2e.conftest import Cli, Result

pytestmark = pytest.mark.e2e

KEY = "modelstudio.api_key/ws-{customer}/main"

CUSTOMER = """version: 1
name: {customer}-delivery
cloud: {{site: public, region: cn-beijing}}
policies:
  - name: {customer}-reader
    document:
      Version: "1"
      Statement: [{{Effect: Allow, Action: ["sfm:Get*"], Resource: "*"}}]
users:
  - name: {customer}-delivery
    access_keys: 1
    policies: {{custom: [{customer}-reader]}}
    expires_at: 2099-01-01T00:00:00Z
  - name: {customer}-lead
    expires_at: 2099-01-01T00:00:00Z
workspaces:
  - name: ws-{customer}
    models: [qwen-plus]
    api_keys:
      - {{name: main, issued_to: {holder}}}
endpoints:
  - name: dashscope-{customer}
    vpc_id: vpc-2zedemo0000000001
    zones:
      - {{zone_id: cn-beijing-a, vswitch_id: vsw-2zedemo00000000a1}}
      - {{zone_id: cn-beijing-h, vswitch_id: vsw-2zedemo00000000h1}}
    security_group_ids: [sg-2zedemo0000000001]
    service_name: com.aliyuncs.dashscope
"""


def customer(cli: Cli, name: str, holder: str = "delivery") -> Path:
    return cli.manifest(f"{name}.yaml", CUSTOMER.format(customer=name, holder=f"{name}-{holder}"))


def output(result: Result) -> str:
    return result.stdout + result.stderr


def applied(cli: Cli, manifest: Path, *options: str) -> Result:
    result = cli("apply", "-m", manifest, "--auto-approve", *options)
    assert result.exit_code == 0, output(result)
    return result



def test_a_new_holder_plans_an_update_that_moves_the_key_to_their_file(cli: Cli) -> None:
    applied(cli, customer(cli, "wayne"))
    sink = SecretSink(cli.secrets_dir)
    held = sink.api_key("wayne-delivery", "ws-wayne", "main")
    assert held is not None
    to_lead = customer(cli, "wayne", holder="lead")

    plan = cli("plan", "-m", to_lead, "--json").json()
    moved = applied(cli, to_lead)

    [change] = [c for c in plan["changes"] if c["action"] != "no-op"]
    assert change["key"] == KEY.format(customer="wayne") and change["action"] == "update"
    assert change["fields"] == [{"field": "issued_to", "before": "wayne-delivery", "after": "wayne-lead"}]
    assert "value moved to its secrets file" in output(moved)
    assert sink.api_key("wayne-lead", "ws-wayne", "main") == held
    assert sink.api_key("wayne-delivery", "ws-wayne", "main") is None
    studio = ModelStudioClient(cli.cloud.sdk_config())
    [key] = studio.list_api_keys(ListApiKeysRequest(workspace_id=cli.workspace_id("ws-wayne"))).body.api_keys
    assert key.description == ("provision:ws-wayne/main to=wayne-lead manifest=wayne-delivery "
                               "managed-by=provision")
    again = cli("plan", "-m", to_lead, "--detailed-exitcode")
    assert again.exit_code == 0 and "secrets sink" not in again.stdout, output(again)


def own_state(cli: Cli, name: str) -> tuple[str, ...]:
    """A state dir per manifest (workspaces are owned through the state file: they carry no marker)."""
    return ("--state-dir", str(cli.home / f"state-{name}"), "--secrets-dir", str(cli.secrets_dir))


def test_customers_sharing_an_account_neither_warn_about_nor_touch_each_other(cli: Cli) -> None:
    applied(cli, customer(cli, "acme"), *own_state(cli, "acme"))
    applied(cli, customer(cli, "globex"), *own_state(cli, "globex"))

    plans = {name: cli("plan", "-m", customer(cli, name), "--json", *own_state(cli, name)).json()
             for name in ("acme", "globex")}

    for name, plan in plans.items():
        assert plan["warnings"] == [], name
        keys = {c["key"] for c in plan["changes"]}
        other = "globex" if name == "acme" else "acme"
        assert not [k for k in keys if other in k], name
        assert all(c["action"] == "no-op" for c in plan["changes"]), name

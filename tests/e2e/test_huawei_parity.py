"""Huawei runs the Alibaba Cloud rules where both clouds have the same thing: managed users the manifest no
longer names are reported and never deleted; Studio roles are console steps with the same checklist,
``membership confirm`` and probe; a guardrail confines Pangu calls to the declared VPC endpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from huaweicloudsdkiam.v5 import (
    CreateUserReqBody,
    CreateUserV5Request,
    ListUsersV5Request,
    Tag,
    TagResourceV5Request,
    Tags,
)

from provision.emulator.huawei.testing import HuaweiClients

if TYPE_CHECKING:
    from pathlib import Path

    from tests.e2e.conftest import Cli

pytestmark = pytest.mark.e2e

HEAD = "version: 1\nname: hw\ncloud: {provider: huaweicloud, region: cn-southwest-2}\n"
UNDECLARED = "iam.user/carol"
NOT_DECLARED = "managed by provision but not declared: not touched"


def _user(name: str) -> str:
    return f"  - name: {name}\n    access_keys: 1\n    policies: {{system: [PanguInvokePolicy]}}\n"


def _plan(cli: Cli, path: Path) -> tuple[dict[str, dict[str, object]], list[str]]:
    result = cli("plan", "-m", path, "--json")
    assert result.exit_code == 0, result.stdout + result.stderr
    document = result.json()
    return {c["key"]: c for c in document["changes"]}, document["warnings"]


def _users(hw: HuaweiClients) -> set[str]:
    return {str(u.user_name) for u in hw.iam().list_users_v5(ListUsersV5Request()).users}


def test_a_managed_user_the_manifest_no_longer_names_is_reported_and_never_deleted(cli: Cli) -> None:
    both = cli.manifest("both.yaml", HEAD + "users:\n" + _user("bob") + _user("carol"))
    assert cli("apply", "-m", both, "--auto-approve").exit_code == 0
    hw = HuaweiClients.root(cli.cloud)
    # a user tagged for another manifest, and an untagged one: neither is this manifest's business
    other = [("managed-by", "provision"), ("provision-manifest", "other")]
    for name, tags in (("dave", other), ("erin", [])):
        made = hw.iam().create_user_v5(CreateUserV5Request(body=CreateUserReqBody(name=name, enabled=True)))
        if tags:
            hw.iam().tag_resource_v5(TagResourceV5Request(
                resource_type="user", resource_id=made.user.user_id,
                body=Tags(tags=[Tag(tag_key=k, tag_value=v) for k, v in tags])))

    only_bob = cli.manifest("bob.yaml", HEAD + "users:\n" + _user("bob"))
    changes, warnings = _plan(cli, only_bob)
    carol = changes[UNDECLARED]
    assert (carol["action"], carol["reason"]) == ("no-op", NOT_DECLARED)
    assert warnings == [f"{UNDECLARED} is {NOT_DECLARED}"]
    assert "iam.user/dave" not in changes and "iam.user/erin" not in changes
    text = cli("plan", "-m", only_bob)
    assert f"{UNDECLARED} is {NOT_DECLARED}" in text.stdout

    for args in ((), ("--allow-destroy",)):  # not even with --allow-destroy: only `state: absent` deletes
        applied = cli("apply", "-m", only_bob, "--auto-approve", *args)
        assert applied.exit_code == 0, applied.stdout + applied.stderr
    assert {"bob", "carol", "dave", "erin"} <= _users(hw)

    absent = "  - name: carol\n    state: absent\n"
    gone = cli.manifest("gone.yaml", HEAD + "users:\n" + _user("bob") + absent)
    assert _plan(cli, gone)[0][UNDECLARED]["action"] == "refused"
    assert cli("apply", "-m", gone, "--auto-approve", "--allow-destroy").exit_code == 0
    assert "carol" not in _users(hw)

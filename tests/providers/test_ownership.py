"""Several manifests in one account: each marks what it creates with its name, and another manifest's
resources are not its own (not read unless declared, then unmanaged). Markers without a name, written
before names were recorded, belong to any manifest."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from alibabacloud_modelstudio20260210 import models as ms
from alibabacloud_privatelink20200415 import models as pl
from alibabacloud_ram20150501 import models as ram

from provision.desired.kinds import Kind
from provision.desired.model import Desired
from provision.desired.resources import ApiKeySpec, EndpointSpec, PolicySpec, UserSpec, WorkspaceSpec, Zone
from provision.errors import ProvisionError
from provision.providers.alibaba import Clients, build_providers
from provision.providers.alibaba.ram import with_marker
from provision.providers.common.markers import comments_owner, tags_owner
from provision.state.secrets import SecretSink
from provision.state.statefile import StateFile

from .conftest import Run

DOC = '{"Statement":[{"Action":"sfm:Get*","Effect":"Allow","Resource":"*"}],"Version":"1"}'
USER = UserSpec(user="alice", display_name="Alice")
POLICY = PolicySpec(policy="delivery-read", document=DOC)
ENDPOINT = EndpointSpec(endpoint="dashscope-bj", region="cn-beijing", vpc_id="vpc-2zedemo0000000001",
                        zones=(Zone("cn-beijing-a", "vsw-2zedemo00000000a1"),
                               Zone("cn-beijing-h", "vsw-2zedemo00000000h1")),
                        security_group_ids=("sg-2zedemo0000000001",), service_name="com.aliyuncs.dashscope")
WS = WorkspaceSpec(workspace="ws-shared")
KEY = ApiKeySpec(workspace="ws-shared", key_name="main", issued_to="alice")


def _comments(clients: Clients, user: str) -> str:
    return str(clients.ram().get_user(ram.GetUserRequest(user_name=user)).body.user.comments)


def _policy_tags(clients: Clients, policy: str) -> list[tuple[str, str]]:
    body = clients.ram().list_tag_resources(ram.ListTagResourcesRequest(resource_type="policy",
                                                                        resource_names=[policy])).body
    return [(t.tag_key, t.tag_value) for t in body.tag_resources]


def _endpoint_tags(clients: Clients) -> list[tuple[str, str]]:
    [item] = clients.privatelink("cn-beijing").list_vpc_endpoints(
        pl.ListVpcEndpointsRequest(region_id="cn-beijing")).body.endpoints
    return [(t.key, t.value) for t in item.tags]


def _keys(clients: Clients, state: StateFile) -> list[Any]:
    request = ms.ListApiKeysRequest(workspace_id=state.workspace_id("ws-shared"))
    return list(clients.modelstudio().list_api_keys(request).body.api_keys or [])


def test_a_user_created_for_one_manifest_is_not_anothers(run: Run, clients: Clients) -> None:
    run.read(Kind.USER, manifest="acme")  # with the providers built for acme: they mark as acme
    run.create(USER)
    assert _comments(clients, "alice") == "managed-by=provision manifest=acme"
    assert run.read(Kind.USER, manifest="acme")[USER.key].managed
    assert USER.key not in run.read(Kind.USER, manifest="globex")  # no "managed but not declared"
    assert not run.read(Kind.USER, USER, manifest="globex")[USER.key].managed  # a look-alike if declared


def test_a_nameless_marker_belongs_to_every_manifest(run: Run, clients: Clients) -> None:
    clients.ram().create_user(ram.CreateUserRequest(user_name="alice", comments="managed-by=provision"))
    assert run.read(Kind.USER, manifest="acme")[USER.key].managed
    assert run.read(Kind.USER, manifest="globex")[USER.key].managed


def test_adoption_writes_this_manifests_name_over_any_earlier_marker() -> None:
    assert with_marker("note managed-by=provision manifest=acme", "globex") == \
        "note managed-by=provision manifest=globex"
    assert with_marker("note", "globex") == "note managed-by=provision manifest=globex"
    assert comments_owner(with_marker("x", "")) == "" and comments_owner("x") is None


def test_a_policy_is_tagged_with_its_manifest(run: Run, clients: Clients) -> None:
    run.read(Kind.POLICY, manifest="acme")
    run.create(POLICY)
    assert tags_owner(_policy_tags(clients, POLICY.policy)) == "acme"
    assert run.read(Kind.POLICY, manifest="acme")[POLICY.key].managed
    assert POLICY.key not in run.read(Kind.POLICY, manifest="globex")
    assert not run.read(Kind.POLICY, POLICY, manifest="globex")[POLICY.key].managed


def test_an_endpoint_is_tagged_with_its_manifest(run: Run, clients: Clients) -> None:
    elsewhere = replace(ENDPOINT, endpoint="another-bj")  # endpoints are read in the declared regions
    run.read(Kind.ENDPOINT, manifest="acme")
    run.create(ENDPOINT)
    assert sorted(_endpoint_tags(clients)) == [("managed-by", "provision"), ("provision-manifest", "acme")]
    assert run.read(Kind.ENDPOINT, elsewhere, manifest="acme")[ENDPOINT.key].managed
    assert run.read(Kind.ENDPOINT, elsewhere, manifest="globex") == {}
    assert not run.read(Kind.ENDPOINT, ENDPOINT, manifest="globex")[ENDPOINT.key].managed


def test_api_keys_of_another_manifest_are_invisible_so_each_manifest_keeps_its_own(
        run: Run, clients: Clients, state: StateFile, sink: SecretSink) -> None:
    run.create(WS)
    workspace = run.read(Kind.WORKSPACE, WS)[WS.key]
    run.read(Kind.API_KEY, manifest="acme")
    run.create(KEY)
    assert run.read(Kind.API_KEY, WS, manifest="globex") == {WS.key: workspace}
    run.create(KEY)  # globex's own key of that name: a second key, acme's is not taken over
    descriptions = sorted(str(k.description) for k in _keys(clients, state))
    assert descriptions == ["provision:ws-shared/main to=alice manifest=acme managed-by=provision",
                            "provision:ws-shared/main to=alice manifest=globex managed-by=provision"]
    lives = run.read(Kind.API_KEY, WS, KEY, manifest="globex")
    held = sink.api_key("alice", "ws-shared", "main")
    assert held is not None and lives[KEY.key].cloud_id == held[0]


def test_a_provider_serves_the_manifest_it_was_built_for_only(clients: Clients, sink: SecretSink,
                                                                state: StateFile) -> None:
    """The owner a provider judges by and writes into markers is its constructor's, never remembered from
    the last read: a read for another manifest is refused, for every Alibaba Cloud provider."""
    providers = build_providers(clients, sink, state, "acme")
    for kind in (Kind.USER, Kind.POLICY, Kind.WORKSPACE, Kind.ENDPOINT):
        assert providers[kind].read(Desired(manifest="acme")) is not None
        with pytest.raises(ProvisionError, match="built for manifest 'acme', not 'globex'"):
            providers[kind].read(Desired(manifest="globex"))

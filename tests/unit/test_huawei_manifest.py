"""The manifest's cloud.provider: Huawei fields and limits at file:line, the other cloud's fields refused,
one schema for both, and the desired Huawei resources (kinds, parents, expiry, guardrail references)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from provision.clock import parse_time
from provision.desired.build import desired_from_manifest
from provision.desired.huawei import ScpSpec, scp_content, scp_document
from provision.errors import ManifestError
from provision.manifest import load_manifest, manifest_json_schema

ROOT = Path(__file__).resolve().parents[2]
HEAD = "version: 1\nname: hw\ncloud: {provider: huaweicloud, region: cn-southwest-2}\n"
USER = "users:\n  - name: alice\n    access_keys: 1\n"


def load(tmp_path: Path, text: str) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(text)
    load_manifest(path)


@pytest.mark.parametrize(("body", "line", "field", "text"), [
    ("workspaces:\n  - name: default\n", 5, "workspaces[0].name", "reserved"),
    ("workspaces:\n  - name: ab\n", 5, "workspaces[0].name", "4-64"),
    (USER + "    super_admin: {reason: because I say so}\n", 7, "users[0].super_admin",
     "Alibaba Cloud field"),
    ("workspaces:\n  - name: agent-delivery\n    models: [qwen-plus]\n", 6, "workspaces[0].models",
     "Alibaba Cloud field"),
    ("policies:\n  - name: p\n    document: {Version: '1', Statement: [{Effect: Allow, Action: ['a:b']}]}\n",
     6, "policies[0].document.Version", '"5.0"'),
    ("endpoints:\n  - {name: ep, vpc_id: vpc-2zeabc, subnet_id: 3f1e0c2a-0000-4000-8000-00000000b001, "
     "service_id: 8c5b8f4a-0b1e-4c7a-9d2e-000000000001}\n", 5, "endpoints[0].vpc_id", "UUID"),
    ("users:\n  - name: alice\n    access_keys: 3\n", 6, "users[0].access_keys", "at most 2"),
])
def test_huawei_rules_fail_at_the_line(tmp_path: Path, body: str, line: int, field: str, text: str) -> None:
    with pytest.raises(ManifestError) as caught:
        load(tmp_path, HEAD + body)
    assert (caught.value.line, caught.value.field) == (line, field), str(caught.value)
    assert text in caught.value.message


def test_thirty_one_api_keys_exceed_the_maas_limit(tmp_path: Path) -> None:
    keys = "".join(f"      - {{name: k{i}}}\n" for i in range(31))
    with pytest.raises(ManifestError) as caught:
        load(tmp_path, HEAD + "workspaces:\n  - name: agent-delivery\n    api_keys:\n" + keys)
    assert caught.value.field == "workspaces[0].api_keys[30]" and "30 per account" in caught.value.message


def test_huawei_fields_are_refused_on_alibaba_cloud(tmp_path: Path) -> None:
    head = "version: 1\nname: ali\ncloud: {site: public, region: cn-beijing}\n"
    with pytest.raises(ManifestError) as caught:
        load(tmp_path, head + "users:\n  - name: alice\n    groups: [readers]\n")
    assert (caught.value.line, caught.value.field) == (6, "users[0].groups")
    message = caught.value.message
    assert "Huawei Cloud field" in message and "cloud.provider: huaweicloud" in message


def test_the_schema_covers_both_clouds() -> None:
    schema = manifest_json_schema()
    text = str(schema)
    assert "huaweicloud" in text and "alibabacloud" in text
    assert "guardrails" in schema["properties"] and "ip_whitelist" in text


def test_the_example_manifest_becomes_huawei_kinds_and_expiry_strips_them() -> None:
    manifest = load_manifest(ROOT / "manifests" / "huawei.yaml")
    now = parse_time("2026-12-01T00:00:00Z", "now")
    keys = {s.key for s in desired_from_manifest(manifest, now).present}
    assert "modelarts.grant/agent-delivery/acme-delivery" in keys
    assert "maas.api_key/agent-delivery/main" in keys and "iam.login_profile/acme-delivery" in keys
    later = desired_from_manifest(manifest, parse_time("2027-06-01T00:00:00Z", "now"))
    stripped = {s.key for s in later.present if "acme-delivery" in s.key}
    assert stripped == {"iam.user/acme-delivery", "iam.access_keys/acme-delivery"}
    assert later.expired == {"acme-delivery"}


def test_guardrail_endpoint_references_resolve_both_ways() -> None:
    doc = '{"Statement":[{"Condition":{"StringNotEquals":{"g:SourceVpce":["${endpoint:maas}"]}}}]}'
    spec = ScpSpec(policy="g", document=doc, endpoints=("maas",))
    assert spec.parents() == ("vpcep.endpoint/maas",)
    sent = scp_content(doc, {"maas": "ep-1"})
    assert "ep-1" in sent and "${endpoint" not in sent
    assert scp_document(sent, {"maas": "ep-1"}) == doc


@pytest.mark.parametrize(("provider", "other"), [("provision.providers.alibaba.cloud", "huaweicloudsdk")])
def test_an_alibaba_run_never_imports_the_huawei_sdks(provider: str, other: str) -> None:
    code = (f"import sys, importlib; from provision.engine import flow; "
            f"importlib.import_module({provider!r}); "
            f"from provision.checks import verify, revoke; from provision.audit import collect; "
            f"print(sorted({{m.split('.')[0] for m in sys.modules if m.startswith({other!r})}}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"

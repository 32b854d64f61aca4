"""Loading manifests: rendering, variables, line marks, validation and the JSON Schema."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provision.errors import ManifestError
from provision.manifest import Manifest, lint, load_manifest, manifest_json_schema
from provision.manifest.load import _parse
from provision.manifest.render import render

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests"
HEAD = "version: 1\nname: test\ncloud: {site: public, region: cn-beijing}\n"


def write(tmp_path: Path, text: str, name: str = "manifest.yaml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def error_of(path: Path, **kwargs: Any) -> ManifestError:
    with pytest.raises(ManifestError) as caught:
        load_manifest(path, **kwargs)
    return caught.value


# --- the shipped manifests ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["example.yaml", "finance.yaml"])
def test_shipped_manifests_are_valid_and_lint_clean(name: str) -> None:
    manifest = load_manifest(MANIFESTS / name)
    assert [f for f in lint(manifest) if f.level == "error"] == []
    assert len(manifest.users) == 2 and len(manifest.workspaces) == 1 and len(manifest.endpoints) == 1


def test_example_is_the_seeded_delivery_scenario_on_public_cloud() -> None:
    m = load_manifest(MANIFESTS / "example.yaml")
    assert (m.cloud.site, m.cloud.region) == ("public", "cn-beijing")
    assert [u.name for u in m.users] == ["acme-delivery", "acme-lead"]
    ws = m.workspaces[0]
    assert ws.name == "agent-delivery" and ws.models == ["qwen-plus", "qwen-turbo", "deepseek-v3"]
    assert [(k.name, k.issued_to) for k in ws.api_keys] == [("main", "acme-delivery")]
    assert [(mb.user, mb.role) for mb in ws.members] == [("acme-delivery", "guest"), ("acme-lead", "admin")]
    ep = m.endpoints[0]
    assert (ep.vpc_id, ep.service_name, ep.security_group_ids) == (
        "vpc-2zedemo0000000001", "com.aliyuncs.dashscope", ["sg-2zedemo0000000001"])
    assert [(z.zone_id, z.vswitch_id) for z in ep.zones] == [
        ("cn-beijing-a", "vsw-2zedemo00000000a1"), ("cn-beijing-h", "vsw-2zedemo00000000h1")]
    assert m.verify.checks[0].app_id == "8f3a1c2e5b7d4a6f9e0c1b2a3d4e5f60"
    lead = m.users[1]
    assert lead.console_login is not None and lead.console_login.mfa_required and lead.access_keys == 1


def test_finance_manifest_addresses_the_endpoint_by_service_id() -> None:
    m = load_manifest(MANIFESTS / "finance.yaml")
    assert (m.cloud.site, m.cloud.region) == ("finance", "cn-shanghai-finance-1")
    ep = m.endpoints[0]
    assert (ep.service_id, ep.service_name, ep.vpc_id) == (
        "epsrv-fin0dashscope00001", None, "vpc-fin0demo000000001")
    assert {z.vswitch_id for z in ep.zones} == {"vsw-fin0demo00000000f1", "vsw-fin0demo00000000g1"}
    assert m.workspaces[0].name == "agent-delivery-fin"
    assert m.verify.checks[0].app_id == "2b4d6f8a0c1e3a5b7d9f1e3c5a7b9d0f"


# --- variables ----------------------------------------------------------------------------------------


def test_cli_variables_are_rendered_into_the_manifest() -> None:
    m = load_manifest(MANIFESTS / "example.yaml", vars={"customer": "globex", "expires": "2027-01-01"})
    assert [u.name for u in m.users] == ["globex-delivery", "globex-lead"]
    assert m.policies[0].name == "GlobexBailianAppReader"
    assert m.users[0].expires_at == datetime(2027, 1, 1, tzinfo=UTC)


def test_cli_variables_override_variable_files(tmp_path: Path) -> None:
    first = write(tmp_path, "customer: initech\nexpires: 2027-02-01T00:00:00Z\n", "a.yaml")
    second = write(tmp_path, "customer: hooli\n", "b.yaml")
    m = load_manifest(MANIFESTS / "example.yaml", var_files=[first, second])
    assert m.users[0].name == "hooli-delivery"  # later file wins
    assert m.users[0].expires_at == datetime(2027, 2, 1, tzinfo=UTC)
    m = load_manifest(MANIFESTS / "example.yaml", vars={"customer": "umbrella"}, var_files=[first])
    assert m.users[0].name == "umbrella-delivery"


def test_variable_files_may_hold_lists_for_template_loops(tmp_path: Path) -> None:
    values = write(tmp_path, "people: [ann, bob]\n", "vars.yaml")
    path = write(tmp_path, HEAD + "users:\n{% for p in people %}\n  - name: {{ p }}\n{% endfor %}\n")
    assert [u.name for u in load_manifest(path, var_files=[values]).users] == ["ann", "bob"]


def test_missing_variable_file_is_a_manifest_error(tmp_path: Path) -> None:
    error = error_of(MANIFESTS / "example.yaml", var_files=[tmp_path / "nope.yaml"])
    assert error.file.endswith("nope.yaml") and "not found" in error.message


def test_broken_variable_file_names_its_line(tmp_path: Path) -> None:
    values = write(tmp_path, "customer: acme\nregion: [cn-beijing\n", "vars.yaml")
    error = error_of(MANIFESTS / "example.yaml", var_files=[values])
    assert error.file == str(values) and error.line is not None and "invalid YAML" in error.message


def test_variable_names_must_be_identifiers() -> None:
    error = error_of(MANIFESTS / "example.yaml", vars={"bad-name": "x"})
    assert "invalid variable name" in error.message


def test_env_helper_reads_the_environment_with_an_optional_default(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, 'version: 1\nname: {{ env("PROVISION_TEST_NAME") }}\n'
                           'cloud: {region: {{ env("PROVISION_TEST_REGION", "cn-beijing") }}}\n')
    monkeypatch.setenv("PROVISION_TEST_NAME", "from-env")
    m = load_manifest(path)
    assert (m.name, m.cloud.region) == ("from-env", "cn-beijing")


def test_the_environment_is_not_a_template_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVISION_TEST_NAME", "leak")
    error = error_of(write(tmp_path, HEAD.replace("name: test", "name: {{ PROVISION_TEST_NAME }}")))
    assert (error.line, "'PROVISION_TEST_NAME' is undefined" in error.message) == (2, True)


def test_undefined_variable_in_an_include_names_the_include_line(tmp_path: Path) -> None:
    write(tmp_path, "  - name: a\n  - name: {{ who }}\n", "inc/users.yaml")
    error = error_of(write(tmp_path, HEAD + "users:\n{% include 'inc/users.yaml' %}\n"))
    assert (Path(error.file).name, error.line) == ("users.yaml", 2) and "'who' is undefined" in error.message


def test_validation_error_in_an_include_names_the_include_file_and_line(tmp_path: Path) -> None:
    include = write(tmp_path, "  - name: acme\n    display_name: x\n    acess_keys: 1\n", "inc/u.yaml")
    error = error_of(write(tmp_path, HEAD + "users:\n{% include 'inc/u.yaml' %}\n"))
    assert (error.file, error.line, error.field) == (str(include), 3, "users[0].acess_keys")
    assert "did you mean 'access_keys'?" in error.message


def test_templates_cannot_reach_python_internals(tmp_path: Path) -> None:
    error = error_of(write(tmp_path, HEAD + "x: {{ ''.__class__.__mro__[1].__subclasses__() }}\n"))
    assert (error.line, error.field) == (4, None) and "template error" in error.message


# --- line marks ---------------------------------------------------------------------------------------


def test_rendered_lines_map_back_to_source_lines_across_includes_and_dropped_blocks(tmp_path: Path) -> None:
    write(tmp_path, "  - name: included-a\n  - name: included-b\n", "inc/users.yaml")
    path = write(tmp_path, "a: 1\n{% if false %}\nb: 2\n{% endif %}\nusers:\n{% include 'inc/users.yaml' %}\n"
                           "{# a comment\nover two lines #}\nc: 3\n")
    rendered = render(path, {})
    by_text = {text.strip(): (Path(o.file).name, o.line)
                for text, o in zip(rendered.text.split("\n"), rendered.origins, strict=True) if text.strip()}
    assert by_text == {"a: 1": ("manifest.yaml", 1), "users:": ("manifest.yaml", 5),
                       "- name: included-a": ("users.yaml", 1), "- name: included-b": ("users.yaml", 2),
                       "c: 3": ("manifest.yaml", 9)}


def test_template_tags_containing_newlines_and_string_delimiters_keep_lines_aligned(tmp_path: Path) -> None:
    path = write(tmp_path, '{% set x = "%}" ~\n "}}" %}\n{{ "a:\\n" }}\n{%\n  set y = 1\n%}\nz: {{ x }}\n')
    rendered = render(path, {})
    lines = dict(zip(rendered.text.split("\n"), (o.line for o in rendered.origins), strict=True))
    assert lines["z: %}}}"] == 7


def test_whitespace_control_trims_only_within_the_template_line(tmp_path: Path) -> None:
    path = write(tmp_path, "a: 1\n  {%- if true -%}\nb: 2\n{% endif %}\n")
    rendered = render(path, {})
    assert _parse(rendered, str(path))[0] == {"a": 1, "b": 2}


def test_locate_points_at_the_line_each_field_was_written() -> None:
    m = load_manifest(MANIFESTS / "example.yaml")
    source = (MANIFESTS / "example.yaml").read_text().splitlines()
    origin = m.locate(("users", 1, "console_login"))
    assert origin is not None and source[origin.line - 1].strip().startswith("console_login:")
    policy = m.locate(("policies", 0, "name"))
    assert policy is not None and Path(policy.file).name == "app-reader-policy.yaml"
    assert m.locate(("users", 0, "no_such_field")) == m.locate(("users", 0))  # falls back to the parent


def test_manifest_built_in_code_has_no_source() -> None:
    m = Manifest.model_validate({"version": 1, "name": "x", "cloud": {"region": "cn-beijing"}})
    assert (m.source_file, m.locate(("name",))) == (None, None)


# --- validation ---------------------------------------------------------------------------------------


def test_several_problems_are_reported_first_one_leading(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + "users:\n  - name: a\n    access_keys: 5\n"
                                  "  - name: b\n    protect: maybe\n")
    error = error_of(path)
    assert (error.line, error.field) == (6, "users[0].access_keys")
    assert "also" in error.message and "users[1].protect" in error.message and ":8:" in error.message


def test_missing_manifest_file_is_a_manifest_error(tmp_path: Path) -> None:
    error = error_of(tmp_path / "absent.yaml")
    assert (error.line, error.message) == (None, "manifest file not found")


def test_dates_and_naive_times_are_utc(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + "users:\n  - {name: a, expires_at: 2027-03-31}\n"
                                  "  - {name: b, expires_at: '2027-03-31T08:00:00'}\n"
                                  "  - {name: c, expires_at: 2027-03-31T08:00:00+08:00}\n")
    got = [u.expires_at for u in load_manifest(path).users]
    assert got == [datetime(2027, 3, 31, tzinfo=UTC), datetime(2027, 3, 31, 8, tzinfo=UTC),
                   datetime(2027, 3, 31, 0, tzinfo=UTC)]


def test_secret_like_names_are_fine_when_they_hold_no_secret(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + "users:\n  - name: a\n"
                                  "    console_login: {password_reset_required: false}\n")
    login = load_manifest(path).users[0].console_login
    assert login is not None and login.password_reset_required is False


def test_models_accept_all_for_the_one_click_grant(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + "workspaces:\n  - {name: ws, models: all, api_keys: [{name: k}]}\n")
    assert load_manifest(path).workspaces[0].models == "all"


def test_yaml_anchors_and_merge_keys_work(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + "users:\n  - &base {name: a, access_keys: 1}\n  - <<: *base\n    name: b\n")
    assert [(u.name, u.access_keys) for u in load_manifest(path).users] == [("a", 1), ("b", 1)]


# --- JSON Schema --------------------------------------------------------------------------------------


def _properties(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = [(name, prop) for name, prop in schema.get("properties", {}).items()]
    for definition in schema.get("$defs", {}).values():
        found += _properties(definition)
    return found


def test_every_schema_property_is_documented() -> None:
    undocumented = [name for name, prop in _properties(manifest_json_schema()) if not prop.get("description")]
    assert undocumented == []


def test_schema_accepts_the_shipped_manifests_and_rejects_what_the_loader_rejects() -> None:
    schema = manifest_json_schema()
    for name in ("example.yaml", "finance.yaml"):
        jsonschema.validate(load_manifest(MANIFESTS / name).model_dump(mode="json", by_alias=True), schema)
    bad = load_manifest(MANIFESTS / "example.yaml").model_dump(mode="json", by_alias=True)
    bad["users"][0]["access_keys"] = 3
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
    bad["users"][0] = {"name": "a", "acess_keys": 1}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


_VALIDATOR = jsonschema.Draft202012Validator(manifest_json_schema())
_names = st.from_regex(r"[a-z][a-z0-9-]{0,12}", fullmatch=True)
_models = st.lists(st.sampled_from(["qwen-plus", "qwen-max", "qwen-turbo", "deepseek-v3"]), unique=True)
_users = st.lists(st.fixed_dictionaries(
    {"name": _names},
    optional={"access_keys": st.integers(0, 2), "protect": st.booleans(),
              "state": st.sampled_from(["present", "absent"]),
              "console_login": st.fixed_dictionaries({}, optional={"mfa_required": st.booleans()}),
              "policies": st.fixed_dictionaries({"system": st.lists(st.sampled_from(
                  ["AliyunBailianDataReadOnlyAccess", "AliyunBailianControlReadOnlyAccess"]), unique=True)}),
              "expires_at": st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat())}),
    unique_by=lambda u: u["name"], max_size=4)
_workspaces = st.lists(st.fixed_dictionaries(
    {"name": _names}, optional={"models": st.one_of(st.just("all"), _models), "protect": st.booleans()}),
    unique_by=lambda w: w["name"], max_size=3)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(users=_users, workspaces=_workspaces, site=st.sampled_from(["public", "finance"]))
def test_any_valid_manifest_satisfies_the_schema_and_round_trips(users: list[dict[str, Any]],
                                                                  workspaces: list[dict[str, Any]],
                                                                  site: str) -> None:
    region = "cn-shanghai-finance-1" if site == "finance" else "cn-beijing"
    data = {"version": 1, "name": "prop", "cloud": {"site": site, "region": region},
            "users": users, "workspaces": workspaces}
    manifest = Manifest.model_validate(data)
    dumped = manifest.model_dump(mode="json", by_alias=True)
    _VALIDATOR.validate(dumped)
    assert Manifest.model_validate(dumped) == manifest


# --- YAML: the fast parse and its bounds ----------------------------------------------------------------


def test_plain_scalars_resolve_as_yaml_1_2(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + "users:\n  - {name: 'no', display_name: yes, access_keys: 0x1}\n")
    user = load_manifest(path).users[0]
    assert (user.name, user.display_name, user.access_keys) == ("no", "yes", 1)


def test_explicit_keys_win_over_merged_ones_and_merged_keys_point_at_the_merge(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + "users:\n  - &base {name: a, access_keys: 1, display_name: A}\n"
                                  "  - name: b\n    <<: *base\n    access_keys: 2\n")
    m = load_manifest(path)
    assert [(u.name, u.access_keys, u.display_name) for u in m.users] == [("a", 1, "A"), ("b", 2, "A")]
    origin = m.locate(("users", 1, "display_name"))
    assert origin is not None and origin.line == 7  # the <<: line


def test_an_alias_may_repeat_a_value_until_the_expansion_passes_the_bound(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 6)]
    fine = write(tmp_path, "\n".join(lines[:5]) + "\n", "fine.yaml")  # 11,111 values: parsed
    assert _parse(render(fine, {}), str(fine))[0]["a4"][9][9][9][9] == ["x"] * 10
    error = error_of(write(tmp_path, HEAD + "\n".join(lines) + "\n"))
    assert error.line == 9 and "alias bomb" in error.message


def test_a_syntax_error_far_into_a_large_manifest_is_worded_by_libyaml(tmp_path: Path) -> None:
    users = "".join(f"  - name: user-{i}\n" for i in range(2000))
    error = error_of(write(tmp_path, HEAD + "users:\n" + users + "  - name: [broken\n"))
    assert error.line == 2005 and "invalid YAML" in error.message


# --- secrets from the environment -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_REGION_ID",
                                  "HUAWEICLOUD_SDK_SK", "DASHSCOPE_API_KEY", "CI_JOB_TOKEN", "db_password",
                                  "SIGNING_KEY"])
def test_env_refuses_credential_variables_without_reading_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(name, "s3cr3t-value-never-shown")
    template = f'users:\n  - {{name: a, display_name: "{{{{ env("{name}") }}}}"}}\n'
    error = error_of(write(tmp_path, HEAD + template))
    assert error.line == 5 and f"{name} is a credential variable" in error.message
    assert "s3cr3t" not in str(error)


def test_env_reads_other_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTOMER_KEYRING_NAME", "acme")
    path = write(tmp_path, HEAD + 'users:\n  - name: {{ env("CUSTOMER_KEYRING_NAME") }}\n')
    assert load_manifest(path).users[0].name == "acme"


def test_a_var_named_like_a_secret_or_holding_a_secret_value_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "s3cr3t-value-never-shown")
    path = write(tmp_path, HEAD + "users:\n  - name: {{ who }}\n")
    named = error_of(path, vars={"api_token": "abc"})
    held = error_of(path, vars={"who": "x-s3cr3t-value-never-shown"})
    assert "api_token is named like a secret" in named.message
    assert "holds the value of the environment variable ALIBABA_CLOUD_ACCESS_KEY_SECRET" in held.message
    assert "s3cr3t" not in str(named) + str(held)


def test_a_secret_value_reaching_the_manifest_another_way_is_refused_at_its_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_PASSWORD", "s3cr3t-value-never-shown")
    values = write(tmp_path, "who: s3cr3t-value-never-shown\n", "vars.yaml")
    error = error_of(write(tmp_path, HEAD + "users:\n  - name: a\n    display_name: '{{ who }}'\n"),
                     var_files=[values])
    assert error.line == 6 and "value of the environment variable DB_PASSWORD" in error.message
    assert "s3cr3t" not in str(error)

"""Rules that relate one part of a manifest to another: names, references, site requirements, checks."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping

from provision.manifest.clouds import check_cloud
from provision.manifest.marks import FieldPath, Problem
from provision.manifest.model import Manifest
from provision.manifest.schema_base import ALIBABA
from provision.manifest.schema_services import ApiKey, Endpoint, Workspace
from provision.manifest.schema_verify import VerifyCheck

DASHSCOPE_SERVICE = "com.aliyuncs.dashscope"


def check_references(manifest: Manifest) -> list[Problem]:
    """Every cross-reference and uniqueness problem of a structurally valid manifest."""
    return [*check_cloud(manifest), *_duplicates(manifest), *_cloud(manifest), *_policies(manifest),
            *_users(manifest), *_workspaces(manifest), *_endpoints(manifest), *_verify(manifest)]


def _unique(values: Iterable[str], base: FieldPath, what: str,
            attr: str | None = "name") -> Iterator[Problem]:
    """A problem at each repeated value (``base + (index, attr)``)."""
    seen: set[str] = set()
    for i, value in enumerate(values):
        if value in seen:
            path = (*base, i, attr) if attr else (*base, i)
            yield Problem(path, f"duplicate {what} {value!r}")
        seen.add(value)


def _duplicates(m: Manifest) -> Iterator[Problem]:
    yield from _unique((p.name for p in m.policies), ("policies",), "policy name")
    yield from _unique((u.name for u in m.users), ("users",), "user name")
    yield from _unique((w.name for w in m.workspaces), ("workspaces",), "workspace name")
    yield from _unique((e.name for e in m.endpoints), ("endpoints",), "endpoint name")
    for i, u in enumerate(m.users):
        yield from _unique(u.policies.system, ("users", i, "policies", "system"), "system policy", None)
        yield from _unique(u.policies.custom, ("users", i, "policies", "custom"), "custom policy", None)
    for i, w in enumerate(m.workspaces):
        base: FieldPath = ("workspaces", i)
        if isinstance(w.models, list):
            yield from _unique(w.models, (*base, "models"), "model", None)
        yield from _unique((k.name for k in w.api_keys), (*base, "api_keys"), "API key name")
        yield from _unique((mb.user for mb in w.members), (*base, "members"), "member", "user")
        for k, key in enumerate(w.api_keys):
            yield from _unique(key.allowed_models, (*base, "api_keys", k, "allowed_models"), "model", None)
    for i, e in enumerate(m.endpoints):
        base = ("endpoints", i)
        yield from _unique((z.zone_id for z in e.zones), (*base, "zones"), "zone", "zone_id")
        yield from _unique((z.vswitch_id for z in e.zones), (*base, "zones"), "vSwitch", "vswitch_id")
        yield from _unique(e.security_group_ids, (*base, "security_group_ids"), "security group", None)


def _is_finance_region(region: str) -> bool:
    return "-finance-" in region


def _cloud(m: Manifest) -> Iterator[Problem]:
    finance = m.cloud.site == "finance"
    if finance != _is_finance_region(m.cloud.region):
        expected = "a finance region such as cn-shanghai-finance-1" if finance else "a public-cloud region"
        yield Problem(("cloud", "region"), f"site {m.cloud.site} needs {expected}, got {m.cloud.region}")


def _policies(m: Manifest) -> Iterator[Problem]:
    for i, p in enumerate(m.policies):
        if p.state == "present" and p.document is None:
            yield Problem(("policies", i, "document"), f"policy {p.name} needs a document (or state: absent)")
        elif p.document is not None and len(p.document.canonical_json()) > 6144:
            yield Problem(("policies", i, "document"), "policy document longer than RAM's 6144 characters")


def _declared(names: Mapping[str, str], name: str, what: str, where: str) -> str | None:
    """A message if ``name`` is not declared, or declared absent, in ``names`` (name → state)."""
    if name not in names:
        close = difflib.get_close_matches(name, list(names), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"{what} {name!r} is not declared under {where}{hint}"
    if names[name] == "absent":
        return f"{what} {name!r} is declared state: absent under {where}"
    return None


def _users(m: Manifest) -> Iterator[Problem]:
    policies = {p.name: p.state for p in m.policies}
    for i, u in enumerate(m.users):
        if u.state == "absent":
            continue
        for j, name in enumerate(u.policies.custom):
            message = _declared(policies, name, "custom policy", "policies")
            if message:
                yield Problem(("users", i, "policies", "custom", j), message)
        for j, name in enumerate(u.policies.system):
            if name in policies:
                yield Problem(("users", i, "policies", "system", j),
                              f"{name} is declared under policies: list it under policies.custom")


def _present_user(users: Mapping[str, str], name: str) -> str | None:
    return _declared(users, name, "user", "users")


def _workspaces(m: Manifest) -> Iterator[Problem]:
    users = {u.name: u.state for u in m.users}
    for i, w in enumerate(m.workspaces):
        if w.state == "absent":
            continue
        for k, key in enumerate(w.api_keys):
            yield from _api_key(w, key, ("workspaces", i, "api_keys", k), users)
        for j, member in enumerate(w.members):
            message = _present_user(users, member.user)
            if message:
                yield Problem(("workspaces", i, "members", j, "user"), message)


def _api_key(w: Workspace, key: ApiKey, base: FieldPath, users: Mapping[str, str]) -> Iterator[Problem]:
    if key.issued_to is not None:
        message = _present_user(users, key.issued_to)
        if message:
            yield Problem((*base, "issued_to"), message)
    if isinstance(w.models, list):
        for j, model in enumerate(key.allowed_models):
            if model not in w.models:
                yield Problem((*base, "allowed_models", j),
                              f"model {model} is not granted to workspace {w.name}: add it to its models")


def _endpoints(m: Manifest) -> Iterator[Problem]:
    finance = m.cloud.site == "finance"
    for i, e in enumerate(m.endpoints):
        yield from _endpoint(e, ("endpoints", i), finance)


def _endpoint(e: Endpoint, base: FieldPath, finance: bool) -> Iterator[Problem]:
    if (e.service_name is None) == (e.service_id is None):
        yield Problem((*base, "service_name"),
                      f"give exactly one of service_name (public cloud: {DASHSCOPE_SERVICE}) or service_id "
                      "(finance cloud: epsrv-...)")
    elif finance and e.service_id is None:
        yield Problem((*base, "service_name"),
                      "on finance cloud the DashScope service is addressed by service_id (epsrv-...)")
    if e.region is not None and _is_finance_region(e.region) != finance:
        site = "finance" if finance else "public"
        yield Problem((*base, "region"), f"region {e.region} is not on the {site} site")


def _verify(m: Manifest) -> Iterator[Problem]:
    workspaces = {w.name: w for w in m.workspaces}
    states = {w.name: w.state for w in m.workspaces}
    endpoints = {e.name: e.state for e in m.endpoints}
    for i, check in enumerate(m.verify.checks):
        base: FieldPath = ("verify", "checks", i)
        message = _declared(states, check.workspace, "workspace", "workspaces")
        if message:
            yield Problem((*base, "workspace"), message)
            continue
        yield from _check_key(check, workspaces[check.workspace], base, m.cloud.provider == ALIBABA)
        yield from _app_params(check, base)
        for j, name in enumerate(check.via_endpoints):
            message = _declared(endpoints, name, "endpoint", "endpoints")
            if message:
                yield Problem((*base, "via_endpoints", j), message)


def _callable(w: Workspace, key: ApiKey, model: str) -> bool:
    """Whether the key is meant to be able to call ``model`` (granted to the workspace and allowed)."""
    granted = w.models == "all" or model in w.models
    return granted and (not key.allowed_models or model in key.allowed_models)


def _check_key(check: VerifyCheck, w: Workspace, base: FieldPath, grants: bool) -> Iterator[Problem]:
    """The key is declared; with per-workspace model grants (Alibaba), the model is granted to it."""
    keys = {k.name: k for k in w.api_keys}
    key = keys.get(check.api_key)
    if key is None:
        yield Problem((*base, "api_key"), f"API key {check.api_key!r} is not declared in workspace {w.name}")
        return
    if not grants:
        return
    if not _callable(w, key, check.model):
        yield Problem((*base, "model"),
                      f"model {check.model} is not granted to workspace {w.name} or not allowed for key "
                      f"{key.name}: the check would fail by design")
    if check.denied_model is not None and _callable(w, key, check.denied_model):
        yield Problem((*base, "denied_model"),
                      f"model {check.denied_model} is callable with key {key.name}: it cannot prove a denial")


def _app_params(check: VerifyCheck, base: FieldPath) -> Iterator[Problem]:
    """Agent-app parameters need an app to pass them to; documents need their knowledge bases."""
    for name in ("biz_params", "rag_options", "memory_id"):
        if getattr(check, name) is not None and check.app_id is None:
            yield Problem((*base, name), f"{name} is passed to an agent app: declare app_id too")
    if check.rag_options is not None and check.rag_options.file_ids and not check.rag_options.pipeline_ids:
        yield Problem((*base, "rag_options", "file_ids"),
                      "file_ids are searched only with the pipeline_ids of their knowledge bases: add them")

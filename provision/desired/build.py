"""Map a validated Manifest to the desired resource specs the planner compares with the live account.

Pure: no SDK, no I/O. Follows the deletion rules of docs/architecture.md: ``state: absent`` top-level
items go to ``Desired.absent``; an expired user stays present but stripped of every access (zero access
keys; its login profile, attachments, the API keys issued to it and its memberships go to
``Desired.withheld``, which the plan shows with the reason).
:func:`problem_line` goes the other way: from a spec the account finds wrong (an unknown model, a
vSwitch elsewhere) back to its manifest entry and line.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from provision.clock import iso
from provision.desired.huawei import Specs, huawei_specs
from provision.desired.kinds import Kind, Spec
from provision.desired.model import Desired, SpecProblem
from provision.desired.resources import (
    ALL_MODELS,
    AccessKeysSpec,
    ApiKeySpec,
    AttachmentSpec,
    EndpointSpec,
    GrantSpec,
    LoginProfileSpec,
    MemberSpec,
    PolicySpec,
    UserSpec,
    WorkspaceSpec,
    Zone,
)
from provision.manifest.marks import FieldPath, dotted
from provision.manifest.model import Manifest
from provision.manifest.schema_base import ALIBABA, HUAWEI, SUPER_ADMIN_POLICY
from provision.manifest.schema_services import Endpoint, Workspace
from provision.manifest.schema_users import Policy, User


def desired_from_manifest(manifest: Manifest, now: datetime) -> Desired:
    """The specs the manifest asks for at ``now`` (expiry is decided against it), by the manifest's cloud."""
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    expired = frozenset(u.name for u in manifest.users
                        if u.state == "present" and u.expires_at is not None and u.expires_at <= now)
    specs = _BUILDERS[manifest.cloud.provider](manifest, expired)
    return Desired(present=tuple(specs.present), absent=tuple(specs.absent), adopt=frozenset(specs.adopt),
                   expired=expired, manifest=manifest.name, withheld=tuple(specs.withheld))


def _alibaba_specs(manifest: Manifest, expired: frozenset[str]) -> Specs:
    specs = Specs()
    for policy in manifest.policies:
        specs.add(_policy(policy), policy.state, [], policy.adopt)
    for user in manifest.users:
        specs.add(_user(user), user.state, _user_access(user), user.adopt, expired)
    for ws in manifest.workspaces:
        specs.add(WorkspaceSpec(workspace=ws.name, protect=ws.protect), ws.state, _workspace_children(ws),
                  ws.adopt, expired)
    for endpoint in manifest.endpoints:
        specs.add(_endpoint(endpoint, manifest.cloud.region), endpoint.state, [], endpoint.adopt)
    return specs


_BUILDERS: dict[str, Callable[[Manifest, frozenset[str]], Specs]] = {
    ALIBABA: _alibaba_specs,
    HUAWEI: huawei_specs,
}


def problem_line(manifest: Manifest, problem: SpecProblem) -> str:
    """One problem as ``file:line: key: message (field path)``, the manifest entry found from the spec."""
    path = manifest_path(manifest, problem)
    origin = manifest.locate(path) if path else None
    where = f"{origin.file}:{origin.line}" if origin else (manifest.source_file or "the manifest")
    entry = f" ({dotted(path)})" if path else ""
    return f"{where}: {problem.key}: {problem.message}{entry}"


def manifest_path(manifest: Manifest, problem: SpecProblem) -> FieldPath | None:
    """The manifest field a spec problem is about (the inverse of :func:`desired_from_manifest`)."""
    kind, _, name = problem.key.partition("/")
    if kind == Kind.ENDPOINT:
        at = _index([e.name for e in manifest.endpoints], name)
        if at is None:
            return None
        endpoint = manifest.endpoints[at]
        zone = _index([z.vswitch_id for z in endpoint.zones], problem.value)
        if problem.field == "zones" and zone is not None:
            return ("endpoints", at, "zones", zone, "vswitch_id")
        group = _index(list(endpoint.security_group_ids), problem.value)
        if problem.field == "security_group_ids" and group is not None:
            return ("endpoints", at, "security_group_ids", group)
        return ("endpoints", at, problem.field)
    workspace, _, child = name.partition("/")
    ws = _index([w.name for w in manifest.workspaces], workspace)
    if ws is None or kind not in (Kind.GRANT, Kind.API_KEY):
        return None
    spec = manifest.workspaces[ws]
    if kind == Kind.GRANT:
        model = _index(list(spec.models) if spec.models != "all" else [], child)
        return ("workspaces", ws, "models", model) if model is not None else ("workspaces", ws, "models")
    key = _index([k.name for k in spec.api_keys], child)
    if key is None:
        return ("workspaces", ws, "api_keys")
    model = _index(spec.api_keys[key].allowed_models, problem.value)
    if problem.field == "allowed_models" and model is not None:
        return ("workspaces", ws, "api_keys", key, "allowed_models", model)
    return ("workspaces", ws, "api_keys", key)


def _index(items: list[str], wanted: str) -> int | None:
    return items.index(wanted) if wanted in items else None


def _policy(policy: Policy) -> PolicySpec:
    document = policy.document.canonical_json() if policy.document else None
    return PolicySpec(policy=policy.name, document=document, description=policy.description,
                      protect=policy.protect)


def _user(user: User) -> UserSpec:
    return UserSpec(user=user.name, display_name=user.display_name, email=user.email, protect=user.protect,
                    expires_at=iso(user.expires_at) if user.expires_at else None)


def _user_access(user: User) -> list[Spec]:
    """Login profile, access keys and attachments of a present user (``Specs.add`` withholds them, but for
    a zero key count, once the user has expired)."""
    specs: list[Spec] = []
    login = user.console_login
    if login is not None and login.enabled:
        specs.append(LoginProfileSpec(user=user.name, password_reset_required=login.password_reset_required,
                                      mfa_bind_required=login.mfa_required))
    specs.append(AccessKeysSpec(user=user.name, count=user.access_keys))
    system = list(user.policies.system)
    if user.super_admin is not None and SUPER_ADMIN_POLICY not in system:
        system.append(SUPER_ADMIN_POLICY)
    specs.extend(AttachmentSpec(user=user.name, policy=name, policy_type="System") for name in system)
    specs.extend(AttachmentSpec(user=user.name, policy=name, policy_type="Custom")
                 for name in user.policies.custom)
    return specs


def _workspace_children(ws: Workspace) -> list[Spec]:
    """Grants, API keys and members of a workspace (``Specs.add`` withholds those of expired users)."""
    models = [ALL_MODELS] if ws.models == "all" else list(ws.models)
    specs: list[Spec] = [GrantSpec(workspace=ws.name, model=model) for model in models]
    specs.extend(ApiKeySpec(workspace=ws.name, key_name=key.name, allowed_models=tuple(key.allowed_models),
                            ip_allow_list=tuple(key.ip_allow_list), disabled=key.disabled,
                            issued_to=key.issued_to)
                 for key in ws.api_keys)
    specs.extend(MemberSpec(workspace=ws.name, user=m.user, role=m.role) for m in ws.members)
    return specs


def _endpoint(endpoint: Endpoint, default_region: str) -> EndpointSpec:
    return EndpointSpec(
        endpoint=endpoint.name, region=endpoint.region or default_region, vpc_id=endpoint.vpc_id,
        zones=tuple(Zone(zone_id=z.zone_id, vswitch_id=z.vswitch_id) for z in endpoint.zones),
        security_group_ids=tuple(endpoint.security_group_ids), service_name=endpoint.service_name,
        service_id=endpoint.service_id, protect=endpoint.protect)

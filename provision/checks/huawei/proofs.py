"""The proofs of a Huawei revoke: the old credentials, captured before revoking, must now be refused, and
the account must list nothing left that gives the user access.

Interface for the ``huawei`` branch (``provision revoke`` on a Huawei manifest)::

    old = (Credential("access-key", AK, SK), Credential("console-password", "", PASSWORD),
           Credential("api-key", KEY_ID, KEY, workspace="ws", key_name="main", model="pangu-nlp-n1-32k"))
    proofs = prove_revoked(clients, "alice", old, workspaces=("agent-delivery",))   # tuple[Proof, ...]
    all(p.holds for p in proofs)

Proofs (the :class:`~provision.checks.revoke_proofs.Proof` type of the Alibaba revoke, so records and
output are shared): each old AK/SK fails STS ``get_caller_identity`` (401 ``APIG.0301``); each old MaaS API
key gets 401 on a Pangu V2 call; the old console password gets no IAM token; each workspace no longer
grants the user; the user holds no active key, console login, policy or group (or is gone). The last proof
says what no API can prove: IAM tokens issued before the revocation may live up to 30 minutes.
No proof holds a secret: credentials show as ids and fingerprints.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from provision.checks.huawei.smoke import caller, v2_chat
from provision.checks.results import Credential, Proof, Reply
from provision.providers.huawei.clients import HuaweiCallError, HuaweiClients
from provision.providers.huawei.read import list_users, read_user, read_workspaces

DEAD_ACCESS_KEY = "APIG.0301"  # what the gateway answers a deleted or deactivated AK (401)
DEAD_API_KEY_STATUS = 401
DEFAULT_MODEL = "pangu-nlp-n1-32k"  # the model an API key's proof asks for when none is named
TOKENS_LIVE_MIN = 30
TOKEN_NOTE = (
    f"IAM tokens issued before the revocation may stay valid for up to {TOKENS_LIVE_MIN} minutes "
    "(Huawei IAM ends them within 30 minutes of a key, password, permission or user change); "
    "no API can list or end them sooner"
)


def prove_revoked(
    clients: HuaweiClients, user: str, old: Sequence[Credential], workspaces: Sequence[str] = ()
) -> tuple[Proof, ...]:
    """Every proof that ``user``'s access is gone: its old credentials, the workspaces, the user itself."""
    proofs: list[Proof] = []
    for credential in old:
        if credential.kind == "access-key":
            proofs.append(access_key_proof(clients, credential))
        elif credential.kind == "api-key":
            proofs.append(api_key_proof(clients, credential))
        elif credential.kind == "console-password":
            proofs.append(password_proof(clients, user, credential))
    proofs.extend(workspace_proofs(clients, user, workspaces))
    proofs.append(user_proof(clients, user))
    proofs.append(
        Proof(
            "iam-tokens", f"IAM tokens issued before end within {TOKENS_LIVE_MIN} minutes", True, TOKEN_NOTE
        )
    )
    return tuple(proofs)


def access_key_proof(clients: HuaweiClients, credential: Credential) -> Proof:
    """The old AK/SK must fail STS: 401 ``APIG.0301``."""
    reply = caller(clients.for_key(credential.id, credential.secret))
    holds = reply.status == 401 and reply.code == DEAD_ACCESS_KEY
    seen = f"STS answered {_said(reply)}" if not reply.ok else f"STS still names {reply.text}"
    return Proof(
        f"access-key/{credential.id}",
        "the old AccessKey no longer authenticates (STS)",
        holds,
        f"{seen}; {TOKEN_NOTE}",
        reply.status,
        reply.code,
        credential.label,
    )


def api_key_proof(clients: HuaweiClients, credential: Credential) -> Proof:
    """The old MaaS API key must get 401 on a Pangu V2 call."""
    reply = v2_chat(clients, credential.secret, credential.model or DEFAULT_MODEL)
    holds = reply.status == DEAD_API_KEY_STATUS
    seen = f"Pangu V2 answered {_said(reply)}" if not reply.ok else "Pangu V2 still answers 200"
    name = f"{credential.workspace}/{credential.key_name}" if credential.key_name else credential.id
    return Proof(
        f"api-key/{name}",
        "the old API key is refused (401)",
        holds,
        seen,
        reply.status,
        reply.code,
        credential.label,
    )


def password_proof(clients: HuaweiClients, user: str, credential: Credential) -> Proof:
    """The old console password must get no IAM token (``POST /v3/auth/tokens``, password method)."""
    identity = {
        "methods": ["password"],
        "password": {
            "user": {"name": user, "password": credential.secret, "domain": {"name": clients.domain_name}}
        },
    }
    body = {"auth": {"identity": identity, "scope": {"project": {"name": clients.target.region}}}}
    try:
        response = httpx.post(
            clients.target.url("iam") + "/v3/auth/tokens", json=body, timeout=30, trust_env=False
        )
    except httpx.TransportError as err:
        return Proof(
            "console-password",
            "the old console password gets no IAM token",
            False,
            f"no answer ({type(err).__name__})",
            None,
            "Unreachable",
            credential.label,
        )
    try:
        code = str(response.json().get("error_code") or "")
    except ValueError:
        code = ""
    holds = response.status_code == 401
    seen = (
        f"IAM answered {response.status_code} {code}".strip()
        if not response.is_success
        else "IAM still issues a token for it"
    )
    return Proof(
        "console-password",
        "the old console password gets no IAM token",
        holds,
        f"{seen}; {TOKEN_NOTE}",
        response.status_code,
        code,
        credential.label,
    )


def workspace_proofs(clients: HuaweiClients, user: str, names: Sequence[str]) -> list[Proof]:
    """Each named workspace no longer grants the user (a workspace that is gone grants nobody)."""
    if not names:
        return []
    live = {w.name: w for w in read_workspaces(clients)}
    proofs = []
    for name in names:
        workspace = live.get(name)
        granted = workspace is not None and workspace.granted(user)
        grants = ", ".join(g.user_name for g in workspace.grants) if workspace else ""
        seen = (
            "the workspace does not exist"
            if workspace is None
            else f"{workspace.visibility} workspace; grants: {grants or 'none'}"
        )
        if workspace is not None and workspace.visibility == "PUBLIC":
            seen += " (PUBLIC: every IAM user of the account can still use it)"
        proofs.append(Proof(f"workspace/{name}", f"the workspace no longer lists {user}", not granted, seen))
    return proofs


def user_proof(clients: HuaweiClients, user: str) -> Proof:
    """The user is gone, or holds no active key, console login, identity policy or group."""
    claim = f"IAM lists nothing left that gives {user} access"
    summary = next((u for u in list_users(clients) if u.name == user), None)
    if summary is None:
        return Proof(f"iam-user/{user}", claim, True, "the user does not exist")
    try:
        live = read_user(clients, summary.user_id)
    except HuaweiCallError as err:
        return Proof(
            f"iam-user/{user}", claim, False, f"could not read the user: {err.code}", err.status, err.code
        )
    left = (
        ([f"{len(live.active_keys)} active access key(s)"] if live.active_keys else [])
        + (["a console login"] if live.login_profile is not None else [])
        + ([f"policies {', '.join(p.ref for p in live.policies)}"] if live.policies else [])
        + ([f"groups {', '.join(g.name for g in live.groups)}"] if live.groups else [])
    )
    state = "enabled" if live.enabled else "disabled"
    return Proof(
        f"iam-user/{user}",
        claim,
        not left,
        f"the user ({state}) still has {'; '.join(left)}" if left else f"the user ({state}) holds nothing",
    )


def _said(reply: Reply) -> str:
    if reply.status is None:
        return f"nothing ({reply.code})"
    return f"{reply.status} {reply.code}".strip()

"""`provision verify` on Huawei Cloud: prove the delivered access works, with the credentials in the sink.

Per delivered user: each AK/SK signs STS ``get_caller_identity`` as that IAM user. Per ``verify.checks``
entry: a Pangu V2 (OpenAI-compatible) completion with the MaaS API key through the official ``openai``
client (a new key becomes valid only after a delay: refusals "not valid yet" are retried); a Pangu V1 chat
completion on ``deployment_id`` signed with the user's AK/SK; an agent-run conversation on ``agent_id`` read
until ``done`` with a non-empty ``summary_response``; and each again through every ``via_endpoints`` VPC
endpoint (its private domain). Results are the verify table's rows (``checks/verify.py``); a failure says
what is wrong and which manifest entry (file:line) to look at. No result holds a secret.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

from provision.checks.verify import CheckResult, VerifyReport
from provision.engine.flow import Context, Prepared
from provision.errors import ProvisionError
from provision.manifest.model import VerifyCheck
from provision.providers.huawei.clients import HuaweiCallError, HuaweiClients
from provision.providers.huawei.network import endpoint_names
from provision.providers.huawei.read import read_caller, read_endpoints
from provision.state.secrets import SecretSink, fingerprint

PROMPT = "ping"
ACTIVATION_TRIES = 20  # a new MaaS key is refused "not valid yet" for a while (minutes on the cloud)
ACTIVATION_WAIT_S = 0.5


@dataclass(frozen=True)
class Answer:
    """What one smoke call got: HTTP status (None: no answer), the cloud's code, and a short text."""

    status: int | None
    code: str = ""
    text: str = ""
    request_id: str = ""


def run_verify(prepared: Prepared, context: Context, *, workers: int = 8) -> VerifyReport:
    """Every smoke check of the manifest; a failed check never raises."""
    clients = context.clients
    if not isinstance(clients, HuaweiClients):
        raise ProvisionError("Huawei verify needs a Huawei Cloud context (cloud.provider: huaweicloud)")
    manifest = prepared.manifest
    revoked = {u.name for u in manifest.users if u.state == "absent" or u.name in prepared.desired.expired}
    domains = {name: e.domains[0] for name, e in endpoint_names(read_endpoints(clients),
                                                                manifest.name).items()
               if e.domains}
    jobs: list[Callable[[], list[CheckResult]]] = [
        partial(_access_keys, prepared, context.sink, clients, i, u.name)
        for i, u in enumerate(manifest.users) if u.access_keys and u.name not in revoked]
    jobs += [partial(_check, prepared, context.sink, clients, i, check, domains)
             for i, check in enumerate(manifest.verify.checks) if check.user not in revoked]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        groups = list(pool.map(lambda job: job(), jobs))
    return VerifyReport(tuple(r for group in groups for r in group))


def _entry(prepared: Prepared, *path: str | int) -> str:
    origin = prepared.manifest.locate(tuple(path))
    dotted = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in path).replace(".[", "[")
    return f"{dotted} ({origin.file}:{origin.line})" if origin else dotted


def _access_keys(prepared: Prepared, sink: SecretSink, clients: HuaweiClients, index: int,
                 user: str) -> list[CheckResult]:
    entry = _entry(prepared, "users", index)
    held = sink.access_keys(user)
    if not held:
        return [CheckResult(f"access-key/{user}", "access-key", f"IAM user {user}", entry, False,
                            "the secrets sink holds no AK/SK of this user: run apply (or plan "
                            "--rotate-missing-secrets if its secret was lost)")]
    results = []
    for key_id, secret in sorted(held.items()):
        start = time.monotonic()
        label = f"{key_id} ({fingerprint(secret)})"
        try:
            identity = read_caller(clients.for_key(key_id, secret))
        except HuaweiCallError as err:
            results.append(CheckResult(f"access-key/{user}/{key_id}", "access-key", "STS get_caller_identity",
                                       entry, False, f"{err.code}: the key does not authenticate: {err.hint}",
                                       err.status, err.code, label, _ms(start), err.request_id))
            continue
        ok = identity.user_name == user
        said = f"signs as {identity.principal_urn}"
        results.append(CheckResult(f"access-key/{user}/{key_id}", "access-key", "STS get_caller_identity",
                                   entry, ok, said if ok else f"{said}, not as IAM user {user}: the sink "
                                   "holds "
                                   "another user's key", 200, "", label, _ms(start)))
    return results


def _ms(start: float) -> int:
    return int((time.monotonic() - start) * 1000)


def _check(prepared: Prepared, sink: SecretSink, clients: HuaweiClients, index: int, check: VerifyCheck,
           domains: dict[str, str]) -> list[CheckResult]:
    entry = _entry(prepared, "verify", "checks", index)
    routes: list[tuple[str, str | None]] = [("", None)]
    results: list[CheckResult] = []
    for name in check.via_endpoints:
        domain = domains.get(name)
        if domain is None:
            results.append(CheckResult(f"verify.checks[{index}].endpoint@{name}", "endpoint", name, entry,
                                       False,
                                       f"endpoint {name} has no private domain (not created, or enable_dns "
                                       "false): run apply"))
        else:
            routes.append((f"@{name}", domain))
    workspace = next((w for w in prepared.manifest.workspaces if w.name == check.workspace), None)
    key = next((k for k in workspace.api_keys if k.name == check.api_key), None) if workspace else None
    account = SecretSink.api_key_account(check.workspace, key.issued_to if key else None)
    held = sink.api_key(account, check.workspace, check.api_key)
    user_key = next(iter(sorted(sink.access_keys(check.user).items())), None) if check.user else None
    for suffix, host in routes:
        where = f" via {host}" if host else ""
        if held is None:
            results.append(CheckResult(f"verify.checks[{index}].v2{suffix}", "v2-chat", check.api_key, entry,
                                       False, f"the secrets sink holds no API key {check.workspace}/"
                                       f"{check.api_key}: run apply"))
        else:
            results.append(_judge(f"verify.checks[{index}].v2{suffix}", "v2-chat",
                                  f"Pangu V2 {check.model}{where}", entry,
                                  f"{held[0]} ({fingerprint(held[1])})",
                                  partial(_v2, clients, held[1], check.model, host)))
        if user_key is None:
            if check.deployment_id or check.agent_id:
                results.append(CheckResult(f"verify.checks[{index}].user{suffix}", "v1-chat", str(check.user),
                                           entry, False, f"the secrets sink holds no AK/SK of {check.user}: "
                                           "run apply"))
            continue
        signer = clients.for_key(*user_key)
        label = f"{user_key[0]} ({fingerprint(user_key[1])})"
        if check.deployment_id:
            deployment = check.deployment_id
            results.append(_judge(f"verify.checks[{index}].v1{suffix}", "v1-chat",
                                  f"Pangu V1 deployment {deployment}{where}", entry, label,
                                  partial(_v1, signer, deployment, host)))
        if check.agent_id:
            agent = check.agent_id
            results.append(_judge(f"verify.checks[{index}].agent{suffix}", "agent-run",
                                  f"agent {agent}{where}", entry, label,
                                  partial(_agent, signer, agent, host)))
    return results


_CAUSES = {
    "PANGU.0011": "the caller is refused: the workspace of the deployment or agent must grant the user "
                  "(workspaces[].members), its key must be valid, or the key's ip_whitelist must admit this "
                  "host",
    "PANGU.0012": "no credential was sent",
    "PANGU.3254": "the deployment or agent does not exist in this project: check its id",
    "PANGU.3306": "the model is not offered to this account: check the model name",
    "PAP5.0001": "the user's identity policies do not allow the call: attach e.g. PanguInvokePolicy",
    "Organizations.SCPDenied": "a guardrail (SCP) denies the call: check guardrails and g:SourceVpce",
    "EndpointNotReady": "the VPC endpoint is not accepted yet: wait, then verify again",
}


def _judge(check_id: str, check: str, target: str, entry: str, credential: str,
           call: Callable[[], Answer]) -> CheckResult:
    start = time.monotonic()
    answer = call()
    if answer.status == 200:
        return CheckResult(check_id, check, target, entry, True, answer.text or "answered", 200, "",
                           credential,
                           _ms(start), answer.request_id)
    cause = _CAUSES.get(answer.code, answer.text or "no answer")
    return CheckResult(check_id, check, target, entry, False, f"{answer.status or 'no answer'} "
                       f"{answer.code}: {cause}", answer.status, answer.code, credential, _ms(start),
                       answer.request_id)


def _v2(clients: HuaweiClients, key: str, model: str, host: str | None) -> Answer:
    """A V2 chat completion with the ``openai`` client; "not valid yet" refusals are retried."""
    import openai

    headers = {"Host": host} if host else {}
    client = openai.OpenAI(api_key=key, base_url=clients.target.url("pangu") + "/api/v2", max_retries=1,
                           timeout=30, default_headers=headers)
    for attempt in range(ACTIVATION_TRIES):
        try:
            reply = client.chat.completions.create(model=model, messages=[{"role": "user",
                                                                           "content": PROMPT}],
                                                   max_tokens=8)
        except openai.APIStatusError as err:
            body = err.body if isinstance(err.body, dict) else {}
            code, message = str(body.get("error_code") or ""), str(body.get("error_msg") or "")
            if err.status_code == 401 and "not valid yet" in message and attempt + 1 < ACTIVATION_TRIES:
                time.sleep(ACTIVATION_WAIT_S)
                continue
            return Answer(err.status_code, code, message[:200].replace(key, fingerprint(key)))
        except openai.APIConnectionError as err:
            return Answer(None, "Unreachable", type(err).__name__)
        return Answer(200, text=f"answered: {(reply.choices[0].message.content or '')[:60]!r}")
    return Answer(None, "Unreachable")


def _v1(signer: HuaweiClients, deployment: str, host: str | None) -> Answer:
    path = f"/v1/{signer.project_id}/deployments/{deployment}/chat/completions"
    body = {"messages": [{"role": "user", "content": PROMPT}], "max_tokens": 8}
    response = signer.signed("pangu", "POST", path, body, host=host)
    if response.status_code != 200:
        return _error(response.status_code, response.text, response.headers.get("X-Request-Id", ""))
    content = (response.json().get("choices") or [{}])[0].get("message", {}).get("content", "")
    return Answer(200, text=f"answered: {str(content)[:60]!r}")


def _agent(signer: HuaweiClients, agent: str, host: str | None) -> Answer:
    """One agent-run conversation, read until ``done``: it must carry a non-empty ``summary_response``."""
    path = f"/v1/{signer.project_id}/agent-run/agents/{agent}/conversations/{uuid.uuid4()}"
    response = signer.signed("pangu", "POST", path, {"query": PROMPT}, headers={"stream": "true"}, host=host)
    if response.status_code != 200:
        return _error(response.status_code, response.text, response.headers.get("X-Request-Id", ""))
    events: list[dict[str, object]] = []
    for line in response.text.splitlines():
        if line.startswith("data:"):
            try:
                events.append(json.loads(line[5:]))
            except ValueError:
                continue
    kinds = [str(e.get("event", "")) for e in events]
    summary = next((str(e.get("content") or "") for e in events if e.get("event") == "summary_response"), "")
    if "done" not in kinds or not summary:
        return Answer(502, "AgentIncomplete",
                      f"the stream ended without {'done' if 'done' not in kinds else 'a summary_response'} "
                      f"({len(events)} events)")
    return Answer(200, text=f"{len(events)} events until done; summary {summary[:40]!r}")


def _error(status: int, text: str, request_id: str) -> Answer:
    try:
        body = json.loads(text)
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    return Answer(status, str(body.get("error_code") or ""), str(body.get("error_msg") or text[:200]),
                  request_id)

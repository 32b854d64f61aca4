"""Verify on Huawei Cloud: prove the delivered access works, with the delivered credentials.

Interface for the ``huawei`` branch (``provision verify`` on a ``cloud.provider: huaweicloud`` manifest)::

    keys = [DeliveredKey("alice", "users[0] (manifests/huawei.yaml:12)", Credential("access-key", AK, SK))]
    checks = [HuaweiVerifyCheck(entry="verify.checks[0] (manifests/huawei.yaml:40)", user="alice",
                                access_key=Credential("access-key", AK, SK), deployment_id=DEPLOYMENT,
                                denied_deployment_id=OTHER, api_key=Credential("api-key", KEY_ID, KEY,
                                workspace="agent-delivery", key_name="main"), model="pangu-nlp-n1-32k",
                                agent_id=AGENT, endpoints=("<id>.vpcep.cn-southwest-2.huaweicloud.com",))]
    report = run_verify(clients, checks, keys)      # a provision.checks.verify.VerifyReport
    report.passed, report.exit_code, render_table(report, ...)   # the Alibaba report, table and JSON

Per delivered AK/SK: STS ``get_caller_identity`` signed with it must name the IAM user. Per check: a Pangu
V1 chat completion signed with the user's AK/SK on the granted deployment; the refusal of a deployment the
user must not reach (grants are proven, not assumed); a V2 OpenAI-compatible completion with the API key
(``openai``), retried while the new key is not valid yet (``activation``, a :class:`PollPolicy`); an
agent-run conversation read until ``done`` with a non-empty ``summary_response``; and each call again
through every VPC endpoint domain. A failure's diagnosis says the cloud's code, its cause and what to do,
naming the manifest entry. No result holds a secret: credentials show as ids and fingerprints
(:attr:`Credential.label`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

from provision.checks.huawei.smoke import agent_run, caller, v1_chat, v2_chat
from provision.checks.results import CheckResult, Credential, Reply, VerifyReport
from provision.providers.common.policies import PollPolicy
from provision.providers.huawei.clients import HuaweiClients

CONFINED = "confined-"  # the kind prefix of a call a guardrail must refuse (made outside the VPC endpoint)
INVALID_KEY = "PANGU.0011"  # what Pangu answers a key it does not accept (yet): 401
REFUSED = {"PANGU.0011", "PAP5.0001", "Organizations.SCPDenied"}  # codes of a refused grant (401/403)


# How long verify waits for a new MaaS API key to become valid (the cloud: "a few minutes").
KEY_ACTIVATION = PollPolicy(interval_s=30.0, timeout_s=300.0)


@dataclass(frozen=True)
class DeliveredKey:
    """A delivered AK/SK: STS must name ``user`` when called with it."""

    user: str
    entry: str  # the manifest entry that declares the user: users[0] (manifests/huawei.yaml:12)
    credential: Credential  # kind access-key


@dataclass(frozen=True)
class HuaweiVerifyCheck:
    """One verify entry of a Huawei manifest; an unset field skips its call."""

    entry: str  # verify.checks[0] (manifests/huawei.yaml:40)
    user: str = ""  # the IAM user whose AK/SK signs the V1 and agent calls
    access_key: Credential | None = None  # kind access-key: the user's delivered AK/SK
    deployment_id: str | None = None  # V1: a deployment the user's workspace grants
    denied_deployment_id: str | None = None  # V1: a deployment the user must be refused
    api_key: Credential | None = None  # kind api-key: the MaaS key (workspace/key_name name it)
    model: str | None = None  # V2 model; else api_key.model
    agent_id: str | None = None
    endpoints: tuple[str, ...] = ()  # VPC endpoint domains: every call again through each
    confined: bool = False  # a guardrail admits Pangu calls only through the endpoints: direct ones refused


def run_verify(
    clients: HuaweiClients,
    checks: Sequence[HuaweiVerifyCheck],
    keys: Sequence[DeliveredKey] = (),
    *,
    activation: PollPolicy = KEY_ACTIVATION,
    workers: int = 8,
) -> VerifyReport:
    """Every check's results, in the order given (the keys first), the calls made concurrently."""
    jobs: list[Callable[[], CheckResult]] = [partial(access_key_result, clients, k) for k in keys]
    for check in checks:
        jobs.extend(_jobs(clients, check, activation))
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(jobs) or 1))) as pool:
        results = list(pool.map(lambda job: job(), jobs))
    return VerifyReport(tuple(results))


def access_key_result(clients: HuaweiClients, key: DeliveredKey) -> CheckResult:
    """STS with the delivered AK/SK must name its user."""
    start = time.monotonic()
    reply = caller(clients.for_key(key.credential.id, key.credential.secret))
    expected = f":user:{key.user}"
    passed = reply.ok and reply.text.endswith(expected)
    if passed:
        diagnosis = f"STS names {reply.text}"
    elif reply.ok:
        diagnosis = (
            f"STS names {reply.text}, not the IAM user {key.user}: the sink holds another identity's "
            "key; re-run provision apply to reconcile the keys"
        )
    else:
        diagnosis = diagnose(reply, "access-key", key.entry)
    return CheckResult(
        f"access-key/{key.user}/{key.credential.id}",
        "access-key",
        "STS get_caller_identity",
        key.entry,
        passed,
        diagnosis,
        reply.status,
        reply.code,
        key.credential.label,
        _ms(start),
        reply.request_id,
    )


def _jobs(
    clients: HuaweiClients, check: HuaweiVerifyCheck, activation: PollPolicy
) -> list[Callable[[], CheckResult]]:
    routes: tuple[str | None, ...] = (None, *check.endpoints)
    jobs: list[Callable[[], CheckResult]] = []
    user_clients = (
        clients.for_key(check.access_key.id, check.access_key.secret)
        if check.access_key is not None
        else None
    )
    for via in routes:
        must = CONFINED if via is None and check.confined else ""  # a guardrail refuses the direct calls
        if user_clients is not None and check.deployment_id:
            call = partial(v1_chat, user_clients, check.deployment_id, via)
            jobs.append(_job(check, f"{must}v1", via, check.deployment_id, check.access_key, call))
        if user_clients is not None and check.denied_deployment_id:
            call = partial(v1_chat, user_clients, check.denied_deployment_id, via)
            jobs.append(_job(check, "denied-v1", via, check.denied_deployment_id, check.access_key, call))
        model = check.model or (check.api_key.model if check.api_key else "")
        if check.api_key is not None and model:
            call = partial(
                _activated, partial(v2_chat, clients, check.api_key.secret, model, via), activation
            )
            jobs.append(_job(check, f"{must}v2", via, model, check.api_key, call))
        if user_clients is not None and check.agent_id:
            call = partial(_conversation, user_clients, check.agent_id, via)
            jobs.append(_job(check, f"{must}agent", via, check.agent_id, check.access_key, call))
    return jobs


def _conversation(clients: HuaweiClients, agent_id: str, via: str | None) -> Reply:
    return agent_run(clients, agent_id, f"verify-{uuid.uuid4().hex[:12]}", via=via)


def _activated(call: Callable[[], Reply], activation: PollPolicy) -> Reply:
    """A call with a new API key, repeated while Pangu does not accept the key yet."""
    deadline = time.monotonic() + activation.timeout_s
    reply = call()
    while reply.status == 401 and reply.code == INVALID_KEY and time.monotonic() < deadline:
        time.sleep(activation.interval_s)
        reply = call()
    return reply


def _job(
    check: HuaweiVerifyCheck,
    kind: str,
    via: str | None,
    subject: str,
    credential: Credential | None,
    call: Callable[[], Reply],
) -> Callable[[], CheckResult]:
    def run() -> CheckResult:
        start = time.monotonic()
        reply = call()
        passed, diagnosis = judge(kind, reply, check.entry)
        where = f"via {via}" if via else "direct"
        target = f"{_WHAT[kind.removeprefix(CONFINED)]} {subject} {where}" + (
            " (must be refused: a guardrail admits it only through the VPC endpoint)"
            if kind.startswith(CONFINED) else "")
        return CheckResult(
            f"{check.entry.split(' ', 1)[0]}.{kind}@{via or 'direct'}",
            kind,
            target,
            check.entry,
            passed,
            diagnosis,
            reply.status,
            reply.code,
            credential.label if credential else "",
            _ms(start),
            reply.request_id,
        )

    return run


_WHAT = {
    "v1": "Pangu V1 chat on deployment",
    "denied-v1": "Pangu V1 chat (must be refused) on deployment",
    "v2": "Pangu V2 chat with model",
    "agent": "agent-run conversation with agent",
}


def judge(kind: str, reply: Reply, entry: str) -> tuple[bool, str]:
    """Whether one call proves what it must, and the words for it."""
    if kind.startswith(CONFINED):
        if reply.status == 403 and reply.code in REFUSED:
            return True, f"refused outside the VPC endpoint (the guardrail): {reply.status} {reply.code}"
        if reply.ok:
            return False, (
                "the call succeeded without the VPC endpoint, so the guardrail's g:SourceVpce condition does "
                "not hold: check that the SCP is attached (provision plan) and names the endpoint's id"
            )
        return False, diagnose(reply, kind.removeprefix(CONFINED), entry)
    if kind.startswith("denied-"):
        if reply.status in (401, 403) and reply.code in REFUSED:
            return True, f"refused as it must be: {reply.status} {reply.code}"
        if reply.ok:
            return False, (
                f"the call succeeded, so the user holds a grant {entry} does not declare: remove the "
                "user from that deployment's workspace grants (or its IAM policy) and re-run verify"
            )
        return False, diagnose(reply, kind, entry)
    if reply.ok and reply.text.strip():
        extra = f" ({reply.chunks} events)" if reply.chunks else ""
        return True, f"answered{extra}: {reply.text.strip()[:60]}"
    if reply.ok:
        return False, f"answered 200 with no text: the model or agent returned nothing ({entry})"
    return False, diagnose(reply, kind, entry)


def diagnose(reply: Reply, kind: str, entry: str) -> str:
    """A failed call in words: the cloud's code, what it means and what to do, naming the manifest entry."""
    said = f"{reply.status} {reply.code}" if reply.status else reply.code
    cause, fix = _cause(reply, kind)
    detail = f" ({reply.message})" if reply.message else ""
    return f"{said}{detail}: {cause}; {fix} [{entry}]"


def _cause(reply: Reply, kind: str) -> tuple[str, str]:
    code, status = reply.code, reply.status
    if status is None:
        return (
            "no answer from the endpoint",
            "check the network and PROVISION_ENDPOINT; for a VPC endpoint, "
            "that its domain resolves inside the VPC",
        )
    if code == "APIG.0301":
        return (
            "the access key was refused (deleted, deactivated, wrong secret or its user disabled)",
            "run provision apply to reconcile the user's access keys, then verify again",
        )
    if code == "PAP5.0001":
        return (
            "the user's identity policies do not allow the call",
            "declare PanguInvokePolicy (or a policy allowing the action) under the user's policies and apply",
        )
    if code == "Organizations.SCPDenied":
        return (
            "a service control policy of the organization denies the call",
            "if a guardrail requires g:SourceVpce, call through the declared VPC endpoint; else review the "
            "guardrails",
        )
    if code == INVALID_KEY and status == 401:
        return (
            "Pangu does not accept the API key: a new key becomes valid a few minutes after creation, "
            "a deleted one never",
            "wait and re-run verify; if it persists, run provision plan and apply to recreate the key",
        )
    if code == INVALID_KEY:
        return (
            "the deployment's workspace does not grant the user",
            "declare the user among the workspace's members (its INTERNAL grants) and apply",
        )
    if status == 403 and kind == "v2":
        return (
            "the API key's ip_whitelist does not include this address",
            "add the caller's egress address (CIDR) to the key's ip_whitelist and apply",
        )
    if code == "PANGU.3254":
        return "the deployment does not exist in this project", "fix deployment_id (copy it from the console)"
    if code in ("PANGU.3306", "PANGU.3278"):
        return "the model is not offered to this account", "fix the model name (e.g. pangu-nlp-n1-32k)"
    if code == "EndpointNotFound":
        return "no VPC endpoint has that domain", "check the endpoint's enable_dns and its id in the manifest"
    if code == "EndpointNotReady":
        return "the VPC endpoint is not accepted yet", "wait for status accepted (provision plan shows it)"
    if code == "IncompleteStream":
        return "the agent's stream did not complete", "check the agent in the console and run verify again"
    if code in ("APIG.0308", "429"):
        return "the API is throttling the account", "run verify again later"
    return "the cloud refused the call", "see its message; run provision plan to compare with the manifest"


def _ms(start: float) -> int:
    return int((time.monotonic() - start) * 1000)

"""`provision verify`: prove that the delivered access works, with the credentials in the secrets sink.

Per manifest check: a chat completion (``openai``) and a native generation (``dashscope``) with the
workspace's API key on the manifest's site, the refusal of ``denied_model`` (grants are proven, not
assumed), the agent app's conversation (``verify_apps.py``), and the same calls through each
PrivateLink endpoint's live domain. Per delivered AccessKey: STS GetCallerIdentity must name its RAM user.
Results are typed; a failure carries a diagnosis naming the manifest entry (file:line) and what to do.
No result holds a secret: credentials show as ids and fingerprints.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from provision.checks.contexts import AlibabaContext
from provision.checks.results import CheckResult as CheckResult
from provision.checks.results import VerifyReport as VerifyReport
from provision.checks.revoke_proofs import access_key_proof, api_key_proof, captured
from provision.checks.smoke import Reply, chat, generation, host_of, via_endpoint
from provision.checks.verify_apps import APP_KINDS, Step, conversation
from provision.checks.verify_explain import MODEL_DENIED, Explain
from provision.checks.verify_facts import Call, Entries, LiveFacts
from provision.desired.kinds import Kind
from provision.desired.resources import MemberSpec
from provision.engine.flow import Prepared
from provision.manifest import Manifest
from provision.providers.alibaba import CallError, CloudTarget, DashScopeTarget
from provision.providers.alibaba.membership import Probe
from provision.state.secrets import SecretSink, fingerprint


def run_verify(prepared: Prepared, context: AlibabaContext, *, workers: int = 8) -> VerifyReport:
    """Run every smoke check of the manifest with the credentials in the sink; a failed check never raises."""
    verifier = _Verifier(prepared, context)
    manifest = prepared.manifest
    desired = prepared.desired
    revoked = desired.revoked()
    issued_to = {(ws.name, key.name): key.issued_to for ws in manifest.workspaces for key in ws.api_keys}
    # A check of a key issued to a revoked user would demand access the manifest takes away: it is shown
    # as skipped, with the reason; that key is proven refused by the user's own checks instead.
    jobs: list[Callable[[], list[CheckResult]]] = []
    for i, check in enumerate(manifest.verify.checks):
        holder = issued_to.get((check.workspace, check.api_key))
        jobs.append(partial(verifier.api_key_checks, i) if holder not in revoked else
                    partial(verifier.skipped_check, i, holder or "", revoked[holder or ""]))
    jobs += [partial(verifier.access_key_checks, i) for i, user in enumerate(manifest.users)
             if user.name not in revoked]
    jobs += [partial(verifier.revoked_checks, i) for i, user in enumerate(manifest.users)
             if user.name in revoked]
    jobs += [partial(verifier.member_check, spec) for spec in desired.present if isinstance(spec, MemberSpec)]
    jobs += [partial(verifier.skipped_member, spec, revoked.get(spec.user, "")) for spec in desired.withheld
             if isinstance(spec, MemberSpec)]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        groups = list(pool.map(lambda job: job(), jobs))
    return VerifyReport(tuple(result for group in groups for result in group))


def site_target(target: CloudTarget, manifest: Manifest) -> DashScopeTarget:
    """Where model calls go: the site's DashScope host, else ``cloud.endpoints.dashscope`` (no emulator)."""
    override = manifest.cloud.endpoints.dashscope
    if override and not target.emulator_url:
        return DashScopeTarget(base_url=(override if "://" in override else f"https://{override}").rstrip("/"))
    return target.dashscope()


def _ms(start: float) -> int:
    return round((time.perf_counter() - start) * 1000)


def _one_line(text: str) -> str:
    return "; ".join(part.strip() for part in text.splitlines() if part.strip())


class _Verifier:
    """The checks of one manifest against one account, sharing what they read of it."""

    def __init__(self, prepared: Prepared, context: AlibabaContext) -> None:
        self.manifest = prepared.manifest
        self.context = context
        self.sink = context.sink
        self.live = LiveFacts(context, prepared.desired)
        self.entries = Entries(prepared.manifest)
        self.explain = Explain(self.entries, self.live, prepared.manifest.cloud.site,
                               emulator=context.target.emulator_url is not None,
                               args=prepared.source.command_args())
        self.site = site_target(context.target, prepared.manifest)

    # -- verify.checks ---------------------------------------------------------------------------------
    def api_key_checks(self, index: int) -> list[CheckResult]:
        """The calls of ``verify.checks[index]``: on the site, then through each endpoint."""
        check = self.manifest.verify.checks[index]
        w, k = self.entries.api_key(check.workspace, check.api_key)
        issued_to = self.manifest.workspaces[w].api_keys[k].issued_to
        account = SecretSink.api_key_account(check.workspace, issued_to)
        entry = self.entries.at("verify", "checks", index)
        held = self.sink.api_key(account, check.workspace, check.api_key)
        if held is None:
            return [CheckResult(
                id=f"verify.checks[{index}].api-key", check="api-key", entry=entry, passed=False,
                target=f"{check.workspace}/{check.api_key}",
                diagnosis=self.explain.missing_api_key(index, account, self.sink.directory))]
        key_id, value = held
        results = self._calls(index, key_id, value, self.site, None, entry)
        for j, name in enumerate(check.via_endpoints):
            via_entry = self.entries.at("verify", "checks", index, "via_endpoints", j)
            gate, target = self._endpoint(index, name, via_entry)
            results.append(gate)
            if target is not None:
                results += self._calls(index, key_id, value, target, name, via_entry)
        return results

    def _calls(self, index: int, key_id: str, value: str, target: DashScopeTarget, endpoint: str | None,
               entry: str) -> list[CheckResult]:
        check = self.manifest.verify.checks[index]
        planned: list[tuple[str, Callable[[DashScopeTarget, str, str], Reply], str]] = [
            ("chat", chat, check.model), ("generation", generation, check.model)]
        if check.denied_model and endpoint is None:  # grants are the workspace's: proven once, on the site
            planned += [("denied-chat", chat, check.denied_model),
                        ("denied-generation", generation, check.denied_model)]
        credential = f"api key {key_id} ({fingerprint(value)})"
        results = []
        for kind, send, subject in planned:
            call = Call(index, check, kind, subject, key_id, target, endpoint)
            start = time.perf_counter()
            reply = send(target, value, subject)
            results.append(self._judge(call, reply, entry, credential, _ms(start)))
        if check.app_id:  # the agent app's conversation (verify_apps.py)
            for step in conversation(target, value, check):
                call = Call(index, check, step.kind, check.app_id, key_id, target, endpoint)
                results.append(self._judge(call, step.reply, entry, credential, step.duration_ms, step))
        return results

    def _judge(self, call: Call, reply: Reply, entry: str, credential: str, duration_ms: int,
               step: Step | None = None) -> CheckResult:
        if call.denied:
            passed = reply.status == 403 and reply.code in MODEL_DENIED
            diagnosis = (f"refused with 403 {reply.code}, as expected" if passed else
                         self.explain.answered_denied(call) if reply.ok else self.explain.reply(call, reply))
        elif step is not None:  # an agent-app step, judged by the conversation
            passed = step.passed
            diagnosis = step.seen if passed or reply.ok else self.explain.app_failure(call, reply)
        else:
            passed = reply.ok
            diagnosis = f"answered {reply.text!r}" if passed else self.explain.reply(call, reply)
        what = f"app {call.subject}" if call.kind in APP_KINDS else call.subject
        via = f"@{call.endpoint}" if call.endpoint else ""
        return CheckResult(
            id=f"verify.checks[{call.index}].{call.kind}{via}", check=call.kind,
            target=f"{what} with {call.check.workspace}/{call.check.api_key} on {host_of(call.target)}",
            entry=entry, passed=passed, diagnosis=diagnosis, status=reply.status, code=reply.code,
            credential=credential, duration_ms=duration_ms, request_id=reply.request_id)

    def _endpoint(self, index: int, name: str, entry: str) -> tuple[CheckResult, DashScopeTarget | None]:
        """The endpoint's live state (it must be Active/Connected) and, when usable, the target through it."""
        start = time.perf_counter()
        result = partial(CheckResult, id=f"verify.checks[{index}].endpoint@{name}", check="endpoint",
                         entry=entry)
        try:
            live = self.live.endpoint(name)
        except CallError as err:
            return result(target=name, passed=False, diagnosis=_one_line(str(err)), status=err.status,
                          code=err.code, duration_ms=_ms(start)), None
        problem = self.explain.endpoint(name, live)
        if live is None or problem is not None or not live.domain:
            return result(target=name, passed=False, diagnosis=problem or "", code=live.status or "" if live
                          else "NotFound", duration_ms=_ms(start)), None
        passed = result(target=f"{name} ({live.domain})", passed=True, duration_ms=_ms(start),
                        diagnosis=f"{live.status}/{live.connection_status}")
        return passed, via_endpoint(self.site, live.domain)

    # -- AccessKeys ------------------------------------------------------------------------------------
    def access_key_checks(self, index: int) -> list[CheckResult]:
        """GetCallerIdentity with each AccessKey the sink holds for ``users[index]``; all declared held."""
        user = self.manifest.users[index]
        entry = self.entries.at("users", index, "access_keys")
        held = sorted(self.sink.access_keys(user.name).items())
        results = [self._identity(user.name, key_id, secret, entry) for key_id, secret in held]
        if len(held) < user.access_keys:
            missing = self.explain.missing_access_keys(user.name, len(held), user.access_keys)
            results.append(CheckResult(id=f"access-key/{user.name}/missing", check="access-key",
                                       target=user.name, entry=entry, passed=False, diagnosis=missing))
        return results

    def _identity(self, user: str, key_id: str, secret: str, entry: str) -> CheckResult:
        start = time.perf_counter()
        result = partial(CheckResult, id=f"access-key/{user}/{key_id}", check="access-key",
                         target=f"GetCallerIdentity as {user}", entry=entry,
                         credential=f"{key_id} (secret {fingerprint(secret)})")
        try:
            arn = self.live.caller_arn(key_id, secret, f"{Kind.ACCESS_KEYS}/{user}")
        except CallError as err:
            return result(passed=False, diagnosis=self.explain.access_key(user, key_id, err),
                          status=err.status, code=err.code, duration_ms=_ms(start))
        passed = arn.lower().endswith(f":user/{user.lower()}")
        diagnosis = f"authenticates as {arn}" if passed else self.explain.wrong_identity(user, key_id, arn)
        return result(passed=passed, diagnosis=diagnosis, status=200, duration_ms=_ms(start))

    # -- expired and absent users ---------------------------------------------------------------------
    def revoked_checks(self, index: int) -> list[CheckResult]:
        """Every credential the sink still holds for ``users[index]`` (expired, or declared absent) must be
        refused: STS GetCallerIdentity for an AccessKey, a chat completion (401) for an API key."""
        user = self.manifest.users[index]
        entry = self.entries.at("users", index, "state" if user.state == "absent" else "expires_at")
        held = [c for c in captured(self.manifest, self.sink, user.name) if c.kind != "console-password"]
        if not held:
            return [CheckResult(id=f"revoked/{user.name}", check="revoked", target=user.name, entry=entry,
                                passed=True, diagnosis=f"the secrets sink holds no key of {user.name}")]
        results = []
        for credential in held:
            start = time.perf_counter()
            proof = (access_key_proof(self.live, user.name, credential) if credential.kind == "access-key"
                     else api_key_proof(self.site, credential))
            # an API key that gets any answer but 401 (or a server error) authenticated
            working = proof.status == 200 or (credential.kind == "api-key" and proof.status is not None
                                              and proof.status < 500)
            results.append(CheckResult(
                id=f"revoked/{user.name}/{proof.id}", check="revoked", target=proof.claim, entry=entry,
                passed=proof.holds,
                diagnosis=self.explain.revoked(user.state == "absent", proof.holds, working, proof.observed),
                status=proof.status, code=proof.code, credential=proof.credential, duration_ms=_ms(start)))
        return results

    # -- skipped: access the manifest takes away ------------------------------------------------------
    def skipped_check(self, index: int, user: str, why: str) -> list[CheckResult]:
        """``verify.checks[index]`` names a key issued to a revoked user: not run, and said."""
        check = self.manifest.verify.checks[index]
        entry = self.entries.at("verify", "checks", index)
        return [CheckResult(id=f"verify.checks[{index}]", check="skipped", skipped=True, passed=False,
                            target=f"{check.workspace}/{check.api_key}", entry=entry,
                            diagnosis=f"skipped: {why}; the key must be refused instead (revoked/{user})")]

    def skipped_member(self, spec: MemberSpec, why: str) -> list[CheckResult]:
        """A declared membership of an expired user: not probed; its removal is a console step."""
        w, m = self.entries.member(spec.workspace, spec.user)
        return [CheckResult(id=f"member/{spec.workspace}/{spec.user}", check="skipped", skipped=True,
                            passed=False, target=f"{spec.user} in {spec.workspace} as {spec.role}",
                            entry=self.entries.at("workspaces", w, "members", m),
                            diagnosis=f"skipped: {why}; remove the membership in the console (see plan)")]

    # -- members ---------------------------------------------------------------------------------------
    def member_check(self, spec: MemberSpec) -> list[CheckResult]:
        """The membership probe with the member's own AccessKey (with no key to probe: a confirmation)."""
        start = time.perf_counter()
        w, m = self.entries.member(spec.workspace, spec.user)
        declared_keys = self.manifest.users[self.entries.user(spec.user)].access_keys
        keys = sorted(self.sink.access_keys(spec.user))
        result = partial(CheckResult, id=f"member/{spec.workspace}/{spec.user}", check="member",
                         target=f"{spec.user} in {spec.workspace} as {spec.role}",
                         entry=self.entries.at("workspaces", w, "members", m),
                         credential=keys[0] if keys else "")
        confirmation = self.context.state.confirmation(spec.workspace, spec.user)
        if not keys and declared_keys == 0 and confirmation is not None:
            c = confirmation
            return [result(passed=True, duration_ms=_ms(start), diagnosis=f"confirmed as {c.role} by "
                           f"{c.confirmed_by} at {c.confirmed_at} (no AccessKey to probe with)")]
        if not keys and declared_keys:
            return [result(passed=False, duration_ms=_ms(start),
                           diagnosis=self.explain.missing_access_keys(spec.user, 0, declared_keys))]
        try:
            probe = self.live.probe(spec.workspace, spec.user)
        except CallError as err:
            return [result(passed=False, diagnosis=_one_line(str(err)), status=err.status, code=err.code,
                           duration_ms=_ms(start))]
        passed = probe.outcome is Probe.MEMBER
        diagnosis = (f"{probe.reason} (the probe cannot tell guest from admin)" if passed else
                     self.explain.member(spec, probe, declared_keys))
        return [result(passed=passed, diagnosis=diagnosis, code=probe.code, duration_ms=_ms(start))]

"""Why a verify check failed, in words a user can act on (:class:`Explain`): what is wrong, which manifest
entry (file:line), what to do; and the cloud codes and site hosts those diagnoses are judged by.
"""

from __future__ import annotations

from pathlib import Path

from provision.checks.smoke import Reply, host_of
from provision.checks.verify_apps import APP_KINDS, PARAMS
from provision.checks.verify_facts import Call, Entries, LiveFacts
from provision.desired.resources import ALL_MODELS, EndpointSpec, MemberSpec
from provision.manifest.schema_base import SUPER_ADMIN_POLICY
from provision.plan.checklist import MANIFEST_PLACEHOLDER, manual_step
from provision.plan.diff import ROTATE_FLAG, Action, Change
from provision.providers.alibaba import CallError
from provision.providers.alibaba.membership import Probe, ProbeResult

# 403 codes meaning "model not granted / not allowed": native, and the OpenAI-compatible spelling some
# documentation pages give [UNVERIFIED: the OpenAI-mode code varies between pages, reference §9].
MODEL_DENIED = frozenset({"Model.AccessDenied", "access_denied"})
# A call opens a session as the key's owner; AliyunBailianDataReadOnlyAccess does not allow it
# (bailian-sub-workspace-model-calls, error table: "AliyunBailianDataReadOnlyAccess 不可以").
SESSION_ACTION = "sfm:CreateSession"
DATA_FULL_ACCESS = "AliyunBailianDataFullAccess"
APP_NOT_PUBLISHED = "App.NotPublished"  # [UNVERIFIED: the emulator's code; the document names none]


def model_missing(reply: Reply) -> bool:
    """A wrong model name: 404 ``model_not_found`` (OpenAI-compatible) or 400 ``InvalidParameter``
    "Model not exist." (native), as bailian-sub-workspace-model-calls' error table gives them."""
    native = reply.status == 400 and reply.code == "InvalidParameter"
    return reply.code in ("model_not_found", "ModelNotFound") or (
        native and "model not exist" in reply.message.lower())


_DATA_POLICIES = ("AliyunBailianDataReadOnlyAccess", DATA_FULL_ACCESS, SUPER_ADMIN_POLICY)
# The DashScope host of each site (reference §9); a Model Studio region belongs to one site.
SITE_HOSTS: dict[str, str] = {"public": "dashscope.aliyuncs.com", "finance": "dashscope-finance.aliyuncs.com",
                              "international": "dashscope-intl.aliyuncs.com"}


def region_site(region: str) -> str:
    """The DashScope site that serves a Model Studio region: public (China), finance or international."""
    if "finance" in region:
        return "finance"
    return "public" if region.startswith("cn-") and region != "cn-hongkong" else "international"


class Explain:
    """Diagnoses: what is wrong, the manifest entry involved (file:line), and what to do about it."""

    def __init__(self, entries: Entries, live: LiveFacts, site: str, emulator: bool = False,
                 args: str = "") -> None:
        self.entries = entries
        self.manifest = entries.manifest
        self.live = live
        self.site = site
        self.emulator = emulator  # PROVISION_ENDPOINT is set: every call goes to one emulator
        # how printed commands name the manifest, its variables and the dirs (``Source.command_args``)
        self.args = args or self.manifest.source_file or MANIFEST_PLACEHOLDER
        self.apply = f"`provision apply -m {self.args}`"
        # apply leaves a key whose secret the sink lacks in place unless told to rotate it
        self.rotate = f"`provision apply -m {self.args} {ROTATE_FLAG}`"

    # -- model and app calls -------------------------------------------------------------------------
    def reply(self, call: Call, reply: Reply) -> str:
        """Why a model or app call failed."""
        at = self.entries.at
        w, k = self.entries.api_key(call.check.workspace, call.check.api_key)
        if reply.status is None:
            return self._unreachable(call, reply)
        if reply.code in ("EndpointNotFound", "EndpointNotReady") and call.endpoint:
            return (f"endpoint {call.endpoint} ({at('endpoints', self.entries.endpoint(call.endpoint))}) "
                    f"answered {reply.code}: {reply.message} `provision plan` shows its state; {self.apply} "
                    "recreates a missing endpoint")
        app = call.kind in APP_KINDS
        if reply.status == 401:
            return self._invalid_key(call, w, k)
        if reply.code == "NoPermission" and SESSION_ACTION in reply.message:
            return self._no_session_permission(call, w, k)
        if reply.code in MODEL_DENIED:
            return self._model_denied(call, w, k)
        if reply.code == "Workspace.AccessDenied" and app:
            return (f"agent app {call.subject} belongs to another workspace than {call.check.workspace}: "
                    f"name an app of that workspace in {at('verify', 'checks', call.index, 'app_id')}")
        if reply.code == APP_NOT_PUBLISHED and app:
            return (f"agent app {call.subject} ({at('verify', 'checks', call.index, 'app_id')}) is not "
                    "published: publish it in the Model Studio console (Applications), then re-run verify")
        if reply.code == "AccessDenied":
            return (f"this machine's address is outside the key's IP allow list: add it to "
                    f"{at('workspaces', w, 'api_keys', k, 'ip_allow_list')} and run {self.apply}")
        if reply.status == 404 or model_missing(reply):
            return self._not_found(call, reply, w)
        if reply.status == 400 and call.kind == "app-params":
            named = next((p for p in PARAMS if p in reply.message), None)
            where = (at("verify", "checks", call.index, named) if named
                     else at("verify", "checks", call.index))
            return (f"agent app {call.subject} refused the declared parameters ({reply.code}: "
                    f"{reply.message}): fix {where} to what the published app defines")
        if reply.status == 429:
            return f"throttled ({reply.code}): the rate limit or free quota of {call.subject} is used up"
        return f"HTTP {reply.status} {reply.code}: {reply.message}"

    def app_failure(self, call: Call, reply: Reply) -> str:
        """Why an agent-app call failed, with what the cloud said (code, message, request id)."""
        said = "; ".join(part for part in (f"{reply.code}: {reply.message}" if reply.code else reply.message,
                                           f"request_id {reply.request_id}" if reply.request_id else "")
                         if part)
        return f"{self.reply(call, reply)} [{said}]" if said else self.reply(call, reply)

    def _no_session_permission(self, call: Call, w: int, k: int) -> str:
        """NoPermission on sfm:CreateSession: the key's owner lacks AliyunBailianDataFullAccess."""
        ws, key = call.check.workspace, call.check.api_key
        holder = self.manifest.workspaces[w].api_keys[k].issued_to
        declared = (f"; if {holder} created it, add {DATA_FULL_ACCESS} to "
                    f"{self.entries.at('users', self.entries.user(holder), 'policies', 'system')} and run "
                    f"{self.apply}" if holder else "")
        return (f"the RAM user who owns API key {ws}/{key} may not open a session (NoPermission on "
                f"{SESSION_ACTION}): attach {DATA_FULL_ACCESS} to the identity that created the key "
                f"(AliyunBailianDataReadOnlyAccess is not enough){declared}")

    def answered_denied(self, call: Call) -> str:
        """Why a model the check expects to be refused answered."""
        model, ws = call.subject, call.check.workspace
        try:
            grants = self.live.grants(ws)
        except CallError:
            grants = set()
        if ALL_MODELS in grants:
            why = f"workspace {ws} has every model granted (one-click authorization)"
        elif model in grants:
            why = f"{model} is granted to workspace {ws} in the account, though the manifest does not say so"
        else:
            why = f"the key can call {model} though the account shows no grant of it"
        return (f"{model} answered, but {self.entries.at('verify', 'checks', call.index, 'denied_model')} "
                f"expects a refusal: {why}; `provision plan` shows the drift, {self.apply} revokes it")

    def _unreachable(self, call: Call, reply: Reply) -> str:
        host = host_of(call.target)
        if call.endpoint:
            vpc = self.manifest.endpoints[self.entries.endpoint(call.endpoint)].vpc_id
            return (f"could not connect to {host} ({reply.message}): an endpoint domain resolves only "
                    f"inside its VPC ({vpc}); run verify from a machine in that VPC")
        return (f"could not connect to {host} ({reply.message}): check the network, proxies, "
                f"{self.entries.at('cloud', 'endpoints', 'dashscope')} and PROVISION_ENDPOINT")

    def _invalid_key(self, call: Call, w: int, k: int) -> str:
        ws, key = call.check.workspace, call.check.api_key
        where = (f"through endpoint {call.endpoint} ({host_of(call.target)})" if call.endpoint
                 else f"on the {self.site} site ({host_of(call.target)})")
        try:
            found = self.live.workspace(ws)
            live_key = self.live.api_key(ws, key)
        except CallError as err:
            return f"API key {ws}/{key} was refused {where}; the account could not be read: {err.code}"
        if found is None:
            return f"API key {ws}/{key} was refused {where}: workspace {ws} does not exist; run {self.apply}"
        ws_site = region_site(str(found.region or ""))
        if ws_site != self.site and self.emulator:
            region = self.manifest.cloud.region
            return (f"wrong region in the emulator: workspace {ws} is in {found.region} (the {ws_site} "
                    f"site), but {self.entries.at('cloud', 'site')} is {self.site}. Model Studio calls "
                    "carry no region, so the emulator places every workspace in its default region: start "
                    f"it with `provision emulator serve --region {region}`, then apply again")
        if ws_site != self.site:
            return (f"wrong site: the key was called {where}, but workspace {ws} is on the {ws_site} site "
                    f"(region {found.region}, {SITE_HOSTS[ws_site]}): set {self.entries.at('cloud', 'site')} "
                    f"to the workspace's site, or use a key of a workspace on the {self.site} site")
        entry = self.entries.at("workspaces", w, "api_keys", k)
        if live_key is None:
            return (f"API key {ws}/{key} ({entry}) no longer exists in the account: run {self.apply}, which "
                    "creates it and puts its value in the secrets sink")
        if live_key.api_key_id != call.key_id:
            return (f"the secrets sink holds API key id {call.key_id}, but {ws}/{key} is id "
                    f"{live_key.api_key_id} in the account: run {self.rotate}, which rotates it into the "
                    "sink")
        if live_key.disabled:
            if self.manifest.workspaces[w].api_keys[k].disabled:
                return f"API key {ws}/{key} is disabled, as {entry} declares: a disabled key cannot pass"
            return (f"API key {ws}/{key} is disabled in the account, though {entry} declares it enabled: "
                    f"run {self.apply} to enable it")
        return (f"API key {ws}/{key} is enabled, yet the value in the secrets sink is refused {where} (reset "
                "outside provision?): remove its DASHSCOPE_API_KEY_* lines from the sink and run "
                f"{self.rotate}")

    def _model_denied(self, call: Call, w: int, k: int) -> str:
        model, ws = call.subject, call.check.workspace
        workspace = self.manifest.workspaces[w]
        models_entry = self.entries.at("workspaces", w, "models")
        allowed_entry = self.entries.at("workspaces", w, "api_keys", k, "allowed_models")
        allowed = workspace.api_keys[k].allowed_models
        if workspace.models != "all" and model not in workspace.models:
            return (f"model {model} is not granted to workspace {ws}: add it to {models_entry}, run "
                    f"{self.apply}")
        if allowed and model not in allowed:
            return (f"model {model} is outside the key's allowed models: add it to {allowed_entry}, "
                    f"{self.apply}")
        try:
            grants = self.live.grants(ws)
            live_key = self.live.api_key(ws, call.check.api_key)
        except CallError as err:
            return f"model {model} was refused; reading the account to tell why failed: {err.code}"
        if model not in grants and ALL_MODELS not in grants:
            return (f"model {model} is not granted to workspace {ws} in the account, though {models_entry} "
                    f"declares it (revoked outside provision?): run {self.apply} to grant it again")
        if live_key is not None and live_key.allowed_models and model not in live_key.allowed_models:
            return (f"the key's allowed models in the account ({', '.join(live_key.allowed_models)}) leave "
                    f"out {model}, unlike {allowed_entry}: run {self.apply} to update the key")
        return (f"model {model} is granted to workspace {ws} and allowed for the key, yet refused: the "
                "account may have to activate the model first (Model Studio console → Models)")

    def _not_found(self, call: Call, reply: Reply, w: int) -> str:
        at = self.entries.at
        if call.kind in APP_KINDS:
            return (f"agent app {call.subject} does not exist in the account ({reply.code}): fix "
                    f"{at('verify', 'checks', call.index, 'app_id')}")
        if call.denied:
            return (f"denied_model {call.subject} does not exist ({reply.code}): refusing an unknown model "
                    f"proves nothing; name a real, ungranted model in "
                    f"{at('verify', 'checks', call.index, 'denied_model')}")
        return (f"model {call.subject} does not exist on the {self.site} site ({reply.code}): fix the model "
                f"name in {at('verify', 'checks', call.index, 'model')} and {at('workspaces', w, 'models')}")

    def endpoint(self, name: str, live: EndpointSpec | None) -> str | None:
        """Why calls cannot go through the endpoint, or None when it is Active and Connected."""
        entry = self.entries.at("endpoints", self.entries.endpoint(name))
        if live is None:
            return f"endpoint {name} ({entry}) does not exist in the account: run {self.apply} to create it"
        if live.status != "Active" or live.connection_status != "Connected" or not live.domain:
            return (f"endpoint {name} ({entry}) is {live.status}/{live.connection_status}, not "
                    "Active/Connected: a new or changing endpoint takes minutes; re-run verify when Active")
        return None

    def missing_api_key(self, index: int, account: str, sink: Path) -> str:
        """The sink lacks the value of a check's API key."""
        check = self.manifest.verify.checks[index]
        return (f"the secrets sink ({sink}, account {account}) holds no value for API key "
                f"{check.workspace}/{check.api_key}: run {self.rotate}, which rotates a key whose value is "
                "lost")

    def revoked(self, absent: bool, holds: bool, working: bool, observed: str) -> str:
        """The verdict on a credential of an expired (or absent) user, which must be refused."""
        if holds:
            return f"refused, as it must be: {observed}"
        if not working:
            return f"could not prove the key refused: {observed}"
        who, fix = ("account declared absent", f"provision apply -m {self.args} --allow-destroy") if absent \
            else ("expired account", f"provision apply -m {self.args}")
        return f"{who} still has a working key: run {fix} (or revoke); {observed}"

    # -- AccessKeys and members ----------------------------------------------------------------------
    def access_key(self, user: str, access_key_id: str, err: CallError) -> str:
        """Why an AccessKey from the sink does not authenticate."""
        entry = self.entries.at("users", self.entries.user(user), "access_keys")
        if err.code == "InvalidAccessKeyId.NotFound":
            return (f"AccessKey {access_key_id} of {user} no longer exists (deleted outside provision?): "
                    f"run {self.apply}, which creates a replacement for {entry} and drops the dead key from "
                    f"the secrets sink ({user}.env)")
        if err.code == "InvalidAccessKeyId.Inactive":
            return (f"AccessKey {access_key_id} of {user} is disabled: enable it in the RAM console, or "
                    f"delete it and run {self.apply} for a new one ({entry})")
        if err.code == "SignatureDoesNotMatch":
            return (f"the secret the sink holds for AccessKey {access_key_id} of {user} is wrong (edited or "
                    f"stale): delete the key in RAM and run {self.apply}, which creates a new one ({entry})")
        return f"GetCallerIdentity failed with {err.code}: {err.cloud_message} {err.hint}".strip()

    def wrong_identity(self, user: str, access_key_id: str, arn: str) -> str:
        return (f"AccessKey {access_key_id} signs as {arn}, not as RAM user {user}: the sink file "
                f"{user}.env holds another identity's key; remove its lines and run {self.rotate}")

    def missing_access_keys(self, user: str, held: int, declared: int) -> str:
        entry = self.entries.at("users", self.entries.user(user), "access_keys")
        return (f"the secrets sink holds {held} of the {declared} AccessKey secret(s) that {entry} declares "
                f"for {user}: run {self.rotate}, which rotates a key whose secret is lost")

    def member(self, spec: MemberSpec, result: ProbeResult, declared_keys: int) -> str:
        """Why a declared member is not proven by the probe."""
        w, m = self.entries.member(spec.workspace, spec.user)
        entry = self.entries.at("workspaces", w, "members", m)
        if result.outcome is Probe.NOT_MEMBER:
            return (f"{spec.user} is not a member of workspace {spec.workspace} ({result.code}), though "
                    f"{entry} declares it: add it as {spec.role} in the Model Studio console (`provision "
                    f"membership checklist -m {self.args}` lists the step), then re-run verify")
        if result.code.startswith("NoPermission"):
            return self._no_data_policy(spec.user)
        if result.code:
            return f"the probe could not run: {spec.user}'s AccessKey failed with {result.code} (see its row)"
        if declared_keys == 0:
            step = manual_step(Change(spec.key, Action.MANUAL, "verify", desired=spec), None, self.args)
            return (f"{spec.user} has no AccessKey to probe with: after the console step, record it with "
                    f"`{step.confirm}` ({entry})")
        return f"the probe could not run: {result.reason}"

    def _no_data_policy(self, user: str) -> str:
        declared = self.manifest.users[self.entries.user(user)]
        entry = self.entries.at("users", self.entries.user(user), "policies", "system")
        held = [p for p in _DATA_POLICIES if p in declared.policies.system]
        if declared.super_admin is not None:
            held.append(SUPER_ADMIN_POLICY)
        if held:
            return (f"{user} may not call sfm:ListPublishedAgent (NoPermission), though {entry} declares "
                    f"{held[0]}: it was detached outside provision; run {self.apply} to attach it again")
        return (f"{user} may not call sfm:ListPublishedAgent (NoPermission): a Model Studio data policy is "
                f"missing; add AliyunBailianDataReadOnlyAccess to {entry} and run {self.apply}")

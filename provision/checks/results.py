"""What verify and revoke report, on either cloud: a smoke call's :class:`Reply`, a verified fact
(:class:`CheckResult`, :class:`VerifyReport`), an old credential captured before revoking
(:class:`Credential`) and a proof that access is gone (:class:`Proof`). Cloud-neutral: each cloud's checks
build these; nothing here calls a cloud. None of them holds a secret.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from provision.errors import EXIT_ERROR, EXIT_OK
from provision.state.secrets import fingerprint

PROMPT = "ping"
_API_KEY = re.compile(r"sk-[A-Za-z0-9]{6,}")


@dataclass(frozen=True)
class Reply:
    """What one smoke call got back; ``status`` None means no HTTP answer at all. Never holds a key."""

    status: int | None
    code: str = ""
    message: str = ""
    text: str = ""
    request_id: str = ""  # the cloud's id of the request (native calls), for a support ticket
    session_id: str = ""  # agent apps: the conversation the answer belongs to
    chunks: int = 0  # streamed calls: how many events the answer came in

    @property
    def ok(self) -> bool:
        return self.status == 200


def masked(text: str, key: str) -> str:
    """A cloud message with the API key (or anything shaped like one) replaced by a fingerprint."""
    return _API_KEY.sub("sk-***", text.replace(key, fingerprint(key))) if key else text


@dataclass(frozen=True)
class CheckResult:
    """One verified fact: passed, or failed with a diagnosis a user can act on. Never holds a secret."""

    id: str  # unique, stable: verify.checks[0].chat@dashscope-bj, access-key/alice/LTAI…, member/ws/alice
    check: str  # chat, generation, denied-*, app (and app-*), endpoint, api-key, access-key, member
    target: str  # what was called, with what, where
    entry: str  # the manifest entry it comes from: verify.checks[0] (manifests/example.yaml:62)
    passed: bool
    diagnosis: str  # passed: what was seen; failed: what is wrong and what to do
    status: int | None = None  # HTTP status of the call (None: no answer, or no call made)
    code: str = ""  # the cloud's error code
    credential: str = ""  # which credential: its id and a fingerprint of the secret
    duration_ms: int = 0
    request_id: str = ""  # the cloud's id of the failed (or answered) request, when it gives one
    skipped: bool = False  # not run: the manifest takes this access away (diagnosis says why)


@dataclass(frozen=True)
class VerifyReport:
    """Every check's result, in the manifest's order."""

    results: tuple[CheckResult, ...]

    @property
    def passed(self) -> bool:
        return all(r.passed or r.skipped for r in self.results)

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.passed else EXIT_ERROR

    def to_list(self) -> list[dict[str, Any]]:
        """The ``--json`` output: one object per result."""
        return [asdict(r) for r in self.results]

    def summary(self) -> str:
        if not self.results:
            return "verify: the manifest declares nothing to verify"
        skipped = sum(r.skipped for r in self.results)
        failed = sum(not r.passed and not r.skipped for r in self.results)
        counts = f"verify: {len(self.results) - failed - skipped} passed, {failed} failed"
        return counts + (f", {skipped} skipped" if skipped else "")


@dataclass(frozen=True)
class Credential:
    """An old credential taken from the secrets sink before revoking. ``secret`` is never shown."""

    kind: str  # access-key | api-key | console-password
    id: str  # AccessKeyId, API key id ("" for a console password)
    secret: str = field(repr=False)
    workspace: str = ""  # api-key only
    key_name: str = ""  # api-key only
    model: str = ""  # api-key only: the model its proof asks for

    @property
    def label(self) -> str:
        """How outputs name it: id (or workspace/key) and the fingerprint of the secret."""
        what = {"access-key": f"AccessKey {self.id}", "api-key": f"API key {self.workspace}/{self.key_name} "
                f"({self.id})"}.get(self.kind, "console password")
        return f"{what}, secret {fingerprint(self.secret)}"

    def to_dict(self) -> dict[str, str]:
        """The record's form: kind, ids and fingerprint only."""
        data = {"kind": self.kind, "id": self.id, "fingerprint": fingerprint(self.secret)}
        if self.kind == "api-key":
            data.update(workspace=self.workspace, key=self.key_name)
        return data


@dataclass(frozen=True)
class Proof:
    """One fact that shows the access is gone, with what the cloud answered."""

    id: str  # stable: access-key/LTAI…, api-key/ws/main, login-profile, policies, …
    claim: str  # what must hold
    holds: bool
    observed: str  # what was seen
    status: int | None = None  # HTTP status of the proof call, when one was made with an old credential
    code: str = ""  # the cloud's error code
    credential: str = ""  # Credential.label, for proofs made with an old credential

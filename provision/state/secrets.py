"""The secrets sink: every secret the cloud returns once is written here first, atomically, never printed.

Layout: a ``0700`` directory with one ``0600`` env file per account (``<account>.env``), usable
as-is by delivery staff (``set -a; . alice.env; set +a``): every value is single-quoted, so passwords
full of shell metacharacters load verbatim. An account is a RAM user name, or ``workspace-<name>`` for
API keys issued to nobody in particular. Outputs show only :func:`fingerprint` of a value.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from provision.errors import ProvisionError

_LINE = re.compile(r"^([A-Za-z0-9_]+)=(.*)$")
_AK_PREFIX = "ACCESS_KEY_"  # one entry per AccessKey: ACCESS_KEY_<id>=<secret>, whatever the cloud


@dataclass(frozen=True)
class SinkNames:
    """The variable names of an account's env file that its cloud's SDKs and people expect: the standard
    key pair the credential chain reads, the console password, the base of API key entries. Each cloud's
    registry entry names its own; the default is Alibaba Cloud's."""

    key_id: str = "ALIBABA_CLOUD_ACCESS_KEY_ID"
    key_secret: str = "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
    password: str = "ALIBABA_CLOUD_CONSOLE_PASSWORD"
    api_key: str = "DASHSCOPE_API_KEY"  # also <base>_<WORKSPACE>_<KEY> and <base>_ID for each key


def fingerprint(value: str) -> str:
    """A short, non-reversible tag of a secret for plans, logs and summaries: ``sha256:1a2b3c4d``."""
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:8]


def shell_quote(value: str) -> str:
    """``value`` as one POSIX-shell single-quoted word: ``it's`` → ``'it'\\''s'``."""
    if "\n" in value or "\r" in value:
        # the file is read line by line; no secret the cloud returns spans lines
        raise ValueError("a secret value must be one line")
    return "'" + value.replace("'", "'\\''") + "'"


def _unquote(raw: str) -> str | None:
    """The value of a single-quoted shell word as :func:`shell_quote` writes it; None if it is not one."""
    out: list[str] = []
    i = 0
    while i < len(raw):
        if raw[i] == "'":
            end = raw.find("'", i + 1)
            if end < 0:
                return None
            out.append(raw[i + 1:end])
            i = end + 1
        elif raw.startswith("\\'", i):
            out.append("'")
            i += 2
        else:
            return None
    return "".join(out)


def parse_env(text: str) -> dict[str, str]:
    """The entries of a sink env file: ``NAME='value'`` (as written now) or ``NAME=value`` (as written
    before values were quoted); comments and other lines are skipped."""
    entries: dict[str, str] = {}
    for line in text.split("\n"):  # not splitlines(): a quoted value may hold \f, \v, \x1c...
        m = _LINE.match(line.lstrip())
        if m:
            raw = m.group(2).rstrip()  # outside the closing quote: an editor's trailing blank or \r
            quoted = _unquote(raw) if raw.startswith("'") else None
            entries[m.group(1)] = raw if quoted is None else quoted
    return entries


def ensure_writable_dir(directory: Path, what: str, setting: str, mode: int | None = None) -> None:
    """Create ``directory`` (with ``mode``) and prove a file can be written there, or raise a
    ProvisionError naming it and ``setting`` (the option that moves it)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if mode is not None:
            os.chmod(directory, mode)
        fd, probe = tempfile.mkstemp(dir=directory, prefix=".probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ProvisionError(f"{what} {directory} cannot be written ({reason}): fix the path or its "
                             f"permissions, or choose another directory with {setting}; nothing was "
                             "changed") from None


def _env_name(*parts: str) -> str:
    return "_".join(re.sub(r"[^A-Za-z0-9]", "_", p).upper() for p in parts if p)


def _ak_entry(access_key_id: str) -> str:
    """Env name holding one AccessKey's secret; keeps the id's case (ids are case-sensitive)."""
    return _AK_PREFIX + re.sub(r"[^A-Za-z0-9]", "_", access_key_id)


def fsync_dir(directory: Path) -> None:
    """Make a rename (or a new file) in ``directory`` survive a crash."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durably(path: Path, data: bytes, prefix: str, mode: int | None = None) -> None:
    """Replace ``path`` with ``data`` atomically and durably: a temp file (``prefix``, ``mode``) in its
    directory, fsync, rename, directory fsync. A crash leaves the old file or the new one, never half."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix)
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)  # the rename itself survives a crash
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class HeldKeys:
    """The sink's secrets of one user's AccessKeys, against the ids the cloud lists."""

    missing: tuple[str, ...]  # active keys the cloud lists whose secret the sink lacks
    dead: tuple[str, ...]  # keys whose secret the sink holds that the cloud no longer lists (sorted)


class SecretSink:
    """Writes secrets to per-account env files. Thread-safe; each write is an atomic replace, and writes
    to different accounts' files run side by side (one lock per account)."""

    def __init__(self, directory: Path, names: SinkNames | None = None) -> None:
        self.directory = Path(directory)
        self.names = names or SinkNames()
        self._lock = threading.Lock()  # guards the table of account locks
        self._accounts: dict[str, threading.Lock] = {}

    def _account_lock(self, account: str) -> threading.Lock:
        with self._lock:
            lock = self._accounts.get(account)
            if lock is None:
                lock = self._accounts[account] = threading.Lock()
            return lock

    # -- low level ----------------------------------------------------------------------------------
    def _path(self, account: str) -> Path:
        return self.directory / f"{re.sub(r'[^A-Za-z0-9._-]', '_', account)}.env"

    def read(self, account: str) -> dict[str, str]:
        """Every entry of one account's file (empty if there is none)."""
        path = self._path(account)
        if not path.exists():
            return {}
        return parse_env(path.read_text())

    def check_writable(self) -> None:
        """Create the sink (0700) and prove a secret can be stored there, before any cloud call."""
        ensure_writable_dir(self.directory, "the secrets sink", "--secrets-dir (or PROVISION_SECRETS_DIR)",
                            mode=0o700)
        self.remove_leftovers()

    def remove_leftovers(self) -> int:
        """Delete the temp files a killed write left behind (they may hold secrets); never names them.
        Callers hold the state dir's lock, so no other writer is mid-write. Returns how many went."""
        removed = 0
        for leftover in self.directory.glob(".tmp-*"):
            leftover.unlink(missing_ok=True)
            removed += 1
        return removed

    def write(self, account: str, updates: dict[str, str | None]) -> None:
        """Set (or, with None, remove) entries of one account's file, atomically, mode 0600; a file left
        with no entry is removed."""
        with self._account_lock(account):
            self.directory.mkdir(parents=True, exist_ok=True)
            os.chmod(self.directory, 0o700)
            entries = self.read(account)
            for k, v in updates.items():
                if v is None:
                    entries.pop(k, None)
                else:
                    entries[k] = v
            path = self._path(account)
            if not entries:  # nothing left to hold (the account was revoked or deleted): no empty file
                if path.exists():
                    path.unlink()
                    fsync_dir(self.directory)
                return
            text = f"# provision secrets for {account}: shown once by the cloud, keep private\n" + \
                "".join(f"{k}={shell_quote(v)}\n" for k, v in sorted(entries.items()))
            write_durably(path, text.encode(), ".tmp-", mode=0o600)

    # -- RAM access keys ------------------------------------------------------------------------------
    def store_access_key(self, user: str, access_key_id: str, secret: str) -> str:
        """Keep a new AccessKey; the first one also fills the cloud's standard pair (``names.key_id``)."""
        updates: dict[str, str | None] = {_ak_entry(access_key_id): secret}
        current = self.read(user)
        if self.names.key_id not in current:
            updates[self.names.key_id] = access_key_id
            updates[self.names.key_secret] = secret
        self.write(user, updates)
        return fingerprint(secret)

    def access_key_secret(self, user: str, access_key_id: str) -> str | None:
        return self.read(user).get(_ak_entry(access_key_id))

    def access_keys(self, user: str) -> dict[str, str]:
        """AccessKeyId → secret for every key the sink holds for ``user``."""
        entries = self.read(user)
        return {k[len(_AK_PREFIX):]: v for k, v in entries.items() if k.startswith(_AK_PREFIX)}

    def held_keys(self, user: str, active: Sequence[str], listed: Collection[str]) -> HeldKeys:
        """What the sink holds of ``user``'s AccessKeys against what the cloud lists (``listed``: every
        key id, ``active``: the active ones): read once, written never."""
        held = self.access_keys(user)
        return HeldKeys(missing=tuple(k for k in active if k not in held),
                        dead=tuple(sorted(k for k in held if k not in listed)))

    def forget_access_key(self, user: str, access_key_id: str) -> None:
        """Drop one AccessKey's secret; the standard pair moves to another key the sink holds, if any."""
        self._drop_access_keys(user, {access_key_id}, prefer=())

    def keep_access_keys(self, user: str, existing: Sequence[str]) -> None:
        """Drop the secrets of every key not in ``existing`` (the ids the account lists, preferred first)
        and point the standard pair at the first existing key the sink holds (unset if there is none)."""
        self._drop_access_keys(user, set(self.held_keys(user, (), existing).dead), prefer=existing)

    def _drop_access_keys(self, user: str, gone: set[str], prefer: Sequence[str]) -> None:
        entries = self.read(user)
        held = {k: v for k, v in self.access_keys(user).items() if k not in gone}
        updates: dict[str, str | None] = {_ak_entry(k): None for k in sorted(gone) if _ak_entry(k) in entries}
        default = entries.get(self.names.key_id)
        if default not in held and (default is not None or held):
            # the standard pair must name a live key, so the file stays usable as-is after a rotation
            choice = next((k for k in prefer if k in held), None) or min(held, default=None)
            updates[self.names.key_id] = choice
            updates[self.names.key_secret] = held[choice] if choice is not None else None
        if updates:
            self.write(user, updates)

    # -- console password -----------------------------------------------------------------------------
    def store_password(self, user: str, password: str) -> str:
        self.write(user, {self.names.password: password})
        return fingerprint(password)

    def password(self, user: str) -> str | None:
        return self.read(user).get(self.names.password)

    def forget_password(self, user: str) -> None:
        if self.names.password in self.read(user):
            self.write(user, {self.names.password: None})

    # -- workspace API keys ---------------------------------------------------------------------------
    @staticmethod
    def api_key_account(workspace: str, issued_to: str | None) -> str:
        return issued_to or f"workspace-{workspace}"

    def store_api_key(self, account: str, workspace: str, key_name: str, api_key_id: str, value: str) -> str:
        default = self.names.api_key
        base = _env_name(default, workspace, key_name)
        updates: dict[str, str | None] = {base: value, base + "_ID": api_key_id}
        current = self.read(account)
        if default not in current or current.get(default + "_ID") == api_key_id:
            updates[default] = value
            updates[default + "_ID"] = api_key_id
        self.write(account, updates)
        return fingerprint(value)

    def api_key(self, account: str, workspace: str, key_name: str) -> tuple[str, str] | None:
        """(api_key_id, value) if the sink holds that key."""
        base = _env_name(self.names.api_key, workspace, key_name)
        entries = self.read(account)
        if base in entries and base + "_ID" in entries:
            return entries[base + "_ID"], entries[base]
        return None

    def forget_api_key(self, account: str, workspace: str, key_name: str) -> None:
        default = self.names.api_key
        base = _env_name(default, workspace, key_name)
        entries = self.read(account)
        updates: dict[str, str | None] = {base: None, base + "_ID": None}
        if entries.get(default + "_ID") == entries.get(base + "_ID"):
            updates[default] = None
            updates[default + "_ID"] = None
        self.write(account, updates)

    def held(self) -> dict[str, str]:
        """Cloud id → fingerprint of every AccessKey and API key whose secret the sink holds (for hand-offs
        and write-ahead records; never the secrets themselves)."""
        if not self.directory.exists():
            return {}
        found: dict[str, str] = {}
        for path in sorted(self.directory.glob("*.env")):
            entries = self.read(path.stem)
            for k, v in entries.items():
                if k.startswith(_AK_PREFIX) and v:
                    found[k[len(_AK_PREFIX):]] = fingerprint(v)
                elif k.endswith("_ID") and entries.get(k[:-3]):  # an API key's <base>_ID (any cloud's names)
                    found[v] = fingerprint(entries[k[:-3]])
        return found

    def all_values(self) -> list[str]:
        """Every secret value in the sink (tests use it to prove no output leaks one)."""
        if not self.directory.exists():
            return []
        values = []
        for path in self.directory.glob("*.env"):
            entries = self.read(path.stem)
            for k, v in entries.items():
                # ids are not secrets: <base>_ID entries, and a standard pair's id (names an ACCESS_KEY_)
                if v and not k.endswith("_ID") and _ak_entry(v) not in entries:
                    values.append(v)
        return values

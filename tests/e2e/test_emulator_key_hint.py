"""With PROVISION_ENDPOINT set, a key the emulator does not accept is explained as such: which emulator
(its URL) and which root key it expects, in one error line with no traceback and no secret."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from provision.emulator.seed import DEFAULT_ROOT_KEY_ID, DEFAULT_ROOT_SECRET
from provision.providers.alibaba.emulator_hint import emulator_hint

if TYPE_CHECKING:
    from tests.e2e.conftest import Cli

pytestmark = pytest.mark.e2e


def with_key(cli: Cli, monkeypatch: pytest.MonkeyPatch, key_id: str, secret: str) -> None:
    pair = {"ALIBABA_CLOUD_ACCESS_KEY_ID": key_id, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": secret}
    for name, value in pair.items():
        cli.env[name] = value
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize(("key_id", "code", "says"), [
    ("LTAI5tNotAnEmulatorKey1", "InvalidAccessKeyId.NotFound", "signs with is unknown to this cloud"),
    (DEFAULT_ROOT_KEY_ID, "SignatureDoesNotMatch", "the AccessKey secret is wrong"),
])
def test_a_key_the_emulator_refuses_names_the_emulator_and_its_root_key(
        cli: Cli, monkeypatch: pytest.MonkeyPatch, key_id: str, code: str, says: str) -> None:
    with_key(cli, monkeypatch, key_id, "a-secret-the-emulator-does-not-hold")

    result = cli("plan", "-m", cli.manifests / "example.yaml")

    assert result.exit_code == 1
    assert code in result.stderr and "Traceback" not in result.stderr
    assert says in result.stderr
    assert f"this is the emulator at {cli.cloud.url}, whose root key" in result.stderr
    assert DEFAULT_ROOT_KEY_ID in result.stderr and "ALIBABA_CLOUD_ACCESS_KEY_ID" in result.stderr
    assert DEFAULT_ROOT_SECRET not in result.stdout + result.stderr  # named by where it is, never printed
    assert "a-secret-the-emulator-does-not-hold" not in result.stdout + result.stderr


def test_without_an_emulator_the_cloud_hint_stands(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROVISION_ENDPOINT", raising=False)
    assert emulator_hint("InvalidAccessKeyId.NotFound") is None
    monkeypatch.setenv("PROVISION_ENDPOINT", "http://127.0.0.1:8930")
    assert emulator_hint("NoPermission") is None  # not a refused key: the table's hint alone applies
    assert emulator_hint("InvalidCredentials") is None  # no key at all: the credential chain's hint
    assert "emulator at http://127.0.0.1:8930" in (emulator_hint("InvalidAccessKeyId.NotFound") or "")

"""What a credential error means when PROVISION_ENDPOINT sends every call to the emulator.

The emulator knows one root AccessKey per account: ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET as they were when it
started, else its documented default. A key it does not know is almost always one of two mistakes: the
variables were exported after the emulator started, or a real account's key is still in the environment.
"""

from __future__ import annotations

import os

ENDPOINT_ENV = "PROVISION_ENDPOINT"
# the cloud codes that mean "this endpoint does not accept the AccessKey the tool signs with"
_KEY_CODES = frozenset({"InvalidAccessKeyId.NotFound", "SignatureDoesNotMatch"})


def emulator_hint(code: str) -> str | None:
    """What to add to the hint of a refused AccessKey when it was refused by the emulator; None when
    PROVISION_ENDPOINT is unset or the code is not a refused key (the cloud's hint alone applies)."""
    endpoint = os.environ.get(ENDPOINT_ENV, "").strip()
    if not endpoint or code not in _KEY_CODES:
        return None
    from provision.emulator.seed import DEFAULT_ROOT_KEY_ID  # the one home of the emulator's default

    return (f"{ENDPOINT_ENV} is set: this is the emulator at {endpoint}, whose root key is the "
            f"ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET pair exported when it started, else "
            f"{DEFAULT_ROOT_KEY_ID} (secret in docs/emulator.md): export that pair here, or restart the "
            f"emulator after exporting yours; unset {ENDPOINT_ENV} to reach the real cloud")

"""Who signed a request: either signature (ACS3-HMAC-SHA256 or the RPC HMAC-SHA1 one), then its nonce.

The nonce is recorded only once the signature is proven, so an unsigned request cannot burn the
nonce of a real one; a validly signed request uses its nonce up even if the action then fails.
"""

from __future__ import annotations

from provision.emulator import signing, signing_v1
from provision.emulator.nonces import NonceLedger
from provision.emulator.wire import Request, missing_parameter
from provision.emulator.world import KeyRecord, World


def is_signed_call(request: Request) -> bool:
    """A signed API call (routed by action), not a Bearer data-plane call."""
    return bool(request.action) or signing_v1.is_v1_signed(request)


def authenticate(request: Request, world: World, nonces: NonceLedger) -> KeyRecord:
    """The active key that signed ``request``; raises the gateway's CloudError otherwise.

    A v1-signed request also needs ``Action`` and ``Version`` (parameters or ``x-acs-*`` headers);
    its common parameters are removed from ``request`` once verified.
    """
    if signing_v1.is_v1_signed(request):
        key, nonce = signing_v1.verify(request, world)
        signing_v1.strip_common(request)
        for name, value in (("Action", request.action), ("Version", request.version)):
            if not value:
                raise missing_parameter(name)
    else:
        key = signing.verify(request, world)
        nonce = request.headers[signing.NONCE_HEADER]
    nonces.use(key.access_key_id, nonce)
    return key

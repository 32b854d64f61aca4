"""Signature nonces: each (AccessKey, nonce) is accepted once within the signature's validity window.

Both signatures carry one (ACS3: the signed ``x-acs-signature-nonce`` header; RPC HMAC-SHA1: the
``SignatureNonce`` parameter). A request whose timestamp is accepted (within 15 minutes of the
server's clock) can only be replayed within that window, so a nonce is remembered for as long.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from provision.emulator.wire import CloudError

NONCE_TTL_S = 900.0  # as long as a signed timestamp stays valid (signing.MAX_SKEW_S)


class NonceLedger:
    """Thread-safe memory of the nonces seen in the last ``ttl_s`` seconds (monotonic clock)."""

    def __init__(self, ttl_s: float = NONCE_TTL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._expiry: dict[tuple[str, str], float] = {}
        self._order: deque[tuple[float, tuple[str, str]]] = deque()  # expiry order = insertion order

    def use(self, access_key_id: str, nonce: str) -> None:
        """Accept ``nonce`` for this key once; ``SignatureNonceUsed`` (400) when seen within the window."""
        now = self._clock()
        key = (access_key_id, nonce)
        with self._lock:
            while self._order and self._order[0][0] <= now:
                expires, old = self._order.popleft()
                if self._expiry.get(old) == expires:
                    del self._expiry[old]
            if key in self._expiry:
                raise CloudError("SignatureNonceUsed", "Specified signature nonce was used already. "
                                 "Send a new random nonce with every request (retries too).", 400, "RPC")
            expires = now + self._ttl_s
            self._expiry[key] = expires
            self._order.append((expires, key))

    def clear(self) -> None:
        """Forget every nonce (``POST /_emulator/reset``)."""
        with self._lock:
            self._expiry.clear()
            self._order.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._expiry)

"""One-time codes for "find my orders by phone": a buyer who lost the order link proves
they hold the phone, and gets their orders back.

Stateless: the code is sent to the phone (through the Notifier port) and the server hands
the page a `challenge` that binds phone, expiry and a nonce to the code with an HMAC under
the server's secret. Nothing is stored, and the code cannot be guessed offline (the HMAC
key never leaves the server); guessing online is bounded by a per-phone attempt limit
in the route. A code lives 10 minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

CODE_TTL_S = 600
_CHALLENGE = re.compile(r"^(0\d{9})\.(\d{10})\.([A-Za-z0-9_-]{12})\.([0-9a-f]{32})$")


class BuyerCodes:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, payload: str, code: str) -> str:
        return hmac.new(self._secret, f"{payload}.{code}".encode(), hashlib.sha256).hexdigest()[:32]

    def issue(self, phone: str, now: float) -> tuple[str, str, str]:
        """(code, nonce, challenge): the code goes to the phone, the challenge to the page."""
        code = f"{secrets.randbelow(10**6):06d}"
        nonce = secrets.token_urlsafe(9)  # 12 characters, no dots
        payload = f"{phone}.{int(now) + CODE_TTL_S}.{nonce}"
        return code, nonce, f"{payload}.{self._mac(payload, code)}"

    def verify(self, challenge: str, phone: str, code: str, now: float) -> bool:
        """Whether `code` is the one sent to `phone` for this challenge, and still fresh."""
        match = _CHALLENGE.match(challenge)
        if match is None or match.group(1) != phone or int(match.group(2)) < now:
            return False
        payload = challenge.rsplit(".", 1)[0]
        return hmac.compare_digest(self._mac(payload, code), match.group(4))

"""Order codes: the short code a buyer is shown, reads out on the phone and types back.

8 characters from 31 letters and digits with no look-alikes (no 0/O, 1/I/L): about
8.5 * 10**11 codes, so a collision is rare; the store's unique constraint catches it and
the insert retries with a fresh code.
"""

from __future__ import annotations

import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 8


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def is_code(value: str) -> bool:
    return len(value) == LENGTH and all(c in ALPHABET for c in value)

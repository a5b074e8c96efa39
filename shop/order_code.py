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
    # One uniform draw over all 31**8 codes, spelled in base 31: one system call per code
    # instead of one per letter (every order draws one).
    n = secrets.randbelow(len(ALPHABET) ** LENGTH)
    letters = []
    for _ in range(LENGTH):
        n, i = divmod(n, len(ALPHABET))
        letters.append(ALPHABET[i])
    return "".join(letters)


def is_code(value: str) -> bool:
    return len(value) == LENGTH and all(c in ALPHABET for c in value)

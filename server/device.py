"""The device cookie: a first-party id per browser, signed so it cannot be chosen.

Mutes and bans (shop/live/restrictions.py) and buyers' hold budgets are bound to it as
well as to the address: a viewer can drop the cookie (and get a new one), not pick the
value of somebody else's or a fresh one at will without also losing what it unlocks.
"""

from __future__ import annotations

import hmac
import secrets
from functools import lru_cache
from http.cookies import SimpleCookie

from starlette.requests import HTTPConnection

from server.auth import TokenSigner

COOKIE = "fl_device"
MAX_AGE_S = 400 * 24 * 3600  # browsers cap cookie lifetimes at 400 days


def read_device(conn: HTTPConnection, signer: TokenSigner) -> str:
    """The device id from a valid cookie, or "" (none, or one not signed by us)."""
    raw = conn.cookies.get(COOKIE, "")
    device, _, mac = raw.partition(".")
    if not device or len(device) > 40 or not hmac.compare_digest(mac, signer.mac(device)):
        return ""
    return device


def new_device(signer: TokenSigner, *, secure: bool) -> tuple[str, str]:
    """A fresh device id and the `Set-Cookie` header value that hands it out."""
    device = secrets.token_urlsafe(16)
    # The value (URL-safe base64, a dot, hex) never needs cookie quoting, so the header is
    # the name, the value and the attributes `_attributes` had http.cookies write once.
    return device, f"{COOKIE}={device}.{signer.mac(device)}{_attributes(secure)}"


@lru_cache(maxsize=2)
def _attributes(secure: bool) -> str:
    cookie: SimpleCookie = SimpleCookie()
    cookie[COOKIE] = "v"
    morsel = cookie[COOKIE]
    morsel["path"] = "/"
    morsel["max-age"] = MAX_AGE_S
    morsel["httponly"] = True
    morsel["samesite"] = "Lax"
    if secure:
        morsel["secure"] = True
    return morsel.OutputString().removeprefix(f"{COOKIE}=v")


def device_or_new(conn: HTTPConnection, signer: TokenSigner, *, secure: bool) -> tuple[str, str]:
    """(device id, Set-Cookie value or "" when the browser already has a valid one)."""
    device = read_device(conn, signer)
    if device:
        return device, ""
    return new_device(signer, secure=secure)

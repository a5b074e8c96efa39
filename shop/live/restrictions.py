"""Whom a mute or ban holds: the connection and the device, never just a chosen client id.

A viewer's client id comes from the browser (localStorage) and a `hello` may name any
well-formed one, so a restriction keyed on it alone was shed by sending a new `hello` or
reconnecting. An `Identity` is everything one socket has been known by: every client id
it used (the one the server handed out included), its device (a first-party cookie the
server signs, so a client can drop it but not choose it) and its address. A restriction
is written under the author's client id and device, plus the address when a moderator
bans by address (opt-in: carriers put many people behind one). Checks look at all of
them, so a muted socket stays muted whatever it calls itself, and a banned viewer who
reconnects from the same browser stays banned for the session.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shop.live.identity import client_key, ip_key


def device_key(device: str) -> str:
    """The restriction key for a device (the signed first-party cookie's id)."""
    return f"d:{device}"


@dataclass(slots=True)
class Identity:
    """What one socket has been known by (grows, never shrinks, while it is open)."""

    client_ids: list[str]
    device: str = ""
    ip: str = ""
    _seen: set[str] = field(default_factory=set, repr=False)

    def claim(self, client_id: str) -> None:
        """A `hello` named `client_id`: from now on the socket answers for it too."""
        if client_id not in self.client_ids:
            self.client_ids.append(client_id)

    def known_as(self, client_id: str, device: str = "") -> bool:
        return client_id in self.client_ids or bool(device and device == self.device)


def mute_keys(identity: Identity) -> list[str]:
    """Keys a mute may be stored under for this socket (never the address)."""
    keys = [client_key(c) for c in identity.client_ids]
    if identity.device:
        keys.append(device_key(identity.device))
    return keys


def ban_keys(identity: Identity) -> list[str]:
    """Keys a ban may be stored under for this socket: a mute's, plus the address."""
    keys = mute_keys(identity)
    if identity.ip:
        keys.append(ip_key(identity.ip))
    return keys


def keys_to_restrict(
    kind: str, *, client_id: str, device: str = "", ip: str = "", by_address: bool = False
) -> list[str]:
    """Where a moderator's mute or ban of one chat author is written."""
    keys = [client_key(client_id)]
    if device:
        keys.append(device_key(device))
    if kind == "ban" and by_address and ip:
        keys.append(ip_key(ip))
    return keys

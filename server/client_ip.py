"""The one answer to "which address is this client?", for every limiter and the live room.

`X-Forwarded-For` is believed only from peers listed in FARMLIVE_TRUSTED_PROXIES: the
header is read from the right (the hop nearest us), skipping trusted proxies, and the
first address that is not one is the client. Anyone else can write anything into it.
uvicorn's own proxy-header handling is off (server/cli.py), so this is the only place.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from starlette.requests import HTTPConnection

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=16)
def trusted_networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _trusted(address: str, networks: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_ip(conn: HTTPConnection, trusted_proxies: Iterable[str]) -> str:
    """The client's address: the TCP peer, or what trusted proxies say it forwarded for."""
    peer = conn.client.host if conn.client else ""
    networks = trusted_networks(tuple(trusted_proxies))
    if not networks or not _trusted(peer, networks):
        return peer
    hops = [h.strip() for h in ",".join(conn.headers.getlist("x-forwarded-for")).split(",")]
    hops = [h for h in hops if h]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # garbage from a trusted proxy's client: stop believing
    return hops[0] if hops else peer  # every hop is ours: the first one asked

"""ICE configuration: STUN/TURN servers from `FARMLIVE_ICE_SERVERS`, and UDP ports.

`FARMLIVE_ICE_SERVERS` holds the same JSON a browser's `RTCPeerConnection` takes::

    [{"urls": "stun:stun.example.org:3478"},
     {"urls": ["turn:turn.example.org:3478?transport=udp"],
      "username": "farmlive", "credential": "secret"}]

An empty list (the default) offers host candidates only: enough on one machine, on a
LAN, and in tests on loopback.

UDP ports. aioice 0.13 (what aiortc 1.16 uses) binds every ICE socket to port 0, an
ephemeral port chosen by the kernel; neither aioice nor aiortc can be told a range. In
a container, restrict the kernel's ephemeral range for the container's own network
namespace and publish the same range, e.g. in docker-compose.yml::

    app:
      sysctls:
        net.ipv4.ip_local_port_range: "40000 40199"
      ports:
        - "40000-40199:40000-40199/udp"

Every outgoing TCP connection of that container (Redis, PostgreSQL) then also takes its
local port from the range, so size it for both: each viewer or publisher holds one UDP
port per host interface while connected. `Relay(udp_port_range=...)` checks at start
that the kernel's range lies inside the one given and logs a warning if not; it cannot
enforce it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aiortc import RTCConfiguration, RTCIceServer

_PORT_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def parse_ice_servers(raw: str | None) -> list[dict[str, Any]]:
    """Read `FARMLIVE_ICE_SERVERS`-style JSON; unset or blank means no servers."""
    if raw is None or not raw.strip():
        return []
    try:
        servers = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"ICE servers must be a JSON list: {exc}") from exc
    if not isinstance(servers, list):
        raise ValueError("ICE servers must be a JSON list of {urls, username?, credential?}")
    for server in servers:
        _check_server(server)
    return servers


def _check_server(server: object) -> None:
    if not isinstance(server, dict):
        raise ValueError("each ICE server must be an object with 'urls'")
    urls = server.get("urls")
    if isinstance(urls, str):
        urls = [urls]
    if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
        raise ValueError("each ICE server needs 'urls': a string or a list of strings")
    for url in urls:
        scheme = url.split(":", 1)[0].lower()
        if scheme not in ("stun", "stuns", "turn", "turns"):
            raise ValueError(f"unsupported ICE server URL {url!r}")
        if scheme.startswith("turn") and not (server.get("username") and server.get("credential")):
            raise ValueError(f"TURN server {url!r} needs 'username' and 'credential'")
    for key in ("username", "credential"):
        if key in server and not isinstance(server[key], str):
            raise ValueError(f"ICE server {key!r} must be a string")


def rtc_configuration(servers: list[dict[str, Any]] | None) -> RTCConfiguration:
    """An aiortc configuration for the relay's peer connections."""
    ice_servers = []
    for server in servers or []:
        _check_server(server)
        ice_servers.append(
            RTCIceServer(
                urls=server["urls"],
                username=server.get("username"),
                credential=server.get("credential"),
            )
        )
    return RTCConfiguration(iceServers=ice_servers)


def kernel_port_range(path: Path = _PORT_RANGE_FILE) -> tuple[int, int] | None:
    """The kernel's ephemeral port range for this network namespace, if readable."""
    try:
        low, high = path.read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return None


def port_range_problem(wanted: tuple[int, int], actual: tuple[int, int] | None) -> str | None:
    """Why ICE sockets may fall outside `wanted`, or None when the kernel's range fits."""
    low, high = wanted
    if not 0 < low <= high <= 65535:
        return f"invalid UDP port range {low}-{high}"
    if actual is None:
        return (
            f"cannot read the kernel's ephemeral port range; ICE ports may fall outside "
            f"{low}-{high}"
        )
    if actual[0] < low or actual[1] > high:
        return (
            f"ICE sockets take kernel ephemeral ports {actual[0]}-{actual[1]}, not "
            f"{low}-{high}: set net.ipv4.ip_local_port_range to match (see stream.ice)"
        )
    return None

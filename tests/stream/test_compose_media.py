"""docker-compose.yml's media part hangs together: relay ranges published, paths routed, coturn."""

from __future__ import annotations

import itertools
from pathlib import Path

import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


def test_each_relay_publishes_its_port_range_and_is_routed_by_path() -> None:
    """Every relay publishes exactly its kernel port range and the proxy routes its own path."""
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    caddyfile = compose["configs"]["caddyfile"]["content"]
    relays = [name for name in services if name.startswith("relay")]
    assert len(relays) >= 2
    ranges = []
    for name in relays:
        relay = services[name]
        low, high = relay["sysctls"]["net.ipv4.ip_local_port_range"].split()
        assert relay["ports"] == [f"{low}-{high}:{low}-{high}/udp"]
        ranges.append((int(low), int(high)))
        path = relay["environment"]["FARMLIVE_RELAY_URL"].split("}", 1)[1]
        assert f"handle_path {path}/* {{\n    reverse_proxy {name}:8100" in caddyfile
        assert relay["environment"]["FARMLIVE_REDIS_URL"]
        assert "relay" in relay["command"]
    ranges.sort()
    assert all(a[1] < b[0] for a, b in itertools.pairwise(ranges))
    assert "@media path /whip/* /whep/* /hls/*" in caddyfile
    coturn = services["coturn"]
    assert "apt-get install" in coturn["build"]["dockerfile_inline"]
    assert "--use-auth-secret" in coturn["command"]

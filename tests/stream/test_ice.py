"""ICE server configuration and the UDP port range check."""

from __future__ import annotations

from pathlib import Path

import pytest

from stream.ice import kernel_port_range, parse_ice_servers, port_range_problem, rtc_configuration


def test_unset_means_no_servers() -> None:
    """An unset or blank FARMLIVE_ICE_SERVERS gives host candidates only."""
    assert parse_ice_servers(None) == []
    assert parse_ice_servers("  ") == []
    assert rtc_configuration([]).iceServers == []


def test_stun_and_turn_servers_become_rtc_ice_servers() -> None:
    """Browser-style JSON turns into aiortc RTCIceServer entries with credentials."""
    servers = parse_ice_servers(
        '[{"urls": "stun:stun.example.org:3478"},'
        ' {"urls": ["turn:turn.example.org:3478"], "username": "u", "credential": "p"}]'
    )
    stun, turn = rtc_configuration(servers).iceServers
    assert stun.urls == "stun:stun.example.org:3478"
    assert (turn.urls, turn.username, turn.credential) == (["turn:turn.example.org:3478"], "u", "p")


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        '{"urls": "stun:x"}',
        '[{"url": "stun:x"}]',
        '[{"urls": "http://x"}]',
        '[{"urls": "turn:x:3478"}]',
        '[{"urls": []}]',
        '[{"urls": "stun:x", "username": 5}]',
    ],
)
def test_bad_ice_server_json_is_refused(raw: str) -> None:
    """Malformed JSON, non-ICE URLs and TURN without credentials are configuration errors."""
    with pytest.raises(ValueError):
        parse_ice_servers(raw)


def test_port_range_is_checked_against_the_kernel(tmp_path: Path) -> None:
    """The relay can't bind ports itself, so it says when the kernel's range doesn't fit."""
    path = tmp_path / "range"
    path.write_text("40000\t40199\n")
    assert kernel_port_range(path) == (40000, 40199)
    assert port_range_problem((40000, 40199), (40000, 40199)) is None
    assert port_range_problem((40000, 40099), (40000, 40199)) is not None
    assert port_range_problem((50000, 40000), (40000, 40199)) is not None
    assert port_range_problem((40000, 40199), None) is not None
    assert kernel_port_range(tmp_path / "missing") is None

"""No aiortc peer anywhere in the code base is created with aiortc's default configuration."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from aiortc import RTCPeerConnection
from aiortc.rtcicetransport import RTCIceGatherer

from tests import ice_guard

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("stream", "server", "shop", "bench", "tests")


def _calls(name: str) -> list[tuple[Path, ast.Call]]:
    found = []
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call):
                    func = node.func
                    called = (
                        func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                    )
                    if called == name:
                        found.append((path, node))
    return found


def test_every_peer_connection_gets_a_configuration() -> None:
    """Every `RTCPeerConnection(...)` call in the code base passes a configuration."""
    calls = _calls("RTCPeerConnection")
    assert len(calls) >= 5  # the scan really finds the peers
    bare = [
        f"{path.relative_to(ROOT)}:{call.lineno}"
        for path, call in calls
        if not call.args and not any(k.arg == "configuration" for k in call.keywords)
    ]
    assert bare == []


def test_every_configuration_names_its_ice_servers() -> None:
    """Every `RTCConfiguration(...)` call sets `iceServers` (None means aiortc's public STUN)."""
    calls = _calls("RTCConfiguration")
    assert calls
    missing = [
        f"{path.relative_to(ROOT)}:{call.lineno}"
        for path, call in calls
        if not call.args and not any(k.arg == "iceServers" for k in call.keywords)
    ]
    assert missing == []


async def test_the_session_guard_refuses_the_default_servers() -> None:
    """A peer created without configuration fails in this test session when it gathers."""
    before = len(ice_guard.USED)
    with pytest.raises(ice_guard.DefaultIceServersUsed):
        RTCIceGatherer()
    unconfigured = RTCPeerConnection  # an alias, so the static scan above does not flag this
    pc = unconfigured()
    with pytest.raises(ice_guard.DefaultIceServersUsed):
        # aiortc creates the peer's ICE gatherer with its first transceiver.
        pc.addTransceiver("audio")
    await pc.close()
    # These two were on purpose: keep the session's record for real offenders.
    del ice_guard.USED[before:]

"""A pytest plugin: any aiortc peer that would use aiortc's default ICE servers fails the run.

aiortc's `RTCPeerConnection()` (or an `RTCConfiguration()` whose `iceServers` is None)
gathers candidates against a public STUN server. Tests run on loopback and must send
nothing off the machine, so the one place aiortc falls back to its default,
`RTCIceGatherer.getDefaultIceServers`, raises here, and every call is also recorded so
a test whose peer swallowed the exception still fails the session.
"""

from __future__ import annotations

from typing import Any

import pytest

USED: list[str] = []


class DefaultIceServersUsed(AssertionError):
    """An aiortc peer was created without an explicit list of ICE servers."""


def _refuse(cls: Any) -> list[Any]:
    USED.append("RTCIceGatherer.getDefaultIceServers()")
    raise DefaultIceServersUsed(
        "an aiortc peer would use aiortc's default (public) STUN server: "
        "pass RTCConfiguration(iceServers=[]) or the test's own servers"
    )


def pytest_configure(config: pytest.Config) -> None:
    try:
        from aiortc.rtcicetransport import RTCIceGatherer
    except ImportError:  # pragma: no cover - aiortc is a dependency
        return
    RTCIceGatherer.getDefaultIceServers = classmethod(_refuse)  # type: ignore[method-assign,assignment]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if USED and session.exitstatus == 0:
        session.exitstatus = 1
        print(f"\nice_guard: aiortc's default ICE servers were asked for {len(USED)} time(s)")

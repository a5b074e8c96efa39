"""Hanging up an aiortc peer connection without leaving a task behind.

aioice 0.13 races its own close. A connectivity check that completes the check list
queues ICE_COMPLETED for `connect()`, which reads it at its next 20 ms pacing step. If
`Connection.close()` runs in that window, it finds no consent task to stop and queues no
failure (the list is already done); `connect()` then reads the old result and starts
RFC 7675 consent checks on the closed connection. That task never ends: its nominated
pairs were cleared, so it sleeps five seconds and checks nothing, forever. A viewer who
leaves as its ICE connects (a page closed while loading) leaks one such task into the
relay's loop for as long as the process lives.

`hang_up` closes the peer, then turns a result `connect()` has not read yet into
ICE_FAILED (so it ends with ConnectionError and starts nothing), and stops a consent
task a `connect()` that already read it started. It reaches aiortc's
`RTCIceTransport._connection` and aioice's `_check_list_state` and
`_query_consent_task`; tests/stream/test_hangup.py pins them and the race itself, so an
upgrade that fixes or moves them fails there.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aioice.ice import ICE_FAILED
from aiortc import RTCIceTransport, RTCPeerConnection


async def hang_up(pc: RTCPeerConnection) -> None:
    """Close `pc` so that no `connect()` racing the close starts consent checks after it."""
    # Taken before close(): it is what knows the connections, and close() keeps them.
    connections = [_connection(transport) for transport in _ice_transports(pc)]
    await pc.close()
    for connection in connections:
        # close() has marked the check list done, so nothing is queued after this.
        unread: asyncio.Queue[int] = connection._check_list_state
        if not unread.empty():
            while not unread.empty():
                unread.get_nowait()
            unread.put_nowait(ICE_FAILED)
        consent = connection._query_consent_task
        if consent is not None and not consent.done():
            consent.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await consent


def _ice_transports(pc: RTCPeerConnection) -> list[RTCIceTransport]:
    transports = [t.receiver.transport.transport for t in pc.getTransceivers()]
    if pc.sctp is not None:
        transports.append(pc.sctp.transport.transport)
    return transports


def _connection(transport: RTCIceTransport) -> Any:
    return transport._connection  # aiortc 1.16: the aioice Connection it drives

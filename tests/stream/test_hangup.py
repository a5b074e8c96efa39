"""hang_up closes a peer connection without the consent task aioice's close race leaves."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aioice.ice import ICE_COMPLETED
from aiortc import RTCPeerConnection

from stream.hangup import hang_up
from tests.stream.peers import loopback, wait_for


def close_as_checks_complete(
    pc: RTCPeerConnection, close: Callable[[], Awaitable[None]], *, slow_sockets: bool = False
) -> list[asyncio.Future[None]]:
    """Start `close()` the moment pc's ICE checks complete, before connect() reads that.

    That is the window a viewer leaving as its ICE connects falls into; here it is hit
    every time. With `slow_sockets`, closing the sockets takes longer than connect()'s
    20 ms pacing step, so connect() reads the result (and starts its consent checks)
    while close() is still under way. Returns the list that will hold the closing task.
    """
    assert pc.sctp is not None
    connection = pc.sctp.transport.transport._connection
    if slow_sockets:
        for protocol in connection._protocols:
            protocol.close = slowly(protocol.close)
    put = connection._check_list_state.put_nowait
    closing: list[asyncio.Future[None]] = []

    def put_after_close_started(state: int) -> None:
        if state == ICE_COMPLETED and not closing:
            closing.append(asyncio.ensure_future(close()))
        put(state)

    connection._check_list_state.put_nowait = put_after_close_started
    return closing


def slowly(close: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
    async def close_after_a_while() -> None:
        await asyncio.sleep(0.1)
        await close()

    return close_after_a_while


async def connected_pair() -> tuple[RTCPeerConnection, RTCPeerConnection]:
    caller, callee = RTCPeerConnection(loopback()), RTCPeerConnection(loopback())
    caller.createDataChannel("probe")
    await caller.setLocalDescription(await caller.createOffer())
    return caller, callee


async def race(
    close: Callable[[RTCPeerConnection], Awaitable[None]], *, slow_sockets: bool = False
) -> list[asyncio.Task[Any]]:
    """Close the caller as its checks complete; the consent tasks left running after."""
    caller, callee = await connected_pair()
    closing = close_as_checks_complete(caller, lambda: close(caller), slow_sockets=slow_sockets)
    await callee.setRemoteDescription(caller.localDescription)
    await callee.setLocalDescription(await callee.createAnswer())
    await caller.setRemoteDescription(callee.localDescription)
    await wait_for(lambda: bool(closing) and closing[0].done(), within=10, message="the close")
    await hang_up(callee)
    # An unread result is read at connect()'s next 20 ms step: give it more than that.
    await asyncio.sleep(0.05)
    return [
        t for t in asyncio.all_tasks() if "query_consent" in repr(t.get_coro()) and not t.done()
    ]


@pytest.mark.parametrize("slow_sockets", [False, True], ids=["unread", "read-while-closing"])
async def test_a_close_racing_ice_completion_leaves_a_consent_task(slow_sockets: bool) -> None:
    """Without the fence, a close in that window leaves aioice's consent checks running.

    The race itself, pinned: when this fails, aioice no longer has it (check its changelog)
    and hang_up may become a plain close.
    """
    leaked = await race(lambda pc: pc.close(), slow_sockets=slow_sockets)
    assert len(leaked) == 1
    for task in leaked:
        task.cancel()


@pytest.mark.parametrize("slow_sockets", [False, True], ids=["unread", "read-while-closing"])
async def test_hang_up_in_the_same_window_leaves_none(slow_sockets: bool) -> None:
    """hang_up fails the result connect() has not read, or stops the checks it started."""
    assert await race(hang_up, slow_sockets=slow_sockets) == []


async def test_hang_up_of_a_connected_peer_and_twice() -> None:
    """A plain hang-up of a connected pair closes both, and a second one is harmless."""
    caller, callee = await connected_pair()
    await callee.setRemoteDescription(caller.localDescription)
    await callee.setLocalDescription(await callee.createAnswer())
    await caller.setRemoteDescription(callee.localDescription)
    await wait_for(lambda: caller.connectionState == "connected", within=10)
    await hang_up(caller)
    await hang_up(callee)
    await hang_up(caller)
    assert caller.connectionState == callee.connectionState == "closed"
    assert not [t for t in asyncio.all_tasks() if "query_consent" in repr(t.get_coro())]

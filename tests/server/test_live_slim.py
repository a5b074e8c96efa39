"""What an idle live socket keeps: the front door, the trimmed uvicorn protocol, the small queue."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

import pytest

from server.http_limits import BoundedHttpTools
from server.live.front import live_session_id
from server.live.sinks import DirectSink
from server.live.slim import SmallEvent, SmallQueue
from tests.server.live_helpers import Peer, live_server, wait_for
from tests.server.orders_helpers import live_session


@pytest.mark.parametrize(
    ("path", "root", "sid"),
    [
        ("/ws/sessions/7", "", 7),
        ("/app/ws/sessions/12", "/app", 12),
        ("/ws/sessions/2147483647", "", 2**31 - 1),
        ("/ws/sessions/2147483648", "", None),  # beyond PathId: the route refuses it
        ("/ws/sessions/0", "", None),
        ("/ws/sessions/007", "", None),
        ("/ws/sessions/7/", "", None),
        ("/ws/sessions/x", "", None),
        ("/ws/other/7", "", None),
    ],
)
def test_only_the_live_path_takes_the_front_door(path: str, root: str, sid: int | None) -> None:
    """The front answers exactly the ids the route accepts; anything else takes the app."""
    assert live_session_id({"type": "websocket", "path": path, "root_path": root}) == sid
    assert live_session_id({"type": "http", "path": path, "root_path": root}) is None


async def test_small_queue_is_fifo_and_wakes_its_reader() -> None:
    """put_nowait wakes a waiting get; order is kept; get_nowait on empty raises."""
    queue = SmallQueue(["a"])
    assert await queue.get() == "a" and queue.empty()
    with pytest.raises(asyncio.QueueEmpty):
        queue.get_nowait()
    reader = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait("b")
    queue.put_nowait("c")
    assert await asyncio.wait_for(reader, 1) == "b"
    assert queue.qsize() == 1 and await queue.get() == "c"
    cancelled = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.gather(cancelled, return_exceptions=True)
    queue.put_nowait("d")  # a cancelled reader loses nothing
    assert queue.get_nowait() == "d"


async def test_small_event_waits_until_set() -> None:
    """wait returns at once when set, else when set() is called; clear re-arms it."""
    event = SmallEvent()
    assert event.is_set() and await event.wait()
    event.clear()
    waiters = [asyncio.ensure_future(event.wait()) for _ in range(3)]
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiters)
    event.set()
    assert await asyncio.wait_for(asyncio.gather(*waiters), 1) == [True, True, True]


async def test_an_idle_socket_keeps_no_handshake_and_no_http_protocol(tmp_path: Path) -> None:
    """Under uvicorn the viewer's protocol holds no request, response or header list, its
    queue and write event are the small ones, and the HTTP protocol that did the upgrade
    is freed without waiting for the cyclic GC."""
    async with live_server(tmp_path, cli_options=True) as srv:
        s = await live_session(srv.api)
        gc.disable()  # only reference counting may free the upgraded HTTP protocol
        try:
            gc.collect()
            before = sum(isinstance(o, BoundedHttpTools) for o in gc.get_objects())
            peer = await Peer.open(srv.ws_url(s["sid"]))
            await peer.expect("snapshot")
            [room] = srv.services.live.fanout.rooms.values()
            [viewer] = room.viewers
            assert isinstance(viewer.sink, DirectSink)
            proto = viewer.sink._proto
            assert proto.request is None and proto.response is None
            assert proto.scope["headers"] == []
            assert isinstance(proto.queue, SmallQueue)
            assert isinstance(proto.writable, SmallEvent)
            after = sum(isinstance(o, BoundedHttpTools) for o in gc.get_objects())
            assert after <= before  # the upgraded one is gone (keep-alive ones may close)
            await peer.send(type="hello", name="Chị Hoa")
            assert (await peer.expect("hello"))["type"] == "hello"  # the small queue reads
        finally:
            gc.enable()
        await peer.close()
        await wait_for(lambda: not srv.services.live.fanout.rooms, what="viewer gone")

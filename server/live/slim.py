"""Trim what uvicorn's WebSocket protocol keeps per connection once the handshake is done.

An idle viewer is a socket that waits: uvicorn's protocol object holds, for its whole
life, the parsed handshake request and our 101 response (two `Headers` structures, about
3 KiB), an `asyncio.Queue` for the app's `receive()` (three deques, 2.2 KiB) and an
`asyncio.Event` for write flow control (one deque, 0.7 KiB). After `accept` the request
and response are never read again, and at most a couple of messages are ever queued
(uvicorn pauses reading after each one), so `slim` drops the first two and swaps the
queue and the event for the small classes below, which allocate only while someone
waits. It is called by sinks.DirectSink.attach right after accept, when nothing awaits
the queue yet; tests/server/test_live_sinks.py pins the attributes it touches.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any


class SmallQueue:
    """The part of asyncio.Queue uvicorn uses: put_nowait, get, empty, get_nowait."""

    __slots__ = ("_items", "_waiter")

    def __init__(self, items: Iterable[Any] = ()) -> None:
        self._items: list[Any] = list(items)
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def get_nowait(self) -> Any:
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.pop(0)

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)

    async def get(self) -> Any:
        while not self._items:
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            try:
                await waiter
            finally:
                if self._waiter is waiter:
                    self._waiter = None
        return self._items.pop(0)


class SmallEvent:
    """asyncio.Event without a standing deque: set, clear, is_set, wait."""

    __slots__ = ("_set", "_waiters")

    def __init__(self, is_set: bool = True) -> None:
        self._set = is_set
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        if self._set:
            return True
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)
        return True


SLIMMED = ("request", "response", "queue", "writable", "scope")


def slim(proto: Any) -> None:
    """Drop the handshake's request and response, swap the queue and the write event.

    The request's headers are emptied as well as dropped: websockets' parser generator
    keeps the request in a local for the life of the connection. So are the scope's
    (Starlette's `websocket.headers` reads the same list): the gateway reads what it needs
    (Origin, cookie, forwarded-for) before accept, and nothing reads them after.
    """
    if proto.request is not None:
        proto.request.headers.clear()
    proto.request = None
    proto.response = None
    headers = proto.scope.get("headers")
    if isinstance(headers, list):
        headers.clear()
    queue = proto.queue
    items = []
    while not queue.empty():
        items.append(queue.get_nowait())
    proto.queue = SmallQueue(items)
    proto.writable = SmallEvent(proto.writable.is_set())

"""Fixtures for relay tests: a started relay, its status reports, decode-error counting."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import pytest

from stream.relay import Relay
from tests.stream.peers import DecodeErrors


class StatusLog:
    """Records the relay's on_status calls in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    async def __call__(self, session_id: str, status: str) -> None:
        self.calls.append((session_id, status))

    def of(self, session_id: str) -> list[str]:
        return [status for sid, status in self.calls if sid == session_id]


@pytest.fixture
def statuses() -> StatusLog:
    return StatusLog()


@pytest.fixture
async def relay(statuses: StatusLog) -> AsyncIterator[Relay]:
    relay = Relay([], on_status=statuses)
    await relay.start()
    try:
        yield relay
    finally:
        await relay.stop()


@pytest.fixture
def decode_errors() -> Iterator[DecodeErrors]:
    handler = DecodeErrors()
    logger = logging.getLogger("aiortc.rtcrtpreceiver")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)

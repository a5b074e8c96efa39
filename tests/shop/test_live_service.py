"""Tests for shop.live.service: ticker, pin/status on staff changes, the relay's hook."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from shop.adapters.memory_gate import MemoryGate
from shop.adapters.memory_hub import MemoryHub
from shop.catalogue import SessionStatus
from shop.errors import InvalidInput
from shop.gate import LotSeed
from shop.live.hub import Audience
from shop.live.ratelimit import Rate
from shop.live.service import LiveService
from shop.order_status import OrderStatus
from shop.orders import Order
from tests.shop.live_fakes import Catalogue, session


class Inbox(list[dict]):
    def __call__(self, session_id: int, audience: Audience, payload: str) -> None:
        self.append({"session": session_id, "audience": audience, **json.loads(payload)})

    def of(self, kind: str) -> list[dict]:
        return [e for e in self if e["type"] == kind]


@pytest.fixture
async def live() -> AsyncIterator[tuple[LiveService, Inbox, MemoryHub]]:
    gate = MemoryGate()
    await gate.load(LotSeed(1, 1_000_000))
    hub = MemoryHub()
    inbox = Inbox()
    service = LiveService(
        hub=hub,
        gate=gate,
        live_sessions=Catalogue(session(7, [1])).live_sessions,
        ticker_rate=Rate(burst=3, per_second=0.01),
    )
    await service.start(inbox)
    yield service, inbox, hub
    await service.stop()


def order(name: str, province: str, grams: int, session_id: int = 7) -> Order:
    now = datetime.now(UTC)
    return Order(
        id="o",
        session_id=session_id,
        offer_id=1,
        lot_id=1,
        idempotency_key="k",
        request_hash="h",
        token_hash="t",
        status=OrderStatus.PLACED,
        quantity=1,
        grams=grams,
        unit_price=1,
        total=1,
        currency="VND",
        buyer_name=name,
        buyer_phone="0912345678",
        province_code="24",
        province_name=province,
        ward_code=None,
        ward_name="Phường Chũ",
        street="Thôn 1",
        payment_method="cod",
        payment_ref=None,
        hold_expires_at=None,
        created_at=now,
        updated_at=now,
        flags=None,
    )


async def until(condition, timeout: float = 3.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_orders_become_anonymous_ticker_lines(live) -> None:  # type: ignore[no-untyped-def]
    """An order is announced by initial and province only: no phone, no street, no full name."""
    service, inbox, _ = live
    await service.order_placed(order("Nguyễn Thị Hoa", "Tỉnh Bắc Ninh", 10_000))
    await until(lambda: inbox.of("order"))
    [event] = inbox.of("order")
    assert event == {
        "session": 7,
        "audience": Audience.ALL,
        "type": "order",
        "text": "Khách H. · Bắc Ninh vừa mua 10 kg",
        "grams": 10_000,
    }
    assert "0912" not in json.dumps(event, ensure_ascii=False)


async def test_ticker_is_rate_limited_per_session_and_never_blocks_orders(live) -> None:  # type: ignore[no-untyped-def]
    """A burst of orders: the hook returns at once, the room sees at most its ticker burst."""
    service, inbox, _ = live
    started = time.monotonic()
    for i in range(100):
        await service.order_placed(order(f"Anh {chr(65 + i % 26)}", "Hà Nội", 2_000))
    assert time.monotonic() - started < 0.5
    await service.order_placed(order("Chị Lan", "Huế", 5_000, session_id=8))
    await until(lambda: any(e["session"] == 8 for e in inbox.of("order")))
    await asyncio.sleep(0.05)
    assert len([e for e in inbox.of("order") if e["session"] == 7]) == 3
    assert service.ticker_dropped == 97


async def test_staff_changes_publish_pin_and_status_once(live) -> None:  # type: ignore[no-untyped-def]
    """First sight publishes both; a pin publishes only `pin`; ending publishes the sale
    closing (`sale`) and then `status`."""
    service, inbox, _ = live
    live_session = session(7, [1], pinned=None)
    await service.session_changed(live_session)
    await service.session_changed(replace(live_session, pinned_offer_id=700))
    await service.session_changed(
        replace(live_session, pinned_offer_id=700, status=SessionStatus.ENDED)
    )
    assert [
        (e["type"], e.get("offer_id"), e.get("status")) for e in inbox if e["type"] != "stock"
    ] == [
        ("pin", None, None),
        ("status", None, "live"),
        ("pin", 700, None),
        ("sale", None, None),
        ("status", None, "ended"),
    ]
    assert inbox.of("sale")[-1]["sale_status"] == "closed"
    await until(lambda: inbox.of("stock"))  # opening and closing give the room its figures
    assert inbox.of("stock")[-1]["available_grams"] == 1_000_000


async def test_relay_status_is_published_and_remembered(live) -> None:  # type: ignore[no-untyped-def]
    """set_stream_status tells viewers and stores it for snapshots; unknown values refused."""
    service, inbox, hub = live
    await service.set_stream_status(7, "paused")
    assert inbox.of("status") == [
        {"session": 7, "audience": Audience.ALL, "type": "status", "status": "paused"}
    ]
    assert await hub.stream_status(7) == "paused"
    with pytest.raises(InvalidInput):
        await service.set_stream_status(7, "buffering")


async def test_lots_changed_feeds_the_coalescer(live) -> None:  # type: ignore[no-untyped-def]
    """The order outbox hook leads to a stock event for each session selling the lot."""
    service, inbox, _ = live
    await service.lots_changed([1])
    await until(lambda: inbox.of("stock"))
    assert inbox.of("stock")[0]["session"] == 7 and inbox.of("stock")[0]["lot_id"] == 1

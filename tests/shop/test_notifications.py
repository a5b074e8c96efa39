"""Buyer messages: the Notifier adapters on their fakes, and the outbox that sends each once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shop.adapters.esms_sms import EsmsSms
from shop.adapters.sql.migrate import upgrade
from shop.adapters.sql.notifications import SqlNotifications
from shop.adapters.zalo_zns import ZaloZns
from shop.notify.log_notifier import LogNotifier
from shop.notify.port import Message, MessageEvent, Notifier, NotifierRefused, NotifierUnavailable
from shop.notify.service import NotificationService, order_message
from shop.notify.texts import message_text, plain_ascii
from tests.fakes.messaging_fakes import NO_ZALO, FakeEsms, FakeZalo

SHIPPED = order_message(
    "order-1", "0912345678", MessageEvent.SHIPPED, order_code="K7M2Q9XA", carrier="GHN",
    tracking="GHN000001", tracking_url="https://donhang.ghn.vn/?order_code=GHN000001",
)  # fmt: skip
TEMPLATES = {e.value: f"tpl-{e.value}" for e in MessageEvent}


def adapter(kind: str, fake: Any) -> Notifier:
    if kind == "zalo":
        return ZaloZns(access_token="oa-token", templates=TEMPLATES,
                       url="https://zalo.test/message/template", transport=fake.transport())  # fmt: skip
    return EsmsSms(api_key="esms-key", secret_key="esms-secret", brandname="FARMLIVE",
                   url="https://esms.test" + FakeEsms.path, transport=fake.transport())  # fmt: skip


@pytest.fixture(params=["zalo", "esms"])
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Notifier, Any]]:
    fake: Any = FakeZalo() if request.param == "zalo" else FakeEsms()
    notifier = adapter(request.param, fake)
    yield notifier, fake
    await notifier.close()


async def test_adapter_sends_the_message(rig: tuple[Notifier, Any]) -> None:
    """ZNS gets the template and its data; eSMS gets the text without diacritics."""
    notifier, fake = rig
    ref = await notifier.send(SHIPPED)
    [sent] = fake.sent
    assert ref
    if isinstance(fake, FakeZalo):
        assert sent["phone"] == "84912345678" and sent["template_id"] == "tpl-shipped"
        assert sent["template_data"]["tracking_url"].endswith("GHN000001")
        assert sent["tracking_id"] == "order-1:shipped"
    else:
        assert sent["Phone"] == "0912345678" and sent["RequestId"] == "order-1:shipped"
        assert sent["Content"].isascii() and "GHN000001" in sent["Content"]
        assert "Don K7M2Q9XA da gui qua GHN" in sent["Content"]


async def test_adapter_down_is_retryable(rig: tuple[Notifier, Any]) -> None:
    """A provider answering 5xx is NotifierUnavailable, and nothing was sent."""
    notifier, fake = rig
    fake.faults.fail(fake.path, "down")
    with pytest.raises(NotifierUnavailable):
        await notifier.send(SHIPPED)
    assert fake.sent == []


async def test_refusals_are_for_good() -> None:
    """A phone without Zalo (-118) and bad eSMS keys (101) are NotifierRefused."""
    zalo = ZaloZns(access_token="oa-token", templates=TEMPLATES,
                   url="https://zalo.test/message/template", transport=FakeZalo().transport())  # fmt: skip
    with pytest.raises(NotifierRefused):
        await zalo.send(Message("x:received", "0900000000", MessageEvent.RECEIVED))
    assert NO_ZALO == "84900000000"
    esms = EsmsSms(api_key="wrong", secret_key="x", brandname="B", url="https://esms.test/x",
                   transport=FakeEsms().transport())  # fmt: skip
    with pytest.raises(NotifierRefused):
        await esms.send(SHIPPED)
    await zalo.close()
    await esms.close()


def test_texts() -> None:
    """Messages read in Vietnamese; the SMS form drops marks but keeps the words."""
    assert message_text(SHIPPED).startswith("farmlive: Đơn K7M2Q9XA đã gửi qua GHN, mã GHN000001.")
    assert plain_ascii("Đơn đã giao thành công") == "Don da giao thanh cong"


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url)
    await upgrade(engine)
    yield engine
    await engine.dispose()


class Flaky(LogNotifier):
    """A log notifier that is down for its first `down` sends."""

    def __init__(self, down: int = 0, refuse: bool = False) -> None:
        super().__init__()
        self.down, self.refuse, self.calls = down, refuse, 0

    async def send(self, message: Message) -> str:
        self.calls += 1
        if self.refuse:
            raise NotifierRefused("no such phone")
        if self.down:
            self.down -= 1
            raise NotifierUnavailable("provider down")
        return await super().send(message)


async def test_each_message_is_sent_once(engine: AsyncEngine) -> None:
    """Enqueuing the same (order, event) twice sends it once; another event is its own message."""
    notifier = LogNotifier()
    service = NotificationService(store=SqlNotifications(engine), notifier=notifier)
    received = order_message("o1", "0912345678", MessageEvent.RECEIVED, order_code="K7M2Q9XA")
    assert await service.enqueue(("o1", received)) == 1
    assert await service.enqueue(("o1", received)) == 0
    assert await service.send_due() == 1
    await service.enqueue(("o1", received), ("order-1", SHIPPED))
    assert await service.send_due() == 1
    assert await service.send_due() == 0
    assert [m.dedup_key for m in notifier.sent] == ["o1:received", "order-1:shipped"]
    rows = await SqlNotifications(engine).for_order("o1")
    assert [(r["event"], r["state"], r["channel"]) for r in rows] == [("received", "sent", "log")]


async def test_provider_down_backs_off_then_sends(engine: AsyncEngine) -> None:
    """A provider down twice: the message waits 5 s, then 10 s, then goes; staff see attempts."""
    store = SqlNotifications(engine)
    notifier = Flaky(down=2)
    service = NotificationService(store=store, notifier=notifier)
    await service.enqueue(("order-1", SHIPPED))
    t0 = datetime.now(UTC)
    assert await service.send_due(t0) == 0
    assert await service.send_due(t0 + timedelta(seconds=3)) == 0  # not due yet
    assert notifier.calls == 1
    assert await service.send_due(t0 + timedelta(seconds=6)) == 0
    [row] = await store.for_order("order-1")
    assert (row["state"], row["attempts"], row["last_error"]) == ("pending", 2, "provider down")
    assert await service.send_due(t0 + timedelta(seconds=17)) == 1
    assert notifier.calls == 3 and len(notifier.sent) == 1
    assert await service.send_due(t0 + timedelta(hours=5)) == 0


async def test_refused_message_fails_for_good(engine: AsyncEngine) -> None:
    """A refusal marks the message failed at once; it is never tried again."""
    store = SqlNotifications(engine)
    notifier = Flaky(refuse=True)
    service = NotificationService(store=store, notifier=notifier)
    await service.enqueue(("order-1", SHIPPED))
    await service.send_due()
    await service.send_due(datetime.now(UTC) + timedelta(days=1))
    assert notifier.calls == 1
    assert (await store.counts()) == {"failed": 1}


async def test_two_workers_never_send_one_message_twice(engine: AsyncEngine) -> None:
    """Two services (two instances) on one outbox: the claim lets only one send each message."""
    import asyncio

    a, b = LogNotifier(), LogNotifier()
    store = SqlNotifications(engine)
    sa, sb = (
        NotificationService(store=store, notifier=a),
        NotificationService(store=store, notifier=b),
    )
    await sa.enqueue(
        *[(f"o{i}", order_message(f"o{i}", "0912345678", MessageEvent.RECEIVED)) for i in range(20)]
    )
    await asyncio.gather(sa.send_due(), sb.send_due())
    keys = [m.dedup_key for m in a.sent + b.sent]
    assert sorted(keys) == sorted(f"o{i}:received" for i in range(20))

"""Buyers find their orders by phone with a one-time code sent through the Notifier port."""

from __future__ import annotations

from typing import Any

import pytest

from shop.buyer_codes import BuyerCodes
from shop.notify.log_notifier import LogNotifier
from shop.notify.service import NotificationService
from tests.conftest import Api
from tests.server.orders_helpers import key, live_session, order_body

PHONE = "0912345678"


@pytest.fixture
async def notify(api: Api) -> NotificationService:
    """The app's message worker, stopped: the test sends by hand and reads the log adapter."""
    service: NotificationService = api.app.state.services.notifications  # type: ignore[attr-defined]
    await service.stop()
    return service


def sent_code(notify: NotificationService) -> str:
    assert isinstance(notify.notifier, LogNotifier)
    [message] = [m for m in notify.notifier.sent if m.event.value == "code"]
    return message.params["code"]


async def test_code_then_orders(api: Api, notify: NotificationService) -> None:
    """The code sent to the phone, with its challenge, lists that phone's orders with tokens."""
    s = await live_session(api)
    placed = await api.client.post(
        f"/api/sessions/{s['sid']}/orders", json=order_body(s["offers"]["VL5"], phone=PHONE),
        headers=key(),
    )  # fmt: skip
    r = await api.client.post("/api/buyers/code", json={"phone": "+84 912 345 678"})
    assert r.status_code == 200, r.text
    challenge = r.json()["challenge"]
    await notify.send_due()
    code = sent_code(notify)
    wrong = "000000" if code != "000000" else "111111"
    bad = await api.client.post(
        "/api/buyers/orders", json={"phone": PHONE, "code": wrong, "challenge": challenge}
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_code"
    ok = await api.client.post(
        "/api/buyers/orders", json={"phone": PHONE, "code": code, "challenge": challenge}
    )
    assert ok.status_code == 200, ok.text
    [order] = ok.json()["orders"]
    assert order["id"] == placed.json()["id"] and order["token"] == placed.json()["token"]
    again = await api.client.get(f"/api/orders/{order['id']}", params={"token": order["token"]})
    assert again.status_code == 200
    other = await api.client.post(
        "/api/buyers/orders", json={"phone": "0987654321", "code": code, "challenge": challenge}
    )
    assert other.status_code == 422


async def test_no_message_to_a_phone_without_orders(api: Api, notify: NotificationService) -> None:
    """A phone that never ordered gets the same answer and no message (no cost, no leak)."""
    r = await api.client.post("/api/buyers/code", json={"phone": "0987654321"})
    assert r.status_code == 200 and r.json()["challenge"]
    await notify.send_due()
    assert isinstance(notify.notifier, LogNotifier) and list(notify.notifier.sent) == []


async def test_guesses_are_limited_per_phone(api: Api, notify: NotificationService) -> None:
    """After five wrong guesses for a phone the sixth is 429, even with the right code."""
    s = await live_session(api)
    await api.client.post(
        f"/api/sessions/{s['sid']}/orders", json=order_body(s["offers"]["VL5"], phone=PHONE),
        headers=key(),
    )  # fmt: skip
    challenge = (await api.client.post("/api/buyers/code", json={"phone": PHONE})).json()[
        "challenge"
    ]
    await notify.send_due()
    code = sent_code(notify)
    wrong = "000000" if code != "000000" else "111111"
    codes: list[Any] = []
    for _ in range(5):
        r = await api.client.post(
            "/api/buyers/orders", json={"phone": PHONE, "code": wrong, "challenge": challenge}
        )
        codes.append(r.status_code)
    last = await api.client.post(
        "/api/buyers/orders", json={"phone": PHONE, "code": code, "challenge": challenge}
    )
    assert codes == [422] * 5 and last.status_code == 429


def test_challenges_expire_and_bind_the_phone() -> None:
    """A challenge verifies only its own code, phone and lifetime, and only under its key."""
    codes = BuyerCodes(b"k" * 32)
    code, _, challenge = codes.issue(PHONE, 1_000_000_000)
    assert codes.verify(challenge, PHONE, code, 1_000_000_100)
    assert not codes.verify(challenge, PHONE, code, 1_000_000_601)
    assert not codes.verify(challenge, "0987654321", code, 1_000_000_100)
    assert not BuyerCodes(b"x" * 32).verify(challenge, PHONE, code, 1_000_000_100)
    assert not codes.verify(challenge + "0", PHONE, code, 1_000_000_100)

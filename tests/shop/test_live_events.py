"""Tests for shop.live.events: the wire shapes and the one encoder."""

from __future__ import annotations

import json

from shop.gate import LotState
from shop.live import events
from shop.live.records import ChatLine


def test_stock_event_carries_the_contract_fields_and_is_found_by_prefix() -> None:
    """`stock` has lot_id, sold/held/available grams and seq; fan-out spots it by prefix."""
    payload = events.encode(events.stock(LotState(3, 1_000, 200, 300), seq=17))
    assert payload.startswith(events.STOCK_PREFIX)
    assert json.loads(payload) == {
        "type": "stock",
        "lot_id": 3,
        "sold_grams": 300,
        "held_grams": 200,
        "available_grams": 500,
        "stock_grams": 1_000,
        "seq": 17,
    }


def test_chat_events_never_expose_the_author() -> None:
    """Client id and IP stay on the server; staff lines carry their role."""
    line = ChatLine(
        id="1-1", name="Chị Hoa", text="ngon", ts=5, client_id="secret-id", ip="1.2.3.4"
    )
    public = events.encode(events.chat_line(line))
    assert "secret-id" not in public and "1.2.3.4" not in public
    assert json.loads(public) == {
        "type": "chat",
        "id": "1-1",
        "name": "Chị Hoa",
        "text": "ngon",
        "ts": 5,
    }
    staff = ChatLine(id="1-2", name="Host", text="hi", ts=6, client_id="x", role="host")
    assert events.chat_line(staff)["role"] == "host"


def test_encoding_is_compact_utf8_and_keeps_markup() -> None:
    """No spaces, Vietnamese unescaped, markup untouched (pages use textContent)."""
    payload = events.encode(events.order("Chị H. · Bắc Ninh vừa mua 10 kg", 10_000))
    assert payload == '{"type":"order","text":"Chị H. · Bắc Ninh vừa mua 10 kg","grams":10000}'
    xss = "<img src=x onerror=alert(1)>"
    assert json.loads(events.encode({"type": "chat", "text": xss}))["text"] == xss


def test_every_event_starts_with_its_type() -> None:
    """Constructors put "type" first, which the prefix checks rely on."""
    built = [
        events.pin(4),
        events.status("paused"),
        events.viewers(9),
        events.chat_deleted("1-1"),
        events.error("muted", "no"),
        events.hello("c" * 22, "An"),
        events.kick("c", 4003, "x"),
        events.order_draft(offer_id=1, quantity=2, grams=10_000, total=500_000, message_id="1-1"),
    ]
    for event in built:
        assert events.encode(event).startswith('{"type":"')
    assert events.encode(events.pin(4)).startswith(events.PIN_PREFIX)
    assert events.encode(events.status("live")).startswith(events.STATUS_PREFIX)

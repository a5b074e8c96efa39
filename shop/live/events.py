"""The live room's events: one constructor per type, and the one encoder.

Every event is a JSON object whose first key is ``type``. A broadcast is encoded once
(`encode`) and the same string is written to every client, so constructors return plain
dicts and nothing downstream re-encodes them per client.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from shop.gate import LotState
from shop.live.records import ChatLine, Intent

Event = dict[str, Any]

# Fan-out looks at a payload's start to find stock events without parsing every event.
STOCK_PREFIX = '{"type":"stock"'
PIN_PREFIX = '{"type":"pin"'
STATUS_PREFIX = '{"type":"status"'

# paused: the publisher dropped (technical); stopped: the host stopped broadcasting on purpose.
STREAM_STATUSES = frozenset({"live", "paused", "stopped", "ended"})


def encode(event: Mapping[str, Any]) -> str:
    """Compact JSON, UTF-8 text kept as is (Vietnamese is shorter that way than escaped)."""
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"))


def lot(state: LotState, seq: int) -> Event:
    """A lot's figures as the snapshot lists them."""
    return {
        "lot_id": state.lot_id,
        "stock_grams": state.stock_grams,
        "sold_grams": state.sold_grams,
        "held_grams": state.held_grams,
        "available_grams": state.available_grams,
        "seq": seq,
    }


def snapshot(
    *,
    session: Mapping[str, Any],
    lots: Sequence[Event],
    chat: Sequence[ChatLine],
    viewers: int,
    client_id: str,
    stream_status: str | None,
) -> Event:
    return {
        "type": "snapshot",
        "session": dict(session),
        "lots": list(lots),
        "chat": [chat_line(line) for line in chat],
        "viewers": viewers,
        "client_id": client_id,
        "stream_status": stream_status,
    }


def stock(state: LotState, seq: int) -> Event:
    return {
        "type": "stock",
        "lot_id": state.lot_id,
        "sold_grams": state.sold_grams,
        "held_grams": state.held_grams,
        "available_grams": state.available_grams,
        "stock_grams": state.stock_grams,
        "seq": seq,
    }


def chat_line(line: ChatLine) -> Event:
    """The public view of a chat line: never the author's client id or address."""
    event: Event = {"type": "chat", "id": line.id, "name": line.name, "text": line.text}
    event["ts"] = line.ts
    if line.role:
        event["role"] = line.role
    return event


def chat_deleted(message_id: str) -> Event:
    return {"type": "chat.deleted", "id": message_id}


def pin(offer_id: int | None) -> Event:
    return {"type": "pin", "offer_id": offer_id}


def price(offer_id: int, price: int) -> Event:
    """An offer's new price (VND) from now on; orders already placed keep theirs."""
    return {"type": "price", "offer_id": offer_id, "price": price}


def viewers(count: int) -> Event:
    return {"type": "viewers", "count": count}


def order(text: str, grams: int) -> Event:
    return {"type": "order", "text": text, "grams": grams}


def status(value: str) -> Event:
    return {"type": "status", "status": value}


def sale(sale_status: str) -> Event:
    """The host opened, paused or resumed the sale (`open`, `paused`, `closed`)."""
    return {"type": "sale", "sale_status": sale_status}


def error(code: str, message: str, **extra: Any) -> Event:
    return {"type": "error", "code": code, "message": message, **extra}


def hello(client_id: str, name: str, role: str | None = None) -> Event:
    event: Event = {"type": "hello", "client_id": client_id, "name": name}
    if role:
        event["role"] = role
    return event


def order_draft(
    *, offer_id: int, quantity: int, grams: int, total: int, message_id: str | None
) -> Event:
    return {
        "type": "order.draft",
        "offer_id": offer_id,
        "quantity": quantity,
        "grams": grams,
        "total": total,
        "message_id": message_id,
    }


def intent(item: Intent) -> Event:
    """A parsed order intent, for staff only (it carries the unmasked text and client id)."""
    return {"type": "intent", **intent_fields(item)}


def intent_fields(item: Intent) -> Event:
    return {
        "id": item.id,
        "message_id": item.message_id,
        "name": item.name,
        "client_id": item.client_id,
        "text": item.text,
        "offer_id": item.offer_id,
        "quantity": item.quantity,
        "grams": item.grams,
        "total": item.total,
        "ts": item.ts,
    }


def kick(client_id: str, code: int, reason: str, device: str = "") -> Event:
    """A control message between instances: close this viewer's sockets everywhere."""
    event: Event = {"type": "kick", "client_id": client_id, "code": code, "reason": reason}
    if device:
        event["device"] = device
    return event

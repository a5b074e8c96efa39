"""What the hub stores per session: chat lines and parsed order intents."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ChatLine:
    """One chat message as others see it (`text` has phone numbers masked).

    `client_id` and `ip` identify the author for moderation; they never leave the server
    in a public event. `id` is assigned by the hub when the line is stored.
    """

    id: str
    name: str
    text: str
    ts: int  # unix milliseconds
    client_id: str
    ip: str = ""
    role: str | None = None  # a staff author's role ("host", "moderator", ...)
    device: str = ""  # the author's device id (shop/live/restrictions.py)


@dataclass(frozen=True, slots=True)
class Intent:
    """A chat line the comment-to-order parser read as an order, queued for staff."""

    id: str
    message_id: str | None
    name: str
    client_id: str
    text: str  # as typed (unmasked): staff call the buyer back
    offer_id: int
    quantity: int
    grams: int
    total: int
    ts: int  # unix milliseconds

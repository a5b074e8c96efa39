"""The Notifier port: send one message to a buyer's phone, through Zalo ZNS, SMS or a log.

A message is identified by its `dedup_key` (`<order id>:<event>`, or `otp:<phone>:<nonce>`):
the outbox keeps one row per key, so each is sent once however often it is asked for;
adapters pass the key to providers that deduplicate too (ZNS `tracking_id`, eSMS
`RequestId`). `NotifierUnavailable` means "try again later" (backoff); `NotifierRefused`
means this message will never go (a phone without Zalo, a bad number).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from shop.errors import InvalidInput, ShopError


class MessageEvent(enum.StrEnum):
    RECEIVED = "received"  # the order is in
    CONFIRMED = "confirmed"
    SHIPPED = "shipped"  # with the tracking link
    DELIVERED = "delivered"
    CODE = "code"  # a one-time code: find my orders by phone


class NotifierUnavailable(ShopError):
    """The message provider cannot be reached or is busy; the message is retried later."""

    code = "notifier_unavailable"
    retryable = True


class NotifierRefused(InvalidInput):
    """The provider will never deliver this message (bad number, no Zalo account, ...)."""

    code = "notifier_refused"


@dataclass(frozen=True, slots=True)
class Message:
    dedup_key: str
    phone: str  # normalised 10 digits, 0xxxxxxxxx
    event: MessageEvent
    params: dict[str, str] = field(default_factory=dict)  # order_code, tracking_url, code, ...


@runtime_checkable
class Notifier(Protocol):
    """Adapters: LogNotifier (default), ZaloZns, EsmsSms."""

    @property
    def name(self) -> str: ...

    async def send(self, message: Message) -> str:
        """Send it; the provider's message id. NotifierUnavailable / NotifierRefused."""
        ...

    async def close(self) -> None: ...


def international(phone: str) -> str:
    """0912345678 -> 84912345678, the form Zalo and SMS gateways take."""
    return "84" + phone[1:] if phone.startswith("0") else phone

"""NotificationService: buyer messages through an outbox, each sent once, retried with backoff.

`enqueue` writes one row per (order, event) (the store ignores a second one), so asking
twice never sends twice. A worker owned by `start`/`stop` sends what is due: a provider
down leaves the message pending with its next attempt pushed back (5 s, 10 s, 20 s, ...);
a refusal marks it failed for staff to see. A row is claimed (its next attempt moved a
lease ahead) before it is sent, so two instances never send it at the same moment.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from shop.errors import ShopError
from shop.notify.port import Message, MessageEvent, Notifier
from shop.retry import next_attempt

log = logging.getLogger("farmlive.notify")
_BATCH = 100


@dataclass(frozen=True, slots=True)
class Outgoing:
    id: int
    message: Message
    attempts: int


class NotificationStore(Protocol):
    """SqlNotifications implements it."""

    async def enqueue(self, messages: Sequence[tuple[str | None, Message]], now: datetime) -> int:
        """Insert (order id, message) rows whose dedup key is new; how many were new."""
        ...

    async def claim_due(self, now: datetime, lease_s: float, limit: int) -> list[Outgoing]: ...

    async def sent_many(self, done: Sequence[tuple[int, str]], channel: str, now: datetime) -> None:
        """Mark the (row id, provider reference) pairs sent, in one transaction."""
        ...

    async def retry(self, row_id: int, attempts: int, at: datetime | None, error: str) -> None:
        """Another attempt at `at`, or failed for good when `at` is None."""
        ...


def order_message(order_id: str, phone: str, event: MessageEvent, **params: str) -> Message:
    return Message(dedup_key=f"{order_id}:{event.value}", phone=phone, event=event, params=params)


class NotificationService:
    def __init__(
        self,
        *,
        store: NotificationStore,
        notifier: Notifier,
        interval_s: float = 1.0,
        lease_s: float = 60.0,
    ) -> None:
        self._store = store
        self.notifier = notifier
        self._interval = interval_s
        self._lease = lease_s
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def enqueue(self, *items: tuple[str | None, Message]) -> int:
        """Queue messages (order id or None, message); each dedup key is sent at most once."""
        new = await self._store.enqueue(items, datetime.now(UTC))
        if new:
            self._wake.set()
        return new

    async def send_due(self, now: datetime | None = None, limit: int = 100) -> int:
        """Send what is due now; how many went out.

        The sent marks of one claimed batch are written together (one transaction, not
        one per message, which cost a commit per order under load). They are written even
        if a send fails unexpectedly half-way, so a crash is the only way to send twice.
        """
        now = now or datetime.now(UTC)
        done: list[tuple[int, str]] = []
        try:
            for row in await self._store.claim_due(now, self._lease, limit):
                try:
                    ref = await self.notifier.send(row.message)
                except ShopError as exc:
                    attempts = row.attempts + 1
                    at = next_attempt(now, attempts) if exc.retryable else None
                    log.warning(
                        "message %s not sent (attempt %d): %s",
                        row.message.dedup_key,
                        attempts,
                        exc.message,
                    )
                    await self._store.retry(row.id, attempts, at, exc.message[:300])
                    continue
                done.append((row.id, ref[:100]))
        finally:
            await self._store.sent_many(done, self.notifier.name, datetime.now(UTC))
        return len(done)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="notifications")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), self._interval)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                # Until the backlog is gone: one batch per interval let a busy sale's
                # "received" messages (one per order) fall minutes behind.
                sent = _BATCH
                while sent >= _BATCH:
                    sent = await self.send_due(limit=_BATCH)
            except Exception:
                log.exception("notification worker failed; retrying")

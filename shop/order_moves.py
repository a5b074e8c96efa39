"""OrderMoves: staff (and any other in-process caller) moving an order, SQL and gate alike."""

from __future__ import annotations

import logging
from typing import Protocol

from shop.errors import (
    GateUnavailable,
    InvalidTransition,
    OrderChangedMeanwhile,
    ShopError,
    SoldOut,
)
from shop.gate import InventoryGate
from shop.gate_sync import GateSync
from shop.lifecycle import NOOP, REFUSED, Event, outcome, sells
from shop.orders import Order, Transitioned

log = logging.getLogger("farmlive.orders")

RETRIES = 5


class MoveStore(Protocol):
    async def get(self, order_id: str) -> Order: ...

    async def transition(
        self, order_id: str, event: Event, *, actor_id: int | None, action: str
    ) -> Transitioned: ...


class OrderMoves:
    def __init__(self, store: MoveStore, gate: InventoryGate, sync: GateSync) -> None:
        self._store = store
        self._gate = gate
        self._sync = sync

    async def confirm(self, order_id: str, actor_id: int | None) -> Order:
        """COD: placed -> confirmed. Transfer/card: pending (or expired) -> paid. Idempotent."""
        return await self.apply(order_id, Event.CONFIRM, actor_id, "order.confirm", "confirmed")

    async def cancel(self, order_id: str, actor_id: int | None) -> Order:
        """Cancel and give the stock back; cancelling twice is a no-op."""
        return await self.apply(order_id, Event.CANCEL, actor_id, "order.cancel", "cancelled")

    async def apply(
        self, order_id: str, event: Event, actor_id: int | None, action: str, verb: str
    ) -> Order:
        """Move an order as the lifecycle says for `event`, SQL and gate alike.

        A move that sells asks the gate first, so a late payment gets its stock or a
        clear refusal (SQL's backstop counts sales only, the gate counts holds too).
        """
        order = await self._store.get(order_id)
        answer = outcome(order.status, event)
        if answer is NOOP:
            return order
        if answer is REFUSED:
            raise InvalidTransition(f"a {order.status.value} order cannot be {verb}")
        gate_first = sells(order.status, event)
        if gate_first:
            await self._gate.commit(order.lot_id, order.id, order.grams, buyer=order.buyer_phone)
        try:
            moved = await self._transition(order_id, event, actor_id, action)
        except SoldOut:
            if gate_first:
                # The gate sold it but SQL refused: take the sale back out of the gate (the
                # re-sync alone would find it "already sold" and leave it there).
                await self._release_quietly(order)
                await self._sync.sync([order_id])
            raise
        if moved.refused:
            if gate_first:
                await self._sync.sync([order_id])
            raise InvalidTransition(f"a {moved.order.status.value} order cannot be {verb}")
        return moved.order

    async def _transition(
        self, order_id: str, event: Event, actor_id: int | None, action: str
    ) -> Transitioned:
        for _ in range(RETRIES):
            try:
                moved = await self._store.transition(
                    order_id, event, actor_id=actor_id, action=action
                )
            except OrderChangedMeanwhile:
                continue  # raced another change (SQLite has no row locks): read again
            if moved.changed:
                await self._sync.sync([order_id])
            return moved
        raise GateUnavailable("the order is busy; try again")

    async def _release_quietly(self, order: Order) -> None:
        try:
            await self._gate.release(order.lot_id, order.id)
        except ShopError:
            log.warning("could not release hold %s; it will expire", order.id)

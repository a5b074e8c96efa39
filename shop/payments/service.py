"""PaymentService: the providers behind the order path, and what their events do to orders.

- `terms` / `begin` / `view` are the order path's hooks (OrderService.place calls them).
- `handle` applies a verified provider event: the event id is recorded in
  `payment_events` in the same transaction as the order's change, so a redelivered event
  is a no-op however many copies arrive at once.
- Money that lands where it cannot stay (the lot sold out meanwhile, or staff cancelled
  the order) cancels the order and queues a refund in that same transaction; the refund
  is sent at once with the idempotency key `refund-<order id>` and retried by the sweeper
  until the provider takes it.
- `sweep` (every few seconds, owned by `start`/`stop`) closes checkouts whose hold is
  over, releasing stock only once the provider says the checkout can no longer be paid,
  and retries refunds that are still due.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from shop.errors import LotNotLoaded, NotFound, ShopError, SoldOut
from shop.gate import InventoryGate
from shop.lifecycle import Event, OrderStatus, sells
from shop.orders import Order
from shop.payments.port import (
    Applied,
    CheckoutState,
    Draft,
    EventKind,
    Gateway,
    PaymentEvent,
    PaymentLedger,
    PaymentProvider,
    Terms,
)
from shop.tasks import TaskSet

log = logging.getLogger("farmlive.payments")


class GateFollower(Protocol):
    """Makes the gate follow SQL for some orders now (GateSync)."""

    async def sync(self, order_ids: Sequence[str]) -> object: ...


# Event kind -> (lifecycle event, the order flag it sets, the audit action).
_MEANING: dict[EventKind, tuple[Event | None, str | None, str]] = {
    EventKind.EXPIRED: (Event.EXPIRE, None, "payment.expired"),
    EventKind.FAILED: (Event.PAYMENT_FAILED, "payment_failed", "payment.failed"),
    EventKind.REFUNDED: (Event.REFUND, "refunded", "payment.refunded"),
    EventKind.PARTIALLY_REFUNDED: (None, "partial_refund", "payment.refund"),
    EventKind.DISPUTED: (None, "dispute", "payment.dispute"),
}


class PaymentService:
    def __init__(
        self,
        *,
        ledger: PaymentLedger,
        gate: InventoryGate,
        providers: Sequence[PaymentProvider],
        hold_seconds: int,
        sweep_interval_s: int = 5,
        gate_sync: GateFollower | None = None,
    ) -> None:
        self._ledger = ledger
        self._gate = gate
        self.providers: dict[str, PaymentProvider] = {p.method: p for p in providers}
        self._hold_seconds = hold_seconds
        self._sweep_interval = sweep_interval_s
        self._tasks = TaskSet()
        self._gate_sync = gate_sync

    @property
    def methods(self) -> tuple[str, ...]:
        return tuple(self.providers)

    def provider(self, method: str) -> PaymentProvider:
        try:
            return self.providers[method]
        except KeyError:
            raise NotFound(f"payment method {method!r} is not enabled here") from None

    def gateway(self, method: str) -> Gateway:
        provider = self.provider(method)
        if not isinstance(provider, Gateway):
            raise NotFound(f"payment method {method!r} takes no webhooks")
        return provider

    # -- the order path's hooks ---------------------------------------------------------
    async def terms(self, method: str, draft: Draft) -> Terms:
        return await self.provider(method).terms(draft)

    async def begin(self, order: Order, token: str) -> Order:
        """Start the order's payment if it has not started yet; the order as stored."""
        if order.status is not OrderStatus.PENDING_PAYMENT or order.payment_ref is not None:
            return order
        provider = self.providers.get(order.payment_method)
        if provider is None:
            return order
        try:
            start = await provider.begin(order, token)
        except ShopError as exc:
            if not exc.retryable:
                # Refused for good: give the stock back rather than hold it for nothing.
                await self._apply(
                    PaymentEvent(
                        id=f"{order.payment_method}:{order.id}:refused",
                        provider=order.payment_method,
                        type="payment.refused",
                        kind=EventKind.FAILED,
                        order_id=order.id,
                    ),
                    order,
                )
            raise
        if start is None:
            return order
        return await self._ledger.record_payment_start(order.id, start.payment_ref, start.flags)

    def view(self, order: Order, token: str | None) -> dict[str, Any]:
        provider = self.providers.get(order.payment_method)
        if provider is None:  # a method switched off since: still show what is owed
            return {
                "method": order.payment_method,
                "amount": order.total,
                "currency": order.currency,
            }
        return provider.view(order, token)

    # -- provider events ----------------------------------------------------------------
    async def handle(self, event: PaymentEvent) -> Applied:
        """Apply a verified event to its order exactly once."""
        if event.kind is EventKind.IGNORED:
            return Applied(None, changed=False)
        order = await self._find(event)
        if order is None or order.payment_method != event.provider:
            log.warning(
                "payment event %s (%s) matches no %s order", event.id, event.type, event.provider
            )
            return await self._ledger.apply_payment_event(
                event.id, event.provider, event.type, None, None
            )
        return await self._apply(event, order)

    async def _find(self, event: PaymentEvent) -> Order | None:
        if event.order_id:
            try:
                return await self._ledger.get(event.order_id)
            except NotFound:
                pass
        if event.payment_ref:
            return await self._ledger.find_by_payment_ref(event.payment_ref)
        return None

    async def _apply(self, event: PaymentEvent, order: Order) -> Applied:
        gate_touched = False
        if event.kind is EventKind.PAID:
            applied, gate_touched = await self._paid(event, order)
        else:
            applied = await self._record(event, order)
        if (applied.changed or gate_touched) and self._gate_sync is not None:
            try:
                await self._gate_sync.sync([order.id])
            except ShopError as exc:
                # The change is committed with its outbox row: the relay applies it later.
                log.warning("gate did not follow order %s yet: %s", order.id, exc.message)
        if applied.refund_due:
            log.warning("order %s: paid but cannot be kept; refunding", order.id)
            await self._refund(order.id)
        return applied

    async def _paid(self, event: PaymentEvent, order: Order) -> tuple[Applied, bool]:
        """Money arrived: the order is paid if the amount matches and stock is there."""
        record = (event.id, event.provider, event.type, order.id)
        if event.amount != order.total or (event.currency or "").upper() != order.currency:
            log.error(
                "payment %s for order %s: %s %s does not match the order's %s %s",
                event.id, order.id, event.amount, event.currency, order.total, order.currency,
            )  # fmt: skip
            mismatch = {"event": event.id, "amount": event.amount, "currency": event.currency}
            applied = await self._ledger.apply_payment_event(
                *record, None, flags={"payment_mismatch": mismatch}, action="payment.mismatch"
            )
            return applied, False
        force_refund = gate_touched = False
        if sells(order.status, Event.PAY):
            # The gate first, as staff confirmation does: stock or a clear refusal.
            gate_touched = True
            try:
                await self._gate.commit(
                    order.lot_id, order.id, order.grams, buyer=order.buyer_phone
                )
            except SoldOut:
                force_refund = True
            except LotNotLoaded:
                pass  # not on this instance's gate yet: the SQL backstop decides
        applied = await self._ledger.apply_payment_event(
            *record,
            Event.PAY,
            extra={"payment_ref": event.payment_ref} if event.payment_ref else None,
            money_in=True,
            force_refund=force_refund,
            action="payment.paid",
        )
        return applied, gate_touched

    async def _record(self, event: PaymentEvent, order: Order) -> Applied:
        """Every other kind: the lifecycle's move (if any) and what the event says."""
        move, flags, action = _MEANING[event.kind]
        detail: dict[str, Any] | None
        if flags is None:
            detail = None
        elif event.kind is EventKind.FAILED:
            detail = {flags: event.type}
        else:
            detail = {flags: event.detail}
        if event.kind is EventKind.DISPUTED:
            log.warning("order %s: payment disputed (%s)", order.id, event.detail.get("reason"))
        return await self._ledger.apply_payment_event(
            event.id, event.provider, event.type, order.id, move, flags=detail, action=action
        )

    async def _refund(self, order_id: str) -> bool:
        """Send a due refund; False (and it stays due) when the provider is not reachable."""
        order = await self._ledger.get(order_id)
        if not isinstance(self.providers.get(order.payment_method), Gateway):
            return False  # a bank transfer goes back by hand: it waits in the staff queue
        try:
            refund_id = await self.gateway(order.payment_method).refund(order)
        except ShopError as exc:
            log.warning("refund for order %s not sent yet: %s", order_id, exc.message)
            return False
        await self._ledger.refund_sent(order_id, refund_id)
        return True

    # -- the sweeper ----------------------------------------------------------------------
    async def sweep(self, now: datetime | None = None) -> list[str]:
        """Close checkouts past their hold and retry due refunds; the orders it expired."""
        now = now or datetime.now(UTC)
        expired: list[str] = []
        cutoff = now - timedelta(seconds=self._hold_seconds)
        for method, provider in self.providers.items():
            if not isinstance(provider, Gateway):
                continue
            for order in await self._ledger.checkouts_due(method, cutoff):
                if not order.payment_ref:
                    continue  # no checkout was ever opened: its own hold runs out safely
                try:
                    closed = await provider.close_checkout(order)
                except ShopError as exc:
                    log.warning("could not close the checkout of %s: %s", order.id, exc.message)
                    continue
                if closed.state is CheckoutState.EXPIRED:
                    applied = await self._apply(
                        PaymentEvent(
                            id=f"{method}:{order.payment_ref}:expired",
                            provider=method,
                            type="checkout.closed",
                            kind=EventKind.EXPIRED,
                            order_id=order.id,
                        ),
                        order,
                    )
                    if applied.changed:
                        expired.append(order.id)
                elif closed.paid is not None:
                    await self.handle(closed.paid)
        for order_id in await self._ledger.refunds_due():
            await self._refund(order_id)
        return expired

    async def start(self) -> None:
        self._tasks.every(self._sweep_interval, self.sweep, name="payments-sweeper")

    async def stop(self) -> None:
        """Stop the sweeper between sweeps (never mid-SQL), cancelling it if it overruns."""
        await self._tasks.close(grace_s=2)

    async def aclose(self) -> None:
        """Close the providers (their HTTP clients); after `stop`."""
        for provider in reversed(list(self.providers.values())):
            await provider.close()

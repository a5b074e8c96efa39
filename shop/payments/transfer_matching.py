"""Matching incoming bank transfers to orders, through the payment path.

A transfer's note should hold the order's payment reference ("FL" + 10 hex digits, see
`payment_reference`); banks keep it but may glue it to other words, drop spaces or change
case, so it is searched for, not parsed. A found order is paid through
`PaymentService.handle` (event id = the provider's transaction id, deduplicated in the same
transaction as the status change); every transfer is also kept in an inbox with what
matching made of it. Anything that needs a person lands in the staff queue and is never
applied silently:
- `unmatched`: no reference, or one that names no bank-transfer order;
- `mismatch`: the amount is not the order's total (the order is flagged, stays unpaid);
- `refund_due`: money for an order that can no longer take it (cancelled, or expired and
  its stock sold meanwhile): the order stays out, a refund is due, by hand;
- `extra`: money for an order that was already paid.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from shop.orders import Order, PaymentMethod
from shop.payments.port import EventKind, PaymentEvent
from shop.payments.sepay import IncomingTransfer
from shop.payments.service import PaymentService

log = logging.getLogger("farmlive.payments")

_REFERENCE = re.compile(r"FL[0-9A-F]{10}")


class Outcome(enum.StrEnum):
    PAID = "paid"
    MISMATCH = "mismatch"
    UNMATCHED = "unmatched"
    REFUND_DUE = "refund_due"
    EXTRA = "extra"
    IGNORED = "ignored"  # outgoing money


REVIEW = (Outcome.MISMATCH, Outcome.UNMATCHED, Outcome.REFUND_DUE, Outcome.EXTRA)


def references_in(*texts: str | None) -> list[str]:
    """Payment references found in the note (and the provider's own code), first first."""
    found: list[str] = []
    for text in texts:
        squeezed = re.sub(r"[^0-9A-Za-z]", "", text or "").upper()
        for ref in _REFERENCE.findall(squeezed):
            if ref not in found:
                found.append(ref)
    return found


@dataclass(frozen=True, slots=True)
class TransferRecord:
    id: str
    provider: str
    amount: int
    content: str
    bank_reference: str | None
    reference: str | None
    order_id: str | None
    outcome: Outcome


class TransferInbox(Protocol):
    """Where transfers and their outcomes are kept (SqlTransferInbox implements it)."""

    async def record(self, record: TransferRecord, *, authoritative: bool) -> TransferRecord:
        """Store the record; an `authoritative` one (from the delivery that applied the
        event) replaces what a concurrent duplicate stored, a non-authoritative one never
        replaces anything. Returns the one stored."""
        ...

    async def refund_by_hand(self, order_id: str) -> None:
        """A due refund of a bank-transfer order is staff's to make (no API sends it)."""
        ...


class OrderFinder(Protocol):
    async def find_by_payment_ref(self, payment_ref: str) -> Order | None: ...


class TransferMatcher:
    def __init__(
        self, *, payments: PaymentService, orders: OrderFinder, inbox: TransferInbox
    ) -> None:
        self._payments = payments
        self._orders = orders
        self._inbox = inbox

    async def receive(self, transfer: IncomingTransfer) -> TransferRecord:
        """Apply one verified transfer (at most once per id) and say what it did."""
        if not transfer.incoming:
            return await self._keep(transfer, None, None, Outcome.IGNORED)
        order, reference = await self._match(references_in(transfer.code, transfer.content))
        if order is None:
            log.warning("bank transfer %s matches no order", transfer.id)
            return await self._keep(transfer, reference, None, Outcome.UNMATCHED)
        applied = await self._payments.handle(
            PaymentEvent(
                id=transfer.id,
                provider=PaymentMethod.BANK_TRANSFER,
                type=f"{transfer.provider}.transfer_in",
                kind=EventKind.PAID,
                order_id=order.id,
                amount=transfer.amount,
                currency="VND",
                detail={"bank_reference": transfer.bank_reference},
            )
        )
        if transfer.amount != order.total:
            outcome = Outcome.MISMATCH
        elif applied.refund_due:
            outcome = Outcome.REFUND_DUE
            await self._inbox.refund_by_hand(order.id)
        elif applied.changed or applied.duplicate:
            outcome = Outcome.PAID
        else:
            outcome = Outcome.EXTRA  # already paid, or not a state that takes money
        # A duplicate's guess never overwrites what the applying delivery stored.
        return await self._keep(
            transfer, reference, order.id, outcome, authoritative=not applied.duplicate
        )

    async def _match(self, refs: Sequence[str]) -> tuple[Order | None, str | None]:
        for ref in refs:
            order = await self._orders.find_by_payment_ref(ref)
            if order is not None and order.payment_method == PaymentMethod.BANK_TRANSFER:
                return order, ref
        return None, refs[0] if refs else None

    async def _keep(
        self,
        transfer: IncomingTransfer,
        reference: str | None,
        order_id: str | None,
        outcome: Outcome,
        *,
        authoritative: bool = True,
    ) -> TransferRecord:
        return await self._inbox.record(
            TransferRecord(
                id=transfer.id,
                provider=transfer.provider,
                amount=transfer.amount,
                content=transfer.content,
                bank_reference=transfer.bank_reference,
                reference=reference,
                order_id=order_id,
                outcome=outcome,
            ),
            authoritative=authoritative,
        )

"""Bank transfer by VietQR: the buyer scans, their bank app fills in account, amount and note.

The cooperative's account (cooperatives.bank_bin / bank_account / bank_account_name) is
copied into the order when it is placed (`flags["payment"]`), so the QR a buyer was shown
never changes under them. Staff confirm receipt (POST /api/orders/{id}/confirm) after
matching the transfer note (the order reference) on their bank statement; unpaid orders
expire with their hold.
"""

from __future__ import annotations

import asyncio
import functools
import io
import time
from typing import Any, Protocol

import segno

from shop.catalogue import Cooperative, Lot
from shop.errors import InvalidInput, NotFound
from shop.order_status import OrderStatus
from shop.orders import Order, PaymentMethod
from shop.payments.errors import PaymentRefused
from shop.payments.port import Draft, PaymentStart, Terms, payment_reference
from shop.payments.vietqr import transfer_payload


class CooperativeSource(Protocol):
    async def get_lot(self, lot_id: int) -> Lot: ...

    async def get_cooperative(self, cooperative_id: int) -> Cooperative: ...


class BankTransfer:
    """VietQR bank transfer to the cooperative that owns the lot."""

    method = PaymentMethod.BANK_TRANSFER

    def __init__(self, catalogue: CooperativeSource, *, cache_seconds: int = 30) -> None:
        self._catalogue = catalogue
        self._cache_ns = cache_seconds * 1_000_000_000
        self._accounts: dict[int, tuple[int, dict[str, str] | None]] = {}

    async def account_for_lot(self, lot_id: int) -> dict[str, str] | None:
        """The lot's cooperative account, cached briefly (a sale places many orders per lot)."""
        cached = self._accounts.get(lot_id)
        now = time.monotonic_ns()
        if cached is not None and now - cached[0] < self._cache_ns:
            return cached[1]
        lot = await self._catalogue.get_lot(lot_id)
        coop = await self._catalogue.get_cooperative(lot.cooperative_id)
        account = None
        if coop.bank_bin and coop.bank_account:
            account = {
                "bank_bin": coop.bank_bin,
                "bank_account": coop.bank_account,
                "account_name": coop.bank_account_name or coop.name,
            }
        self._accounts[lot_id] = (now, account)
        return account

    async def terms(self, draft: Draft) -> Terms:
        account = await self.account_for_lot(draft.lot_id)
        if account is None:
            raise PaymentRefused(
                "this cooperative takes no bank transfers yet; choose cash on delivery",
                field="payment_method",
            )
        reference = payment_reference(draft.order_id)
        try:
            transfer_payload(
                bank_bin=account["bank_bin"],
                account=account["bank_account"],
                amount=draft.total,
                purpose=reference,
            )
        except InvalidInput as exc:
            raise PaymentRefused(
                f"bank transfer is not possible for this order: {exc.message}",
                field="payment_method",
            ) from exc
        return Terms(payment_ref=reference, flags={"payment": account})

    async def begin(self, order: Order, token: str) -> PaymentStart | None:
        return None

    def payload(self, order: Order) -> str | None:
        """The order's VietQR string, or None for an order without an account snapshot."""
        account = (order.flags or {}).get("payment")
        if order.payment_method != self.method or not isinstance(account, dict):
            return None
        return transfer_payload(
            bank_bin=account["bank_bin"],
            account=account["bank_account"],
            amount=order.total,
            purpose=order.payment_ref or payment_reference(order.id),
        )

    def view(self, order: Order, token: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "method": self.method,
            "amount": order.total,
            "currency": order.currency,
            "reference": order.payment_ref or payment_reference(order.id),
        }
        account = (order.flags or {}).get("payment")
        if isinstance(account, dict):
            out.update(
                bank_bin=account["bank_bin"],
                bank_account=account["bank_account"],
                account_name=account["account_name"],
                vietqr=self.payload(order),
            )
        return out

    async def qr_png(self, order: Order) -> bytes:
        """The VietQR as a PNG, for an order still waiting for its transfer."""
        payload = self.payload(order)
        if payload is None or order.status is not OrderStatus.PENDING_PAYMENT:
            raise NotFound("this order has nothing to pay by bank transfer")
        # segno is pure Python (~10 ms per code): keep it off the event loop.
        return await asyncio.to_thread(render_png, payload)

    async def close(self) -> None:
        return None


@functools.lru_cache(maxsize=512)
def render_png(payload: str, scale: int = 6) -> bytes:
    """A QR image of `payload`: error correction M, 4-module quiet zone, 1-bit PNG."""
    out = io.BytesIO()
    segno.make(payload, error="m", micro=False).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()

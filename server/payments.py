"""Payment providers from settings: COD and bank transfer always, Stripe when it has a key."""

from __future__ import annotations

import logging
from typing import Any

from server.settings import Settings
from shop.adapters.sql.catalogue import SqlCatalogue
from shop.gate import InventoryGate
from shop.payments.bank_transfer import BankTransfer
from shop.payments.cod import CashOnDelivery
from shop.payments.port import PaymentLedger, PaymentProvider
from shop.payments.service import GateFollower, PaymentService

log = logging.getLogger("farmlive.payments")


def build_payments(
    settings: Settings,
    ledger: PaymentLedger,
    catalogue: SqlCatalogue,
    gate: InventoryGate,
    *,
    gate_sync: GateFollower | None = None,
    http_client: Any = None,
) -> PaymentService:
    """The enabled providers; `http_client` replaces Stripe's HTTP client (tests pass a fake)."""
    providers: list[PaymentProvider] = [CashOnDelivery(), BankTransfer(catalogue)]
    if settings.stripe_secret_key is not None:
        from shop.adapters.stripe_payments import StripePayments

        if settings.stripe_webhook_secret is None:
            log.warning(
                "FARMLIVE_STRIPE_SECRET_KEY is set but FARMLIVE_STRIPE_WEBHOOK_SECRET is not: "
                "card payments cannot be confirmed until it is"
            )
        if not settings.public_url:
            log.warning("FARMLIVE_PUBLIC_URL is not set: Stripe sends buyers back to localhost")
        providers.append(
            StripePayments(
                api_key=settings.stripe_secret_key.get_secret_value(),
                webhook_secret=(
                    settings.stripe_webhook_secret.get_secret_value()
                    if settings.stripe_webhook_secret is not None
                    else None
                ),
                public_url=settings.public_url or "http://127.0.0.1:8000",
                hold_seconds=settings.hold_seconds,
                api_base=settings.stripe_api_base,
                http_client=http_client,
            )
        )
    return PaymentService(
        ledger=ledger,
        gate=gate,
        providers=providers,
        hold_seconds=settings.hold_seconds,
        gate_sync=gate_sync,
    )

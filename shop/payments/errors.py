"""Payment errors: part of the shop's one error tree (ShopError), each with a machine code."""

from __future__ import annotations

from shop.errors import InvalidInput, ShopError


class PaymentUnavailable(ShopError):
    """The payment provider cannot be reached right now; the order is kept, retry shortly."""

    code = "payment_unavailable"
    retryable = True


class PaymentRefused(InvalidInput):
    """The payment provider refused to take this payment."""

    code = "payment_refused"


class InvalidWebhook(ShopError):
    """The webhook's signature or timestamp did not verify; nothing was changed."""

    code = "invalid_signature"

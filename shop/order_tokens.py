"""Buyers' order tokens: an HMAC of the order id; SQL keeps only its SHA-256."""

from __future__ import annotations

import hashlib
import hmac

from shop.errors import NotFound
from shop.orders import Order


class OrderTokens:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def token_for(self, order_id: str) -> str:
        digest = hmac.new(self._secret, order_id.encode(), hashlib.sha256).digest()
        return digest[:24].hex()

    @staticmethod
    def token_hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def check(self, order: Order, token: str) -> Order:
        """The order if `token` is its buyer's; NotFound otherwise (never reveal the id)."""
        if not hmac.compare_digest(order.token_hash, self.token_hash(token)):
            raise NotFound("no such order")
        return order

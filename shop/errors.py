"""The shop's errors: one root, each with a machine `code` that server/errors.py maps to HTTP."""

from __future__ import annotations


class ShopError(Exception):
    """Root of every error the shop raises on purpose."""

    code = "shop_error"
    retryable = False

    def __init__(self, message: str = "", **details: object) -> None:
        super().__init__(message or self.__class__.__doc__ or self.code)
        self.message = message or (self.__class__.__doc__ or self.code).strip()
        self.details = details


class NotFound(ShopError):
    """The thing asked for does not exist."""

    code = "not_found"


class Conflict(ShopError):
    """The request conflicts with the current state."""

    code = "conflict"


class InvalidInput(ShopError):
    """The request is well-formed but its values are not acceptable."""

    code = "invalid_input"


class SoldOut(Conflict):
    """Not enough stock left for this order."""

    code = "sold_out"


class BuyerLimitExceeded(Conflict):
    """This buyer has reached the per-buyer limit for this sale."""

    code = "buyer_limit"


class SessionNotLive(Conflict):
    """The live session is not open for orders."""

    code = "session_not_live"


class InvalidTransition(Conflict):
    """The order cannot move to that status from its current one."""

    code = "invalid_transition"


class OrderChangedMeanwhile(InvalidTransition):
    """The order changed between reading and writing it; the same move may simply be retried."""

    retryable = True


class IdempotencyMismatch(ShopError):
    """The Idempotency-Key was already used with a different request body."""

    code = "idempotency_key_reused"


class GateUnavailable(ShopError):
    """Stock admission is briefly unavailable (rebuilding or unreachable); retry shortly."""

    code = "gate_unavailable"
    retryable = True


class LotNotLoaded(GateUnavailable):
    """The gate holds no state for this lot (new lot, or the store lost its data)."""

    code = "gate_rebuilding"


class Forbidden(ShopError):
    """You are not allowed to do that with this object."""

    code = "forbidden"

"""How long unpaid holds last, and the per-buyer budget that keeps them from being farmed.

The per-buyer cap of a session is keyed on the phone number the buyer types, which
nobody verifies: 49 orders with random phones from one address held a whole lot. So
every order (cash on delivery too: it is unpaid until the door) also spends from a
budget of grams per client address and per device (a signed first-party cookie), over
a moving window as long as a hold. The first order in a window always passes whatever
its size, so no buyer's first normal order is ever refused; later ones are refused
(429 `hold_limit`) once the budget is spent, until the window frees it. While a lot is
nearly sold out, new unpaid holds are shorter, so hoarded grams come back sooner.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class HoldPolicy:
    hold_seconds: int = 900
    # Holds placed while less than `nearly_sold_out_ratio` of the lot is available.
    short_hold_seconds: int = 180
    nearly_sold_out_ratio: float = 0.1

    def nearly_sold_out(self, available_grams: int, stock_grams: int) -> bool:
        return stock_grams > 0 and available_grams < stock_grams * self.nearly_sold_out_ratio

    def seconds(self, *, nearly_sold_out: bool) -> int:
        return (
            min(self.short_hold_seconds, self.hold_seconds)
            if nearly_sold_out
            else (self.hold_seconds)
        )


@dataclass(frozen=True, slots=True)
class BudgetLimits:
    """What the host sees (GET /api/sessions/{sid}/staff, `buyer_limits`)."""

    address_grams: int
    device_grams: int
    window_seconds: int
    hold_seconds: int
    short_hold_seconds: int
    nearly_sold_out_ratio: float
    enabled: bool = True


class BuyerBudget(Protocol):
    limits: BudgetLimits

    async def spend(self, client_ip: str, device: str, grams: int) -> None:
        """Count `grams` against the address and the device, or raise HoldLimitReached."""
        ...

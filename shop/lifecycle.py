"""The order lifecycle: which event may move an order from which status, and what the
move does to its lot's grams. One pure table; every path (placing, staff, payments, hold
expiry, delivery) asks it, and the SQL transition and the gate sync both obey it.

Each (status, event) pair answers one of three ways:
- a `Move` to a new status with a stock `Effect`;
- `NOOP`: the order is already where the event would take it (an idempotent repeat);
- `REFUSED`: the event makes no sense in that status (409 `invalid_transition`).
Placing is the move out of `None` (no order yet). Adding a status is one row here and one
line in `tests/shop/test_lifecycle.py`.

Stock effects, as SQL's `lots` and the gate apply them:
- HOLD: the gate reserves the grams until the hold expires (SQL counts held orders by
  status, so it writes nothing);
- SELL: the grams count as sold; SQL passes the oversell backstop, the gate commits;
- RELEASE: whatever the order took (a hold or a sale) goes back to available;
- WRITE_OFF: sold goods that will not be resold leave the lot (stock and sold alike);
- RESTOCK_OR_WRITE_OFF: goods that came back: a perishable lot writes them off, any other
  restocks them (RELEASE). Lots are perishable unless they say otherwise, so today it
  always writes off; `resolve(effect, perishable=...)` is the one place that decides;
- NONE: statuses change, grams do not.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class OrderStatus(enum.StrEnum):
    PENDING_PAYMENT = "pending_payment"  # stock held until paid or expired
    PLACED = "placed"  # cash on delivery: counts as sold, staff confirm by phone
    CONFIRMED = "confirmed"  # COD confirmed by staff, ready to pack
    PAID = "paid"  # bank transfer or card received
    SHIPPED = "shipped"  # handed to the carrier
    DELIVERED = "delivered"  # the buyer has it
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REFUNDED = "refunded"
    RETURNED = "returned"  # refused at the door or sent back


S = OrderStatus


class Event(enum.StrEnum):
    """What can happen to an order (the table's columns)."""

    PLACE_COD = "place_cod"  # a cash-on-delivery order: sold at birth
    PLACE_PREPAID = "place_prepaid"  # transfer or card: held until paid
    CONFIRM = "confirm"  # staff: COD confirmed by phone, or a transfer seen on the account
    PAY = "pay"  # the provider says the money arrived
    PAYMENT_FAILED = "payment_failed"  # the provider refused the payment for good
    CANCEL = "cancel"  # staff cancel; also money that cannot stay (refund queued)
    EXPIRE = "expire"  # the hold ran out (sweeper, or the provider closed the checkout)
    REFUND = "refund"  # the provider returned the money in full
    SHIP = "ship"
    DELIVER = "deliver"
    RETURN = "return"  # refused at the door / sent back


class Effect(enum.StrEnum):
    HOLD = "hold"
    SELL = "sell"
    RELEASE = "release"
    WRITE_OFF = "write_off"
    RESTOCK_OR_WRITE_OFF = "restock_or_write_off"
    NONE = "none"


class Stock(enum.StrEnum):
    """What an order in a status takes from its lot."""

    NOTHING = "nothing"
    HELD = "held"
    SOLD = "sold"
    GONE = "gone"  # written off: left the lot


@dataclass(frozen=True, slots=True)
class Move:
    to: OrderStatus
    effect: Effect

    @property
    def ledger_event(self) -> str:
        """The public ledger's name for this move (CONTRACT: placed, confirmed, paid, ...)."""
        return ledger_event(self.to)


class Answer(enum.Enum):
    NOOP = "noop"
    REFUSED = "refused"


NOOP = Answer.NOOP
REFUSED = Answer.REFUSED
Outcome = Move | Answer

E = Event
_SELL, _HOLD, _REL, _OFF = Effect.SELL, Effect.HOLD, Effect.RELEASE, Effect.WRITE_OFF
_BACK, _NONE = Effect.RESTOCK_OR_WRITE_OFF, Effect.NONE

# The rows that are not REFUSED. Read one line as: in <status>, <event> -> <outcome>.
_ROWS: dict[tuple[OrderStatus | None, Event], Outcome] = {
    (None, E.PLACE_COD): Move(S.PLACED, _SELL),
    (None, E.PLACE_PREPAID): Move(S.PENDING_PAYMENT, _HOLD),
    # pending_payment: the stock is held
    (S.PENDING_PAYMENT, E.CONFIRM): Move(S.PAID, _SELL),
    (S.PENDING_PAYMENT, E.PAY): Move(S.PAID, _SELL),
    (S.PENDING_PAYMENT, E.PAYMENT_FAILED): Move(S.CANCELLED, _REL),
    (S.PENDING_PAYMENT, E.CANCEL): Move(S.CANCELLED, _REL),
    (S.PENDING_PAYMENT, E.EXPIRE): Move(S.EXPIRED, _REL),
    # placed (COD): sold until cancelled
    (S.PLACED, E.CONFIRM): Move(S.CONFIRMED, _NONE),
    (S.PLACED, E.CANCEL): Move(S.CANCELLED, _REL),
    # confirmed
    (S.CONFIRMED, E.CONFIRM): NOOP,
    (S.CONFIRMED, E.CANCEL): Move(S.CANCELLED, _REL),
    (S.CONFIRMED, E.SHIP): Move(S.SHIPPED, _NONE),
    (S.CONFIRMED, E.RETURN): Move(S.RETURNED, _BACK),
    # paid
    (S.PAID, E.CONFIRM): NOOP,
    (S.PAID, E.PAY): NOOP,
    (S.PAID, E.REFUND): Move(S.REFUNDED, _OFF),
    (S.PAID, E.SHIP): Move(S.SHIPPED, _NONE),
    # shipped / delivered / returned
    (S.SHIPPED, E.SHIP): NOOP,
    (S.SHIPPED, E.DELIVER): Move(S.DELIVERED, _NONE),
    (S.SHIPPED, E.RETURN): Move(S.RETURNED, _BACK),
    (S.DELIVERED, E.DELIVER): NOOP,
    (S.RETURNED, E.RETURN): NOOP,
    # expired: a transfer that lands after its hold ran out still gets stock, if any is left
    (S.EXPIRED, E.CONFIRM): Move(S.PAID, _SELL),
    (S.EXPIRED, E.PAY): Move(S.PAID, _SELL),
    (S.EXPIRED, E.CANCEL): Move(S.CANCELLED, _NONE),
    (S.EXPIRED, E.EXPIRE): NOOP,
    # terminal
    (S.CANCELLED, E.CANCEL): NOOP,
    (S.REFUNDED, E.REFUND): NOOP,
}

STATUSES: tuple[OrderStatus | None, ...] = (None, *OrderStatus)
EVENTS: tuple[Event, ...] = tuple(Event)
TABLE: dict[tuple[OrderStatus | None, Event], Outcome] = {
    (status, event): _ROWS.get((status, event), REFUSED) for status in STATUSES for event in EVENTS
}

STOCK: dict[OrderStatus, Stock] = {
    S.PENDING_PAYMENT: Stock.HELD,
    S.PLACED: Stock.SOLD,
    S.CONFIRMED: Stock.SOLD,
    S.PAID: Stock.SOLD,
    S.SHIPPED: Stock.SOLD,
    S.DELIVERED: Stock.SOLD,
    S.CANCELLED: Stock.NOTHING,
    S.EXPIRED: Stock.NOTHING,
    S.REFUNDED: Stock.GONE,
    S.RETURNED: Stock.GONE,  # perishable by default: see RESTOCK_OR_WRITE_OFF
}

# As stored in SQL (status strings), for queries.
SOLD_STATUSES = tuple(s.value for s, stock in STOCK.items() if stock is Stock.SOLD)
HELD_STATUSES = tuple(s.value for s, stock in STOCK.items() if stock is Stock.HELD)


def outcome(status: OrderStatus | None, event: Event) -> Outcome:
    return TABLE[(status, event)]


def resolve(effect: Effect, *, perishable: bool = True) -> Effect:
    """The effect to apply for a lot: only goods that came back depend on the lot."""
    if effect is Effect.RESTOCK_OR_WRITE_OFF:
        return Effect.WRITE_OFF if perishable else Effect.RELEASE
    return effect


def stock_of(status: OrderStatus, *, perishable: bool = True) -> Stock:
    """What an order in `status` takes from its lot (returned goods: as `resolve` says)."""
    if status is S.RETURNED and not perishable:
        return Stock.NOTHING
    return STOCK[status]


def ledger_event(to: OrderStatus) -> str:
    """The ledger's event name for a move into `to` (a held order's birth is `placed`)."""
    return "placed" if to is S.PENDING_PAYMENT else to.value


def placing(cod: bool) -> Move:
    """The move that creates an order."""
    move = TABLE[(None, Event.PLACE_COD if cod else Event.PLACE_PREPAID)]
    assert isinstance(move, Move)
    return move


def sells(status: OrderStatus, event: Event) -> bool:
    """Whether `event` makes an order in `status` take stock it does not have yet (such a
    move asks the gate first: SQL's backstop counts sales only, the gate holds too)."""
    answer = TABLE[(status, event)]
    return (
        isinstance(answer, Move)
        and resolve(answer.effect) is Effect.SELL
        and stock_of(status) is not Stock.SOLD
    )

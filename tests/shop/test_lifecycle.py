"""The lifecycle table, pair by pair: every (status, event) answer is written out here."""

from __future__ import annotations

import pytest

from shop.lifecycle import (
    EVENTS,
    NOOP,
    REFUSED,
    STATUSES,
    TABLE,
    Effect,
    Event,
    Move,
    OrderStatus,
    Stock,
    ledger_event,
    outcome,
    resolve,
    sells,
    stock_of,
)

# One line per status (`-`: no order yet), one column per event, in this order. A cell is
# `to/effect`, `noop`, or `.` (refused). Adding a status or an event means editing this.
COLUMNS = (
    "place_cod place_prepaid confirm pay payment_failed cancel expire refund ship deliver return"
)
MATRIX = """
-               placed/sell pending_payment/hold . . . . . . . . .
pending_payment . . paid/sell paid/sell cancelled/release cancelled/release expired/release . . . .
placed          . . confirmed/none . . cancelled/release . . . . .
confirmed       . . noop . . cancelled/release . . shipped/none . returned/restock_or_write_off
paid            . . noop noop . . . refunded/write_off shipped/none . .
shipped         . . . . . . . . noop delivered/none returned/restock_or_write_off
delivered       . . . . . . . . . noop .
cancelled       . . . . . noop . . . . .
expired         . . paid/sell paid/sell . cancelled/none noop . . . .
refunded        . . . . . . . noop . . .
returned        . . . . . . . . . . noop
"""


def _expected() -> dict[tuple[OrderStatus | None, Event], object]:
    events = [Event(name) for name in COLUMNS.split()]
    out: dict[tuple[OrderStatus | None, Event], object] = {}
    for line in MATRIX.strip().splitlines():
        name, *cells = line.split()
        status = None if name == "-" else OrderStatus(name)
        assert len(cells) == len(events), line
        for event, cell in zip(events, cells, strict=True):
            if cell == ".":
                out[(status, event)] = REFUSED
            elif cell == "noop":
                out[(status, event)] = NOOP
            else:
                to, effect = cell.split("/")
                out[(status, event)] = Move(OrderStatus(to), Effect(effect))
    return out


EXPECTED = _expected()


def test_the_matrix_covers_every_status_and_event() -> None:
    """The written-out matrix has exactly one cell per (status, event) pair of the code."""
    assert set(EXPECTED) == {(s, e) for s in STATUSES for e in EVENTS}
    assert set(TABLE) == set(EXPECTED)


@pytest.mark.parametrize("pair", sorted(EXPECTED, key=lambda p: (str(p[0]), p[1].value)))
def test_each_pair_answers_as_written(pair: tuple[OrderStatus | None, Event]) -> None:
    """The table's answer for this (status, event) pair is the matrix's."""
    assert outcome(*pair) == EXPECTED[pair]


@pytest.mark.parametrize("pair", [p for p, a in EXPECTED.items() if isinstance(a, Move)])
def test_each_move_effect_matches_what_the_statuses_hold(
    pair: tuple[OrderStatus | None, Event],
) -> None:
    """A move's effect takes the order from what its old status holds to what its new one
    holds (so the gate sync, which follows statuses, and SQL's effects agree)."""
    status, _ = pair
    move = TABLE[pair]
    assert isinstance(move, Move)
    before = Stock.NOTHING if status is None else stock_of(status)
    for perishable in (True, False):
        after = stock_of(move.to, perishable=perishable)
        effect = resolve(move.effect, perishable=perishable)
        allowed = {
            Effect.HOLD: {(Stock.NOTHING, Stock.HELD)},
            Effect.SELL: {(Stock.NOTHING, Stock.SOLD), (Stock.HELD, Stock.SOLD)},
            Effect.RELEASE: {(Stock.HELD, Stock.NOTHING), (Stock.SOLD, Stock.NOTHING)},
            Effect.WRITE_OFF: {(Stock.SOLD, Stock.GONE)},
            Effect.NONE: {(s, s) for s in Stock},
        }[effect]
        assert (before, after) in allowed, (pair, perishable, effect)


def test_returned_goods_are_written_off_unless_the_lot_restocks() -> None:
    """Lots are perishable by default: returns write off; a non-perishable lot restocks."""
    assert resolve(Effect.RESTOCK_OR_WRITE_OFF) is Effect.WRITE_OFF
    assert resolve(Effect.RESTOCK_OR_WRITE_OFF, perishable=False) is Effect.RELEASE
    assert stock_of(OrderStatus.RETURNED) is Stock.GONE
    assert stock_of(OrderStatus.RETURNED, perishable=False) is Stock.NOTHING
    assert resolve(Effect.SELL, perishable=False) is Effect.SELL


def test_ledger_event_names_are_the_contract_s() -> None:
    """Every move is named by one of CONTRACT's ledger events; a held order's birth is `placed`."""
    names = {m.ledger_event for m in TABLE.values() if isinstance(m, Move)}
    assert names == {
        "placed",
        "confirmed",
        "paid",
        "cancelled",
        "expired",
        "refunded",
        "shipped",
        "delivered",
        "returned",
    }
    assert ledger_event(OrderStatus.PENDING_PAYMENT) == "placed"


def test_only_moves_into_a_sale_from_outside_one_ask_the_gate_first() -> None:
    """`sells` is true exactly for SELL moves of orders that hold no sale yet."""
    assert sells(OrderStatus.PENDING_PAYMENT, Event.PAY)
    assert sells(OrderStatus.EXPIRED, Event.CONFIRM)
    assert not sells(OrderStatus.PLACED, Event.CONFIRM)
    assert not sells(OrderStatus.PAID, Event.PAY)
    assert not sells(OrderStatus.CANCELLED, Event.PAY)

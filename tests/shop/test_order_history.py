"""A hypothesis history of the whole order wing, payments and expiry included, after which
SQL, the gate and the session stats agree.

Unlike test_ordering_properties.py (which drains the outbox by hand), the service runs
with its loops, so new orders reach the gate through the relay's fast path; staff moves,
payment events (paid, failed, refunded, with amounts that match) and the expiry sweep
sync inline. After every step SQL's books balance and match what the statuses say; at
the end of each example the gate must converge to SQL on its own, and the stats must
count what the statuses say.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from shop.adapters.memory_gate import MemoryGate
from shop.adapters.sql.catalogue import NewLot, NewOffer, SqlCatalogue
from shop.adapters.sql.ledger import LedgerRecorder, SqlLedger
from shop.adapters.sql.migrate import upgrade
from shop.adapters.sql.orders import SqlOrders
from shop.adapters.sql.payment_ledger import SqlPaymentLedger
from shop.adapters.sql.session_staff import SqlSessionStaff
from shop.address import normalize_address
from shop.catalogue import SessionStatus
from shop.errors import InvalidTransition, SoldOut
from shop.gate_keeper import GateKeeper
from shop.gate_sync import GateSync
from shop.lifecycle import Stock, stock_of
from shop.order_status import OrderStatus
from shop.ordering import OrderService
from shop.orders import Buyer, Order, PaymentMethod, PlaceOrder
from shop.payments.cod import CashOnDelivery
from shop.payments.port import Draft, EventKind, PaymentEvent, PaymentStart, Terms
from shop.payments.service import PaymentService

PACK = 1000
PRICE = 50_000
ADDRESS = normalize_address("Bắc Ninh", "Phường Chũ", "Thôn Bãi Bông")
S = OrderStatus


class Transfer:
    """A bank transfer with nothing to start: its money arrives as events."""

    method = PaymentMethod.BANK_TRANSFER

    async def terms(self, draft: Draft) -> Terms:
        return Terms()

    async def begin(self, order: Order, token: str) -> PaymentStart | None:
        return None

    def view(self, order: Order, token: str | None) -> dict[str, Any]:
        return {}

    async def close(self) -> None:
        return None


@dataclass
class World:
    loop: asyncio.AbstractEventLoop
    catalogue: SqlCatalogue
    store: SqlOrders
    ledger: SqlLedger
    staff: SqlSessionStaff
    orders: OrderService
    payments: PaymentService
    gate: MemoryGate
    cooperative_id: int

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    from sqlalchemy.ext.asyncio import create_async_engine

    loop = asyncio.new_event_loop()
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/history.db")
    loop.run_until_complete(upgrade(engine))
    catalogue = SqlCatalogue(engine)
    gate = MemoryGate()
    store = SqlOrders(engine, LedgerRecorder())  # every move writes its ledger entry
    sync = GateSync(gate, store, GateKeeper(gate, store))
    payments = PaymentService(
        ledger=SqlPaymentLedger(engine, store.transitions),
        gate=gate,
        providers=[CashOnDelivery(), Transfer()],
        hold_seconds=3600,
        gate_sync=sync,
    )
    orders = OrderService(
        store=store,
        sessions=catalogue,
        gate=gate,
        token_secret=b"history",
        hold_seconds=3600,  # the wall clock expires nothing; the `expire` rule does
        group_window_s=0,
        sweep_interval_s=3600,
        enabled_payments=payments.methods,
        payments=payments,
        sync=sync,
    )
    coop = loop.run_until_complete(catalogue.create_cooperative(None, name="HTX", province="X"))
    loop.run_until_complete(orders.start())
    try:
        yield World(
            loop,
            catalogue,
            store,
            SqlLedger(engine),
            SqlSessionStaff(engine),
            orders,
            payments,
            gate,
            coop.id,
        )
    finally:
        loop.run_until_complete(orders.stop())
        loop.run_until_complete(engine.dispose())
        loop.close()


def run_machine(world: World, examples: int) -> None:
    class History(RuleBasedStateMachine):
        placed = Bundle("orders")

        def __init__(self) -> None:
            super().__init__()
            self.ids: list[str] = []
            self.events = 0

        @initialize(packs=st.integers(min_value=1, max_value=10))
        def open_sale(self, packs: int) -> None:
            self.stock = packs * PACK
            lot = world.run(
                world.catalogue.create_lot(
                    None,
                    NewLot(
                        cooperative_id=world.cooperative_id, product="Vải", stock_grams=self.stock
                    ),
                )
            )
            self.lot_id = lot.id
            world.run(world.orders.lot_added(lot.id))
            session = world.run(world.catalogue.create_session(None, title="H", host_id=None))
            # Offers are made only on lots attached to the session (the operate issue).
            world.run(world.staff.attach_lot(None, session.id, lot.id))
            offer = world.run(
                world.catalogue.create_offer(
                    None,
                    session.id,
                    NewOffer(lot_id=lot.id, title="1 kg", pack_grams=PACK, price=PRICE),
                )
            )
            world.run(world.catalogue.set_session_status(None, session.id, SessionStatus.LIVE))
            self.session_id, self.offer_id = session.id, offer.id

        def orders_now(self) -> dict[str, Order]:
            return world.run(world.store.get_many(self.ids))

        @rule(
            target=placed,
            quantity=st.integers(min_value=1, max_value=4),
            method=st.sampled_from([PaymentMethod.COD, PaymentMethod.BANK_TRANSFER]),
        )
        def place(self, quantity: int, method: str) -> str:
            key = uuid.uuid4().hex
            cmd = PlaceOrder(
                session_id=self.session_id,
                offer_id=self.offer_id,
                quantity=quantity,
                buyer=Buyer(name="Chị Hoa", phone=f"09{len(self.ids):08d}", address=ADDRESS),
                payment_method=method,
                idempotency_key=key,
                request_hash=hashlib.sha256(key.encode()).hexdigest(),
            )
            try:
                order = world.run(world.orders.place(cmd)).order
            except SoldOut:
                return ""
            self.ids.append(order.id)
            return order.id

        @rule(order_id=placed)
        def confirm(self, order_id: str) -> None:
            if order_id:
                try:
                    world.run(world.orders.confirm(order_id, None))
                except (InvalidTransition, SoldOut):
                    pass

        @rule(order_id=placed)
        def cancel(self, order_id: str) -> None:
            if order_id:
                try:
                    world.run(world.orders.cancel(order_id, None))
                except InvalidTransition:
                    pass

        @rule(
            order_id=placed,
            kind=st.sampled_from([EventKind.PAID, EventKind.FAILED, EventKind.REFUNDED]),
        )
        def payment_event(self, order_id: str, kind: EventKind) -> None:
            if not order_id:
                return
            order = world.run(world.store.get(order_id))
            if order.payment_method != PaymentMethod.BANK_TRANSFER:
                return
            before = order.status
            self.events += 1
            event = PaymentEvent(
                id=f"ev-{self.events}-{order_id}",
                provider=PaymentMethod.BANK_TRANSFER,
                type=kind.value,
                kind=kind,
                order_id=order_id,
                amount=order.total,
                currency=order.currency,
            )
            applied = world.run(world.payments.handle(event))
            after = world.run(world.store.get(order_id)).status
            if kind is EventKind.PAID and before in (S.PENDING_PAYMENT, S.EXPIRED):
                assert after in (S.PAID, S.CANCELLED), (before, after)
                assert (after is S.CANCELLED) == applied.refund_due
            # A replayed event changes nothing.
            assert world.run(world.payments.handle(event)).duplicate

        @rule()
        def expire(self) -> None:
            world.run(world.orders.expiry.sweep(datetime.now(UTC) + timedelta(hours=2)))
            assert not any(o.status is S.PENDING_PAYMENT for o in self.orders_now().values())

        # -- agreement ------------------------------------------------------------------
        def expected(self) -> tuple[int, int, int]:
            """(stock, sold, held) as the orders' statuses say."""
            orders = self.orders_now().values()
            gone = sum(
                o.grams
                for o in orders
                if stock_of(o.status, written_off=o.written_off) is Stock.GONE
            )
            sold = sum(
                o.grams
                for o in orders
                if stock_of(o.status, written_off=o.written_off) is Stock.SOLD
            )
            held = sum(
                o.grams
                for o in orders
                if stock_of(o.status, written_off=o.written_off) is Stock.HELD
            )
            return self.stock - gone, sold, held

        @invariant()
        def sql_matches_the_statuses(self) -> None:
            if not hasattr(self, "lot_id"):
                return
            [sql] = world.run(world.catalogue.lot_figures([self.lot_id]))
            assert (sql.stock_grams, sql.sold_grams, sql.held_grams) == self.expected()
            assert 0 <= sql.sold_grams + sql.held_grams <= sql.stock_grams
            gate = world.run(world.gate.snapshot(self.lot_id))
            assert gate.available_grams >= 0 and gate.sold_grams <= gate.stock_grams

        def teardown(self) -> None:
            if not hasattr(self, "lot_id"):
                return
            [sql] = world.run(world.catalogue.lot_figures([self.lot_id]))
            want = (sql.stock_grams, sql.sold_grams, sql.held_grams)
            deadline = time.monotonic() + 15  # the relay gets there by itself (fast path)
            while True:
                gate = world.run(world.gate.snapshot(self.lot_id))
                got = (gate.stock_grams, gate.sold_grams, gate.held_grams)
                if got == want or time.monotonic() > deadline:
                    break
                world.run(asyncio.sleep(0.02))
            assert got == want, (got, want)
            orders = self.orders_now().values()
            # The session's public figures are the fold of its ledger (shop/ledger.py):
            # taken = held or sold orders, confirmed = paid or confirmed ones.
            fold = world.run(world.ledger.fold(self.session_id))
            taken = [
                o
                for o in orders
                if stock_of(o.status, written_off=o.written_off) in (Stock.SOLD, Stock.HELD)
            ]
            confirmed = [o for o in orders if o.status in (S.CONFIRMED, S.PAID)]
            assert fold.orders_count == len(taken)
            assert fold.revenue == sum(o.total for o in taken)
            assert fold.sold_grams == sql.sold_grams + sql.held_grams
            assert fold.confirmed_grams == sum(o.grams for o in confirmed)
            assert fold.orphans == 0

    run_state_machine_as_test(
        History,
        settings=settings(
            max_examples=examples,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


def test_sql_gate_and_stats_agree_after_any_history(world: World) -> None:
    """60 random histories of orders, staff moves, payment events and expiries end agreed."""
    run_machine(world, examples=60)

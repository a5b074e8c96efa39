"""A hypothesis state machine of the order path: OrderService on SQLite with MemoryGate.

Rules place COD and bank-transfer orders, confirm, cancel, expire every pending hold
(`store.expire_due` in the future) and drain the outbox, against a plain model of what
each order's status and the lot's grams must be. After every step, in SQL and in the
gate, `available + held + sold == stock` and `0 <= sold <= stock`; SQL matches the
model; after a drain the gate equals SQL exactly. Each example gets its own lot and
session on one shared database, so 200 examples stay well under a minute.
"""

from __future__ import annotations

import asyncio
import hashlib
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
from shop.adapters.sql.migrate import upgrade
from shop.adapters.sql.orders import SqlOrders
from shop.adapters.sql.session_staff import SqlSessionStaff
from shop.address import normalize_address
from shop.catalogue import SessionStatus
from shop.errors import InvalidTransition, SoldOut
from shop.order_status import OrderStatus
from shop.ordering import OrderService
from shop.orders import Buyer, PaymentMethod, PlaceOrder

PACK_GRAMS = 1000
ADDRESS = normalize_address("Bắc Ninh", "Phường Chũ", "Thôn Bãi Bông")


@dataclass
class World:
    """What every example shares: one event loop, one SQLite database, one OrderService."""

    loop: asyncio.AbstractEventLoop
    catalogue: SqlCatalogue
    orders: OrderService
    gate: MemoryGate
    cooperative_id: int
    staff: SqlSessionStaff

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    from sqlalchemy.ext.asyncio import create_async_engine

    loop = asyncio.new_event_loop()
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/props.db")
    loop.run_until_complete(upgrade(engine))
    catalogue = SqlCatalogue(engine)
    gate = MemoryGate()
    orders = OrderService(
        store=SqlOrders(engine),
        sessions=catalogue,
        gate=gate,
        token_secret=b"property-test",
        hold_seconds=3600,  # nothing expires by the wall clock; the `expire` rule does it
        group_window_s=0,
        sweep_interval_s=3600,
    )
    coop = loop.run_until_complete(catalogue.create_cooperative(None, name="HTX", province="X"))

    # Not orders.start(): its outbox and sweeper loops would sync behind the model's
    # back; the `drain` rule is the relay here. Only the group committer runs.
    async def start() -> None:
        await orders.rebuild_all()
        orders._writer.start()

    loop.run_until_complete(start())
    try:
        yield World(loop, catalogue, orders, gate, coop.id, SqlSessionStaff(engine))
    finally:
        loop.run_until_complete(orders._writer.stop())
        loop.run_until_complete(gate.close())
        loop.run_until_complete(engine.dispose())
        loop.close()


def run_machine(world: World, examples: int) -> None:
    class OrderMachine(RuleBasedStateMachine):
        placed = Bundle("orders")

        def __init__(self) -> None:
            super().__init__()
            self.status: dict[str, OrderStatus] = {}
            self.grams: dict[str, int] = {}
            # Expired in SQL, still held by the gate until the outbox is drained.
            self.stale: set[str] = set()
            self.drained = True

        @initialize(packs=st.integers(min_value=1, max_value=12))
        def open_sale(self, packs: int) -> None:
            self.stock = packs * PACK_GRAMS
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
            session = world.run(world.catalogue.create_session(None, title="P", host_id=None))
            # Offers are made only on lots attached to the session (the operate issue).
            world.run(world.staff.attach_lot(None, session.id, lot.id))
            offer = world.run(
                world.catalogue.create_offer(
                    None,
                    session.id,
                    NewOffer(lot_id=lot.id, title="1 kg", pack_grams=PACK_GRAMS, price=50_000),
                )
            )
            world.run(world.catalogue.set_session_status(None, session.id, SessionStatus.LIVE))
            self.session_id, self.offer_id = session.id, offer.id

        # -- the model ----------------------------------------------------------------
        def model(self) -> tuple[int, int]:
            """(sold, held) grams as the statuses say."""
            sold = sum(
                g
                for o, g in self.grams.items()
                if self.status[o] in (OrderStatus.PLACED, OrderStatus.CONFIRMED, OrderStatus.PAID)
            )
            held = sum(
                g for o, g in self.grams.items() if self.status[o] is OrderStatus.PENDING_PAYMENT
            )
            return sold, held

        def available(self) -> int:
            """What the gate can still admit (stale holds count until drained)."""
            sold, held = self.model()
            return self.stock - sold - held - sum(self.grams[o] for o in self.stale)

        # -- rules ----------------------------------------------------------------------
        @rule(
            target=placed,
            quantity=st.integers(min_value=1, max_value=5),
            method=st.sampled_from([PaymentMethod.COD, PaymentMethod.BANK_TRANSFER]),
        )
        def place(self, quantity: int, method: str) -> str:
            key = uuid.uuid4().hex
            cmd = PlaceOrder(
                session_id=self.session_id,
                offer_id=self.offer_id,
                quantity=quantity,
                buyer=Buyer(name="Chị Hoa", phone=f"09{len(self.status):08d}", address=ADDRESS),
                payment_method=method,
                idempotency_key=key,
                request_hash=hashlib.sha256(key.encode()).hexdigest(),
            )
            grams = quantity * PACK_GRAMS
            fits = grams <= self.available()
            try:
                result = world.run(world.orders.place(cmd))
            except SoldOut:
                assert not fits, "refused although the model has room"
                return ""
            assert fits, "admitted beyond the stock"
            order = result.order
            expected = (
                OrderStatus.PLACED if method == PaymentMethod.COD else OrderStatus.PENDING_PAYMENT
            )
            assert order.status is expected and order.grams == grams
            self.status[order.id], self.grams[order.id] = order.status, grams
            self.drained = False
            return order.id

        @rule(order_id=placed)
        def confirm(self, order_id: str) -> None:
            if not order_id:
                return
            before = self.status[order_id]
            try:
                after = world.run(world.orders.confirm(order_id, None)).status
            except InvalidTransition:
                assert before is OrderStatus.CANCELLED
                return
            except SoldOut:
                assert before is OrderStatus.EXPIRED and order_id not in self.stale
                assert self.grams[order_id] > self.available()
                return
            expected = {
                OrderStatus.PLACED: OrderStatus.CONFIRMED,
                OrderStatus.CONFIRMED: OrderStatus.CONFIRMED,
                OrderStatus.PENDING_PAYMENT: OrderStatus.PAID,
                OrderStatus.EXPIRED: OrderStatus.PAID,
                OrderStatus.PAID: OrderStatus.PAID,
            }[before]
            assert after is expected, (before, after)
            self.status[order_id] = after
            self.stale.discard(order_id)  # confirming syncs the gate for this order

        @rule(order_id=placed)
        def cancel(self, order_id: str) -> None:
            if not order_id:
                return
            before = self.status[order_id]
            try:
                after = world.run(world.orders.cancel(order_id, None)).status
            except InvalidTransition:
                assert before is OrderStatus.PAID
                return
            assert after is OrderStatus.CANCELLED, (before, after)
            if before is OrderStatus.CONFIRMED:  # perishable: confirmed goods are written off
                self.stock -= self.grams[order_id]
            self.status[order_id] = after
            self.stale.discard(order_id)  # cancelling syncs the gate for this order

        @rule()
        def expire(self) -> None:
            later = datetime.now(UTC) + timedelta(hours=2)
            expired = set(world.run(world.orders.store.expire_due(later)))
            mine = {o for o in expired if o in self.status}
            pending = {o for o, s in self.status.items() if s is OrderStatus.PENDING_PAYMENT}
            assert mine == pending
            for order_id in mine:
                self.status[order_id] = OrderStatus.EXPIRED
            self.stale |= mine
            self.drained = self.drained and not mine

        @rule()
        def drain(self) -> None:
            world.run(world.orders.drain_outbox())
            self.stale.clear()
            self.drained = True

        # -- invariants -----------------------------------------------------------------
        @invariant()
        def figures_add_up(self) -> None:
            if not hasattr(self, "lot_id"):
                return
            [sql] = world.run(world.catalogue.lot_figures([self.lot_id]))
            gate = world.run(world.gate.snapshot(self.lot_id))
            for side in (sql, gate):
                assert side.available_grams + side.held_grams + side.sold_grams == side.stock_grams
                assert 0 <= side.sold_grams <= side.stock_grams and side.held_grams >= 0
            assert (sql.stock_grams, sql.sold_grams, sql.held_grams) == (self.stock, *self.model())
            if self.drained:
                assert (gate.stock_grams, gate.sold_grams, gate.held_grams) == (
                    sql.stock_grams,
                    sql.sold_grams,
                    sql.held_grams,
                ), (gate, sql)

    run_state_machine_as_test(
        OrderMachine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


def test_order_state_machine_keeps_the_books(world: World) -> None:
    """200 random runs of place/confirm/cancel/expire/drain never break the stock invariant."""
    run_machine(world, examples=200)

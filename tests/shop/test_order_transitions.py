"""The one SQL transition path: staff, payment and expiry moves, and their recorder."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shop.adapters.memory_gate import MemoryGate
from shop.adapters.sql.catalogue import NewLot, NewOffer, SqlCatalogue
from shop.adapters.sql.migrate import upgrade
from shop.adapters.sql.orders import SqlOrders
from shop.adapters.sql.payment_ledger import SqlPaymentLedger
from shop.adapters.sql.session_staff import SqlSessionStaff
from shop.adapters.sql.tables import orders as orders_table
from shop.address import normalize_address
from shop.catalogue import SessionStatus
from shop.errors import InvalidTransition
from shop.lifecycle import Event, OrderStatus
from shop.order_code import is_code
from shop.order_record import TransitionRecord
from shop.ordering import OrderService
from shop.orders import Buyer, PaymentMethod, PlaceOrder

ADDRESS = normalize_address("Bắc Ninh", "Phường Chũ", "Thôn Bãi Bông")


@dataclass
class Recording:
    """A recorder that keeps each record with the status its own connection reads."""

    seen: list[tuple[TransitionRecord, str]] = field(default_factory=list)
    fail: bool = False

    def record(self, conn: Connection, records: Sequence[TransitionRecord]) -> None:
        for rec in records:
            status = conn.execute(
                select(orders_table.c.status).where(orders_table.c.id == rec.order_id)
            ).scalar_one()
            self.seen.append((rec, status))
        if self.fail:
            raise RuntimeError("recorder refused")


@dataclass
class World:
    engine: AsyncEngine
    store: SqlOrders
    orders: OrderService
    recorder: Recording
    session_id: int
    offer_id: int
    lot_id: int
    cooperative_id: int

    async def place(self, method: str = PaymentMethod.COD) -> str:
        key = uuid.uuid4().hex
        cmd = PlaceOrder(
            session_id=self.session_id,
            offer_id=self.offer_id,
            quantity=1,
            buyer=Buyer(name="Chị Hoa", phone="0912345678", address=ADDRESS),
            payment_method=method,
            idempotency_key=key,
            request_hash=hashlib.sha256(key.encode()).hexdigest(),
        )
        return (await self.orders.place(cmd)).order.id


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    engine = create_async_engine(database_url)
    await upgrade(engine)  # the SQLite file starts empty; PostgreSQL's copy is migrated
    catalogue = SqlCatalogue(engine)
    recorder = Recording()
    store = SqlOrders(engine, recorder)
    orders = OrderService(
        store=store,
        sessions=catalogue,
        gate=MemoryGate(),
        token_secret=b"t",
        hold_seconds=3600,
        group_window_s=0,
        sweep_interval_s=3600,
    )
    coop = await catalogue.create_cooperative(None, name="HTX", province="X")
    lot = await catalogue.create_lot(
        None, NewLot(cooperative_id=coop.id, product="Vải", stock_grams=10_000)
    )
    session = await catalogue.create_session(None, title="P", host_id=None)
    await SqlSessionStaff(engine).attach_lot(None, session.id, lot.id)
    offer = await catalogue.create_offer(
        None, session.id, NewOffer(lot_id=lot.id, title="1 kg", pack_grams=1000, price=50_000)
    )
    await catalogue.set_session_status(None, session.id, SessionStatus.LIVE)
    await orders.start()
    try:
        yield World(engine, store, orders, recorder, session.id, offer.id, lot.id, coop.id)
    finally:
        await orders.stop()
        await engine.dispose()


async def test_every_move_is_recorded_inside_its_own_transaction(world: World) -> None:
    """Placing, confirming, cancelling, paying and expiring each hand the recorder a typed
    record while the new status is visible on the recorder's connection."""
    cod = await world.place()
    await world.orders.confirm(cod, None)
    await world.orders.cancel(cod, None)
    paid = await world.place(PaymentMethod.BANK_TRANSFER)
    ledger = SqlPaymentLedger(world.engine, world.store.transitions)
    await ledger.apply_payment_event("ev-1", "bank_transfer", "x", paid, Event.PAY, money_in=True)
    late = await world.place(PaymentMethod.BANK_TRANSFER)
    assert await world.store.expire_due(datetime.now(UTC) + timedelta(hours=2)) == [late]
    events = [
        (r.order_id, r.event, r.from_status, r.to_status.value) for r, _ in world.recorder.seen
    ]
    assert events == [
        (cod, "placed", None, "placed"),
        (cod, "confirmed", OrderStatus.PLACED, "confirmed"),
        (cod, "cancelled", OrderStatus.CONFIRMED, "cancelled"),
        (paid, "placed", None, "pending_payment"),
        (paid, "paid", OrderStatus.PENDING_PAYMENT, "paid"),
        (late, "placed", None, "pending_payment"),
        (late, "expired", OrderStatus.PENDING_PAYMENT, "expired"),
    ]
    for rec, status_seen in world.recorder.seen:
        assert status_seen == rec.to_status.value  # the same transaction as the change
        assert (rec.cooperative_id, rec.lot_id, rec.grams, rec.amount) == (
            world.cooperative_id,
            world.lot_id,
            1000,
            50_000,
        )
        assert is_code(rec.code) and rec.session_id == world.session_id


async def test_repeats_and_refusals_record_nothing(world: World) -> None:
    """A no-op repeat and a refused move write no record and no status."""
    order_id = await world.place()
    await world.orders.cancel(order_id, None)
    before = len(world.recorder.seen)
    await world.orders.cancel(order_id, None)  # cancelling twice is a no-op
    with pytest.raises(InvalidTransition):
        await world.orders.confirm(order_id, None)
    assert len(world.recorder.seen) == before
    assert (await world.store.get(order_id)).status is OrderStatus.CANCELLED


async def test_a_failing_recorder_aborts_the_move(world: World) -> None:
    """What the recorder raises rolls the whole move back: status, stock and outbox."""
    order_id = await world.place()
    world.recorder.fail = True
    with pytest.raises(RuntimeError):
        await world.store.transition(order_id, Event.CANCEL, actor_id=None, action="t")
    assert (await world.store.get(order_id)).status is OrderStatus.PLACED


async def test_a_code_collision_redraws_the_code(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two orders drawn the same code both commit; the second gets a fresh unique one."""
    monkeypatch.setattr("shop.placing.new_code", lambda: "AAAAAAAA")
    first = await world.store.get(await world.place())
    second = await world.store.get(await world.place())
    assert first.code == "AAAAAAAA"
    assert second.code != "AAAAAAAA" and is_code(second.code)

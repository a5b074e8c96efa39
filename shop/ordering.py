"""OrderService: the order wing, assembled. The gate admits, SQL records, the outbox makes
them agree. Each job is its own object; this one wires them and owns their loops.

- `Placer` (shop/placing.py): placing, with the group commit and batched gate reserves;
- `OrderMoves` (shop/order_moves.py): staff confirm/cancel through the lifecycle table;
- `GateSync` (shop/gate_sync.py): the outbox relay that makes the gate follow SQL;
- `HoldExpiry` (shop/hold_expiry.py): pending orders past their hold;
- `GateKeeper` (shop/gate_keeper.py): opening and rebuilding the gate from SQL;
- `SessionCache`, `OrderTokens`: the live sessions as orders see them, buyers' tokens.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from shop.catalogue import LiveSession
from shop.errors import NotFound
from shop.gate import InventoryGate
from shop.gate_keeper import GateKeeper
from shop.gate_sync import GateSync
from shop.hold_expiry import HoldExpiry
from shop.order_moves import OrderMoves
from shop.order_sessions import SessionCache, SessionSource
from shop.order_tokens import OrderTokens
from shop.orders import Order, OrderStore, PaymentMethod, PlaceOrder
from shop.placing import OrderEvent, PaymentHooks, Placed, Placer
from shop.tasks import TaskSet

LotsChanged = Callable[[Sequence[int]], Awaitable[None]]

__all__ = ["OrderService", "Placed"]


class OrderService:
    def __init__(
        self,
        *,
        store: OrderStore,
        sessions: SessionSource,
        gate: InventoryGate,
        token_secret: bytes,
        hold_seconds: int,
        group_window_s: float = 0.002,
        group_max: int = 200,
        sweep_interval_s: float = 1.0,
        on_lots_changed: LotsChanged | None = None,
        on_order: OrderEvent | None = None,
        enabled_payments: Sequence[str] = (PaymentMethod.COD, PaymentMethod.BANK_TRANSFER),
        payments: PaymentHooks | None = None,
        sync: GateSync | None = None,
    ) -> None:
        self.store = store
        self.gate = gate
        self.hold_seconds = hold_seconds
        self.enabled_payments = tuple(enabled_payments)
        self.tokens = OrderTokens(token_secret)
        self.sessions = SessionCache(sessions)
        # The payment service needs the relay too: the composition root may build it first.
        self.sync = sync or GateSync(gate, store, GateKeeper(gate, store), on_lots_changed)
        self.keeper = self.sync.keeper
        self.placer = Placer(
            store=store,
            gate=gate,
            sessions=self.sessions,
            tokens=self.tokens,
            keeper=self.keeper,
            sync=self.sync,
            hold_seconds=hold_seconds,
            enabled_payments=enabled_payments,
            payments=payments,
            on_order=on_order,
            group_window_s=group_window_s,
            group_max=group_max,
        )
        self.moves = OrderMoves(store, gate, self.sync)
        self.expiry = HoldExpiry(store, self.sync)
        self._sweep_interval = sweep_interval_s
        self._tasks = TaskSet()

    # -- running --------------------------------------------------------------------
    async def start(self) -> None:
        await self.keeper.open()
        self._start_tasks()

    async def start_degraded(self) -> None:
        """Start with the gate closed; the epoch watcher opens it once the store answers."""
        self.keeper.mark_unready()
        self._start_tasks()

    def _start_tasks(self) -> None:
        self.placer.start()
        self._tasks.spawn(self.sync.run(self._tasks.stopping), name="orders-outbox")
        self._tasks.every(self._sweep_interval, self.expiry.sweep, name="orders-sweeper")
        self._tasks.every(0.5, self.keeper.check, name="orders-epoch")

    async def stop(self) -> None:
        """Stop the loops between steps; cancel any that overrun a short grace period."""
        await self.placer.stop()
        self.sync.wake()
        await self._tasks.close(grace_s=2.0)

    @property
    def ready(self) -> bool:
        return self.keeper.ready

    @property
    def _writer(self) -> Placer:
        """What a test starts instead of `start()` (placing only, no loops)."""
        return self.placer

    # -- what routes and other services call ----------------------------------------
    async def place(self, cmd: PlaceOrder) -> Placed:
        return await self.placer.place(cmd)

    async def confirm(self, order_id: str, actor_id: int | None) -> Order:
        return await self.moves.confirm(order_id, actor_id)

    async def cancel(self, order_id: str, actor_id: int | None) -> Order:
        return await self.moves.cancel(order_id, actor_id)

    async def get(self, order_id: str) -> Order:
        """An order as staff see it (access is the route's to check)."""
        return await self.store.get(order_id)

    async def get_for_buyer(self, order_id: str, token: str) -> Order:
        try:
            order = await self.store.get(order_id)
        except NotFound:
            raise NotFound("no such order") from None
        return self.tokens.check(order, token)

    def token_for(self, order_id: str) -> str:
        return self.tokens.token_for(order_id)

    async def session(self, session_id: int) -> LiveSession:
        return await self.sessions.get(session_id)

    def forget_session(self, session_id: int) -> None:
        self.sessions.forget(session_id)

    async def sync_gate(self, order_ids: Sequence[str]) -> set[int]:
        return await self.sync.sync(order_ids)

    async def drain_outbox(self, older_than: datetime | None = None) -> int:
        return await self.sync.drain_outbox(older_than)

    async def sweep(self) -> list[str]:
        return await self.expiry.sweep()

    async def rebuild_all(self) -> None:
        await self.keeper.open()

    async def lot_added(self, lot_id: int) -> None:
        await self.keeper.lot_added(lot_id)

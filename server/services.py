"""Everything the app holds open: built in the lifespan, closed in reverse order."""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from server.abuse import Abuse
from server.auth import TokenSigner
from server.db import make_engine
from server.delivery import build_carriers, build_notifier
from server.hold_budget import LimitsBudget
from server.live.room import LiveRoom, open_live
from server.media import open_relay, open_relay_registry, relay_session_listener
from server.metrics import Metrics
from server.payments import build_payments
from server.photos import Photos
from server.replay import moment_listener
from server.settings import Settings
from shop.adapters.local_photos import LocalPhotos
from shop.adapters.memory_gate import MemoryGate
from shop.adapters.memory_ratelimit import MemoryRateLimiter
from shop.adapters.redis_client import redis_client
from shop.adapters.redis_gate import RedisGate
from shop.adapters.redis_ratelimit import RedisRateLimiter
from shop.adapters.sql.accounts import SqlAccounts
from shop.adapters.sql.buyer_history import SqlBuyerHistory
from shop.adapters.sql.catalogue import SqlCatalogue
from shop.adapters.sql.ledger import LedgerRecorder, SqlLedger
from shop.adapters.sql.migrate import upgrade
from shop.adapters.sql.moments import SqlMoments
from shop.adapters.sql.notifications import SqlNotifications
from shop.adapters.sql.notify_recorder import ChainRecorder, NotificationRecorder
from shop.adapters.sql.order_reports import SqlOrderReports
from shop.adapters.sql.orders import SqlOrders
from shop.adapters.sql.payment_ledger import SqlPaymentLedger
from shop.adapters.sql.photos import SqlPhotos
from shop.adapters.sql.recorder import TransitionRecorder
from shop.adapters.sql.restream import SqlRestream
from shop.adapters.sql.session_staff import SqlSessionStaff
from shop.adapters.sql.shipments import SqlShipments
from shop.adapters.sql.transfers import SqlTransferInbox
from shop.buyer_codes import BuyerCodes
from shop.catalogue import LiveSession, SessionStatus
from shop.errors import ShopError
from shop.gate import InventoryGate
from shop.gate_keeper import GateKeeper
from shop.gate_sync import GateSync
from shop.hold_policy import HoldPolicy
from shop.ledger_port import LedgerReader
from shop.notify.service import NotificationService
from shop.order_reports import OrderReports
from shop.ordering import OrderService
from shop.payments.service import PaymentService
from shop.payments.transfer_matching import TransferMatcher
from shop.replay import MomentStore
from shop.restream import RestreamStore
from shop.shipping import ShippingService
from stream import Relay

log = logging.getLogger("farmlive")


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    accounts: SqlAccounts
    catalogue: SqlCatalogue
    tokens: TokenSigner
    metrics: Metrics
    gate: InventoryGate
    orders: OrderService
    live: LiveRoom
    # The public ledger's reads, seals and verification (shop/ledger_port.py).
    ledger: LedgerReader
    relay: Relay | None = None
    # Where each session's relay is, for the 307s of any-instance WHIP/WHEP (server/media.py).
    relay_registry: Any = None
    # Replay moments (pins with their time), read by GET /api/sessions/{sid}/replay.
    moments: MomentStore | None = None
    # The reporting queries (stats, staff lists, exports); the order path uses `orders`.
    order_reports: OrderReports | None = None
    redis: Any = None
    payments: PaymentService | None = None
    # Bank transfers matched from the SePay webhook, and their inbox/staff queue.
    transfers: TransferMatcher | None = None
    transfer_inbox: SqlTransferInbox | None = None
    # After the sale: waybills and delivery moves, buyer messages, refusal history.
    shipping: ShippingService | None = None
    shipments: SqlShipments | None = None
    notifications: NotificationService | None = None
    notification_log: SqlNotifications | None = None
    buyer_history: SqlBuyerHistory | None = None
    buyer_codes: BuyerCodes | None = None
    # Per-IP rate limits and the login throttle (server/abuse.py).
    abuse: Abuse | None = None
    photos: Photos = field(default=None)  # type: ignore[assignment]  # set by open_services
    session_staff: SqlSessionStaff = field(default=None)  # type: ignore[assignment]
    # Each session's RTMP/RTMPS destinations (server/restream.py), stream keys inside.
    restream: RestreamStore = field(default=None)  # type: ignore[assignment]
    # Called after a staff change to a session (start, end, pin) so the live room and the
    # order path see it at once.
    session_listeners: list[Callable[[LiveSession], Awaitable[None]]] = field(default_factory=list)

    async def session_changed(self, session: LiveSession) -> None:
        for listener in self.session_listeners:
            await listener(session)

    async def ready(self) -> dict[str, bool]:
        """Which backing services answer right now (for /readyz)."""
        checks: dict[str, bool] = {}
        try:
            async with self.engine.connect() as conn:
                await conn.exec_driver_sql("SELECT 1")
            checks["database"] = True
        except Exception:
            checks["database"] = False
        if self.redis is not None:
            try:
                checks["redis"] = bool(await self.redis.ping())
            except Exception:
                checks["redis"] = False
        checks["gate"] = self.orders.ready
        try:
            checks["hub"] = bool(await self.live.hub.ping())
        except Exception:
            checks["hub"] = False
        return checks


async def _open_after_sale(
    stack: AsyncExitStack,
    services: Services,
    ledger: SqlPaymentLedger,
    secret: str,
    transports: dict[str, Any],
) -> None:
    """Bank-transfer matching, buyer codes, carriers and the waybill worker, buyer messages
    and their worker (closed in reverse)."""
    engine, catalogue = services.engine, services.catalogue
    if services.settings.sepay_api_key is not None and services.payments is not None:
        services.transfer_inbox = SqlTransferInbox(engine)
        services.transfers = TransferMatcher(
            payments=services.payments, orders=ledger, inbox=services.transfer_inbox
        )
    services.buyer_codes = BuyerCodes(hashlib.sha256(b"buyer-codes:" + secret.encode()).digest())
    products: dict[int, str] = {}

    async def describe(order: Any) -> str:
        if order.lot_id not in products:
            products[order.lot_id] = (await catalogue.get_lot(order.lot_id)).product
        return products[order.lot_id]

    services.shipments = SqlShipments(engine)
    services.buyer_history = SqlBuyerHistory(engine)
    services.shipping = ShippingService(
        store=services.shipments,
        carriers=build_carriers(services.settings, transports),
        orders=services.orders.store,
        moves=services.orders.moves,
        describe=describe,
    )
    stack.push_async_callback(services.shipping.aclose)
    services.notification_log = SqlNotifications(engine)
    notifier = build_notifier(services.settings, transports)
    stack.push_async_callback(notifier.close)
    services.notifications = NotificationService(store=services.notification_log, notifier=notifier)
    await services.shipping.start()
    stack.push_async_callback(services.shipping.stop)
    await services.notifications.start()
    stack.push_async_callback(services.notifications.stop)


SECRET_FILE = Path(".farmlive-secret")


def secret_of(settings: Settings) -> str:
    """FARMLIVE_SECRET_KEY, or for the one-laptop default a key kept in ./.farmlive-secret.

    Buyers' order links and staff sign-ins are signed with it, so it must survive a
    restart; several instances must be given the same FARMLIVE_SECRET_KEY.
    """
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    try:
        return SECRET_FILE.read_text().strip()
    except FileNotFoundError:
        pass
    secret = secrets.token_urlsafe(32)
    fd = os.open(SECRET_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret)
    log.warning("FARMLIVE_SECRET_KEY is not set: generated one in %s", SECRET_FILE.resolve())
    return secret


def seal_when_ended(ledger: LedgerReader) -> Callable[[LiveSession], Awaitable[None]]:
    """Seal a session's ledger head as soon as staff end it."""

    async def seal(session: LiveSession) -> None:
        if session.status is SessionStatus.ENDED:
            await ledger.seal(session.id, datetime.now(UTC))

    return seal


@asynccontextmanager
async def open_services(
    settings: Settings,
    *,
    migrate: bool = True,
    payment_http_client: Any = None,
    recorder: TransitionRecorder | None = None,
    delivery_transports: dict[str, Any] | None = None,
) -> AsyncIterator[Services]:
    """`recorder` hears every order move inside its transaction (docs/architecture.md)."""
    async with AsyncExitStack() as stack:
        engine = make_engine(settings.database_url)
        stack.push_async_callback(engine.dispose)
        if migrate:
            await upgrade(engine)
        redis, gate = _open_redis_and_gate(stack, settings)
        secret = secret_of(settings)
        catalogue = SqlCatalogue(engine)
        metrics = Metrics()
        live = await stack.enter_async_context(
            open_live(settings, redis=redis, gate=gate, catalogue=catalogue, metrics=metrics)
        )
        relay = await stack.enter_async_context(open_relay(settings, live.set_stream_status))
        registry = await stack.enter_async_context(open_relay_registry(settings, redis, relay))
        wing = OrderWing(settings, engine, catalogue, gate, live, _recorders(engine, recorder))
        payments = wing.payments(payment_http_client)
        stack.push_async_callback(payments.aclose)
        orders = wing.orders(secret, payments)
        services = Services(
            settings=settings,
            engine=engine,
            accounts=SqlAccounts(engine),
            catalogue=catalogue,
            tokens=TokenSigner(secret, settings.token_ttl_seconds),
            metrics=metrics,
            gate=gate,
            orders=orders,
            live=live,
            ledger=SqlLedger(engine),
            redis=redis,
            payments=payments,
            relay=relay,
            relay_registry=registry,
            order_reports=SqlOrderReports(engine),
            photos=_photos(engine, settings),
            session_staff=SqlSessionStaff(engine),
            abuse=_abuse(settings, redis, metrics),
        )
        await _open_after_sale(stack, services, wing.ledger, secret, delivery_transports or {})
        services.moments, services.restream = SqlMoments(engine), SqlRestream(engine)
        services.session_listeners.extend(
            [
                wing.forget_session,
                seal_when_ended(services.ledger),
                live.session_changed,
                relay_session_listener(relay),
                moment_listener(services.moments),
            ]
        )
        await wing.start(stack, orders, payments)
        yield services


def _recorders(engine: AsyncEngine, extra: TransitionRecorder | None) -> TransitionRecorder:
    """Every order move writes its public ledger entry and queues its buyer message in its
    own transaction; `extra` (a test's, a deployment's) hears the same records."""
    return ChainRecorder(LedgerRecorder(), NotificationRecorder(engine.dialect.name), extra)


def _photos(engine: AsyncEngine, settings: Settings) -> Photos:
    return Photos(SqlPhotos(engine), LocalPhotos(settings.photos_dir), settings.photo_max_bytes)


def _open_redis_and_gate(stack: AsyncExitStack, settings: Settings) -> tuple[Any, InventoryGate]:
    """Redis when configured (one client for the whole process) and the inventory gate on
    it, or the in-process gate; both closed with the stack."""
    redis = None
    if settings.redis_url:
        redis = redis_client(settings.redis_url, max_connections=256)
        stack.push_async_callback(redis.aclose)
    gate: InventoryGate = (
        RedisGate(redis, key_prefix=settings.redis_prefix) if redis is not None else MemoryGate()
    )
    stack.push_async_callback(gate.close)
    return redis, gate


def _abuse(settings: Settings, redis: Any, metrics: Metrics) -> Abuse:
    limiter = (
        RedisRateLimiter(redis, key_prefix=settings.redis_prefix)
        if redis is not None
        else MemoryRateLimiter()
    )
    return Abuse(limiter, settings, metrics=metrics)


class OrderWing:
    """Builds the order wing's parts, each given only what it needs."""

    def __init__(
        self,
        settings: Settings,
        engine: AsyncEngine,
        catalogue: SqlCatalogue,
        gate: InventoryGate,
        live: LiveRoom,
        recorder: TransitionRecorder | None,
    ) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.gate = gate
        self.live = live
        self.store = SqlOrders(engine, recorder)
        self.ledger = SqlPaymentLedger(engine, self.store.transitions)
        keeper = GateKeeper(gate, self.store)
        # The payment service and the order path share one relay: no wiring by assignment.
        self.sync = GateSync(gate, self.store, keeper, live.lots_changed)
        self._orders: OrderService | None = None

    def payments(self, http_client: Any) -> PaymentService:
        return build_payments(
            self.settings,
            self.ledger,
            self.catalogue,
            self.gate,
            gate_sync=self.sync,
            http_client=http_client,
        )

    def orders(self, secret: str, payments: PaymentService) -> OrderService:
        self._orders = OrderService(
            store=self.store,
            sessions=self.catalogue,
            gate=self.gate,
            token_secret=hashlib.sha256(b"orders:" + secret.encode()).digest(),
            hold_seconds=self.settings.hold_seconds,
            group_window_s=self.settings.group_commit_ms / 1000,
            group_max=self.settings.group_commit_max,
            on_order=self.live.order_placed,
            enabled_payments=payments.methods,
            payments=payments,
            sync=self.sync,
            hold_policy=HoldPolicy(
                hold_seconds=self.settings.hold_seconds,
                short_hold_seconds=self.settings.short_hold_seconds,
                nearly_sold_out_ratio=self.settings.nearly_sold_out_ratio,
            ),
            budget=LimitsBudget.for_settings(self.settings),
        )
        return self._orders

    async def forget_session(self, session: LiveSession) -> None:
        if self._orders is not None:
            self._orders.forget_session(session.id)

    async def start(
        self, stack: AsyncExitStack, orders: OrderService, payments: PaymentService
    ) -> None:
        try:
            await orders.start()
        except ShopError:
            # Redis not answering yet: serve anyway (orders answer 503 until it is back).
            log.warning("inventory gate not ready at start; orders wait for it")
            await orders.start_degraded()
        stack.push_async_callback(orders.stop)
        await payments.start()
        stack.push_async_callback(payments.stop)

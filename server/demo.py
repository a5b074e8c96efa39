"""The Lục Ngạn lychee demo: created once, found again on every later run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from server.auth import hash_password
from server.services import Services
from shop.accounts import Role
from shop.adapters.sql.catalogue import NewLot, NewOffer
from shop.adapters.sql.compliance import SqlCompliance
from shop.adapters.sql.tables import metadata
from shop.catalogue import LiveSession, SessionStatus
from shop.errors import NotFound

COOPERATIVE = "HTX Vải thiều Lục Ngạn"
SESSION_TITLE = "Phiên livestream bán vải thiều Lục Ngạn"
PASSWORD = "farmlive-demo"
ACCOUNTS = (
    ("admin@farmlive.local", Role.ADMIN, "Quản trị"),
    ("host@farmlive.local", Role.HOST, "Phó Chủ tịch UBND tỉnh"),
    ("coop@farmlive.local", Role.COOP, "HTX Vải thiều Lục Ngạn"),
    ("mod@farmlive.local", Role.MODERATOR, "Điều phối viên"),
)
OFFERS = (
    ("VL2", "Vải thiều loại A - thùng 2 kg", 2_000, 110_000),
    ("VL5", "Vải thiều loại A - thùng 5 kg", 5_000, 250_000),
    ("VL10", "Vải thiều loại A - thùng 10 kg", 10_000, 480_000),
)


@dataclass(frozen=True)
class Demo:
    cooperative_id: int
    lot_id: int
    session_id: int
    logins: tuple[tuple[str, str, str], ...]


async def ensure_demo(services: Services) -> Demo:
    """Create the demo if missing; running it again creates nothing twice."""
    catalogue = services.catalogue
    coop = await catalogue.find_cooperative_by_name(COOPERATIVE)
    if coop is None:
        coop = await catalogue.create_cooperative(
            None,
            name=COOPERATIVE,
            province="Bắc Ninh",
            ward="Xã Lục Ngạn",
            phone="02043880000",
            bank_bin="970436",
            bank_account="0123456789",
            bank_account_name="HTX VAI THIEU LUC NGAN",
        )
    user_ids: dict[Role, int] = {}
    for email, role, name in ACCOUNTS:
        found = await services.accounts.credentials(email)
        if found is None:
            user = await services.accounts.add(
                email,
                hash_password(PASSWORD),
                role,
                cooperative_id=coop.id if role is Role.COOP else None,
                display_name=name,
            )
        else:
            user = found[0]
        user_ids[role] = user.id
    lots = await catalogue.list_lots(coop.id)
    lot = (
        lots[0]
        if lots
        else await catalogue.create_lot(
            None,
            NewLot(
                cooperative_id=coop.id,
                product="Vải thiều Lục Ngạn",
                grade="A",
                origin="Lục Ngạn, Bắc Ninh",
                harvest_date=date(2025, 6, 29),
                vietgap=True,
                stock_grams=60_000_000,
            ),
        )
    )
    sessions = [s for s in await catalogue.list_sessions() if s.title == SESSION_TITLE]
    session = (
        sessions[-1]
        if sessions
        else await catalogue.create_session(
            None, title=SESSION_TITLE, host_id=user_ids[Role.HOST], max_grams_per_buyer=200_000
        )
    )
    await _prepare_session(services, session, lot.id, user_ids)
    session = await catalogue.get_session(session.id)
    existing = {o.code for o in session.offers}
    for code, title, pack, price in OFFERS:
        if code not in existing:
            await catalogue.create_offer(
                None,
                session.id,
                NewOffer(lot_id=lot.id, title=title, pack_grams=pack, price=price, code=code),
            )
    if session.status is SessionStatus.SCHEDULED:
        session = await catalogue.set_session_status(None, session.id, SessionStatus.LIVE)
    session = await catalogue.get_session(session.id)
    if session.pinned_offer_id is None:
        five = next(o for o in session.offers if o.code == "VL5")
        await catalogue.pin_offer(None, session.id, five.id)
    return Demo(
        cooperative_id=coop.id,
        lot_id=lot.id,
        session_id=session.id,
        logins=tuple((email, PASSWORD, role.value) for email, role, _ in ACCOUNTS),
    )


async def _prepare_session(
    services: Services, session: LiveSession, lot_id: int, user_ids: dict[Role, int]
) -> None:
    """What a session needs before going live: the lot attached, moderator, streamer."""
    if lot_id not in session.attached_lot_ids:
        await services.session_staff.attach_lot(user_ids[Role.COOP], session.id, lot_id)
    if user_ids[Role.MODERATOR] not in session.moderator_ids:
        await services.session_staff.assign_moderator(
            user_ids[Role.HOST], session.id, user_ids[Role.MODERATOR]
        )
    compliance = SqlCompliance(services.engine)
    try:
        await compliance.get_streamer(session.id)
    except NotFound:
        await compliance.record_streamer(
            user_ids[Role.HOST],
            session.id,
            full_name="Nguyễn Văn Minh",
            id_number="024099001234",
            organisation="UBND tỉnh Bắc Ninh",
            position="Phó Chủ tịch UBND tỉnh",
            phone=None,
        )


async def reset_demo(services: Services, *, force: bool = False) -> Demo:
    """Empty every table (and this deployment's Redis keys), then create the demo afresh.

    Refused on a database that does not hold the demo, unless `force`: it deletes every
    order, account and session, so it must never run on a real sale's database by mistake.
    """
    if not force and await services.catalogue.find_cooperative_by_name(COOPERATIVE) is None:
        raise NotFound("this database holds no demo (use --force to empty it anyway)")
    async with services.engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            await conn.execute(table.delete())
    if services.redis is not None:
        prefix = services.settings.redis_prefix
        async for key in services.redis.scan_iter(match=f"{prefix}:*", count=500):
            await services.redis.delete(key)
    return await ensure_demo(services)

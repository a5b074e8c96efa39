"""The public ledger (pages, CSV, head), honest session figures and the post-event report.

Read-only and public: entries carry no personal data. A session that has ended gets its
head sealed (by the end listener, or here on first read if that was missed).
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response, StreamingResponse

from server.deps import ServicesDep
from server.report_pdf import ReportData, render_report
from server.schemas.ledger import AllTotals, LedgerHead, LedgerPage, SessionStatsPublic
from server.schemas.types import PathId
from server.services import Services
from shop import address
from shop.adapters.sql.compliance import SqlCompliance
from shop.catalogue import LiveSession, SessionStatus
from shop.errors import NotFound
from shop.ledger import FIELDS
from shop.ledger_figures import SessionFigures, figures_of, head_view, stock_view
from shop.ledger_port import Head

router = APIRouter(prefix="/api", tags=["ledger"])
PAGE_MAX = 1000


async def sealed_head(services: Services, session: LiveSession) -> Head:
    head = await services.ledger.head(session.id)
    if session.status is SessionStatus.ENDED and head.sealed_at is None:
        head = await services.ledger.seal(session.id, datetime.now(UTC))
    return head


async def session_figures(services: Services, sid: int) -> tuple[LiveSession, SessionFigures, Head]:
    session = await services.catalogue.get_session(sid)  # 404 for an unknown session
    head = await sealed_head(services, session)
    figures = figures_of(sid, await services.ledger.fold(sid))
    return session, figures, head


@router.get("/sessions/{sid}/ledger", response_model=LedgerPage)
async def ledger_page(
    sid: PathId,
    services: ServicesDep,
    after: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 100,
) -> Any:
    _, figures, head = await session_figures(services, sid)
    entries = await services.ledger.page(sid, after, limit)
    return {"entries": [e.as_dict() for e in entries], "head": head_view(figures, head)}


@router.get("/sessions/{sid}/ledger/head", response_model=LedgerHead)
async def ledger_head(sid: PathId, services: ServicesDep) -> Any:
    _, figures, head = await session_figures(services, sid)
    return head_view(figures, head)


@router.get("/sessions/{sid}/ledger.csv")
async def ledger_csv(sid: PathId, services: ServicesDep) -> Response:
    await services.catalogue.get_session(sid)

    async def rows() -> AsyncIterator[str]:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(FIELDS)
        after = 0
        while True:
            page = await services.ledger.page(sid, after, PAGE_MAX)
            for entry in page:
                data = entry.as_dict()
                writer.writerow(["" if data[f] is None else data[f] for f in FIELDS])
            yield out.getvalue()
            out.seek(0)
            out.truncate()
            if len(page) < PAGE_MAX:
                return
            after = page[-1].seq

    return StreamingResponse(
        rows(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="ledger-session-{sid}.csv"'},
    )


@router.get("/sessions/{sid}/stats", response_model=SessionStatsPublic)
async def session_stats(sid: PathId, services: ServicesDep) -> Any:
    session, figures, head = await session_figures(services, sid)
    lots = await services.catalogue.lot_figures(sorted({o.lot_id for o in session.offers}))
    held = await services.ledger.held_grams(sid)
    return {
        "streamer": await _streamer_public(services, sid),
        **figures.totals,
        "held_grams": held,
        "available_grams": sum(f.available_grams for f in lots),
        "cancelled_count": figures.cancelled_count,
        "lots": stock_view(lots),
        "by_lot": figures.by_lot,
        "cooperatives": figures.by_cooperative,
        "provinces": figures.by_province,
        "timeline": figures.timeline,
        "ledger": head_view(figures, head),
    }


@router.get("/ledger/totals", response_model=AllTotals)
async def all_totals(services: ServicesDep) -> Any:
    """Each session's own orders and the sum of all orders, each counted once."""
    keys = ("sold_grams", "confirmed_grams", "unconfirmed_grams", "orders_count", "revenue")
    total = dict.fromkeys(keys, 0)
    sessions = []
    for session in await services.catalogue.list_sessions():
        head = await sealed_head(services, session)
        figures = figures_of(session.id, await services.ledger.fold(session.id))
        for k in keys:
            total[k] += figures.totals[k]
        sessions.append(
            {
                "id": session.id,
                "title": session.title,
                "status": session.status.value,
                "started_at": session.started_at,
                "ended_at": session.ended_at,
                "totals": figures.totals,
                "head_hash": figures.head_hash,
                "sealed_at": head.sealed_at,
            }
        )
    return {"totals": total, "sessions": sessions}


@router.get("/sessions/{sid}/report.pdf")
async def report_pdf(sid: PathId, services: ServicesDep) -> Response:
    """The post-event report: the same public figures, a chart and the sealed head."""
    session, figures, head = await session_figures(services, sid)
    data = await report_data(services, session, figures, head)
    pdf = await asyncio.to_thread(render_report, data)  # fpdf2 is CPU-bound and sync
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="bao-cao-phien-{sid}.pdf"'},
    )


async def report_data(
    services: Services, session: LiveSession, figures: SessionFigures, head: Head
) -> ReportData:
    coops = {c.id: c.name for c in await services.catalogue.list_cooperatives()}
    lot_ids = sorted({o.lot_id for o in session.offers} | {r["lot_id"] for r in figures.by_lot})
    products = {i: await services.catalogue.get_lot(i) for i in lot_ids}
    sold = {r["lot_id"]: r for r in figures.by_lot}
    provinces = {str(code): name for code, name in address.provinces()}
    base = (services.settings.public_url or "").rstrip("/")
    return ReportData(
        title=session.title,
        status=session.status.value,
        started_at=session.started_at,
        ended_at=session.ended_at,
        host=await _streamer_line(services, session.id),
        cooperatives=sorted({coops.get(lot.cooperative_id, "") for lot in products.values()}),
        totals=figures.totals,
        by_lot=[
            (
                lot.product,
                coops.get(lot.cooperative_id, ""),
                sold.get(i, {}).get("sold_grams", 0),
                sold.get(i, {}).get("confirmed_grams", 0),
            )
            for i, lot in products.items()
        ],
        by_province=[
            (
                provinces.get(str(r["province_code"]), "Chưa rõ"),
                r["sold_grams"],
                r["confirmed_grams"],
            )
            for r in figures.by_province
        ],
        timeline=figures.timeline,
        count=figures.count,
        head_hash=figures.head_hash,
        sealed_at=head.sealed_at,
        sealed_hash=head.sealed_hash,
        sealed_count=head.sealed_count,
        ledger_url=f"{base}/api/sessions/{session.id}/ledger.csv",
        generated_at=datetime.now(UTC),
    )


async def _streamer_public(services: Services, session_id: int) -> dict[str, Any] | None:
    """Who sells on air, as the public session view shows it (never the ID number)."""
    try:
        record = await SqlCompliance(services.engine).get_streamer(session_id)
    except NotFound:
        return None
    return {
        "full_name": record.full_name,
        "position": getattr(record, "position", None),
        "organisation": record.organisation,
    }


async def _streamer_line(services: Services, session_id: int) -> str | None:
    try:
        record = await SqlCompliance(services.engine).get_streamer(session_id)
    except NotFound:
        return None
    extra = [x for x in (getattr(record, "position", None), record.organisation) if x]
    return record.full_name + (" — " + ", ".join(extra) if extra else "")

"""`farmlive ledger verify` for one session: the chain recomputes, its head matches the
stored (and sealed) head, and every order's latest state agrees with the fold."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from shop.adapters.sql.tables import ledger_entries, ledger_heads, orders
from shop.ledger import Entry, LedgerEvent, OrderLine, fold, verify_chain
from shop.ledger_port import Verdict

# The order status each event leaves behind (a new order is `placed` or waits for payment).
STATUS_AFTER: dict[LedgerEvent, frozenset[str]] = {
    LedgerEvent.PLACED: frozenset({"placed", "pending_payment"}),
    **{e: frozenset({e.value}) for e in LedgerEvent if e is not LedgerEvent.PLACED},
}

# Problems sort by seq; those with no seq (an order missing from the ledger) come last.
Problem = tuple[int | None, str]


async def verify_session(conn: AsyncConnection, session_id: int) -> Verdict:
    entries = [
        Entry.from_mapping(r._mapping)
        for r in await conn.execute(
            select(*[c for c in ledger_entries.columns if c.name != "session_id"])
            .where(ledger_entries.c.session_id == session_id)
            .order_by(ledger_entries.c.seq)
        )
    ]
    head = (
        await conn.execute(select(ledger_heads).where(ledger_heads.c.session_id == session_id))
    ).first()
    problems = _chain_problems(entries, head)
    problems += await _order_problems(conn, session_id, entries)
    if not problems:
        return Verdict(session_id, len(entries))
    seq, reason = min(problems, key=lambda p: (p[0] is None, p[0] or 0))
    return Verdict(session_id, len(entries), seq, reason)


def _chain_problems(entries: list[Entry], head: Any) -> list[Problem]:
    problems: list[Problem] = []
    check = verify_chain(entries)
    if not check.ok:
        problems.append((check.bad_seq, check.reason))
    last_seq = entries[-1].seq if entries else 0
    if head is None:
        if entries:
            problems.append((1, "entries without a head"))
        return problems
    if head.count > last_seq:
        problems.append((last_seq + 1, f"the head counts {head.count} entries, {last_seq} found"))
    elif head.count < last_seq:
        problems.append((head.count + 1, "entries after the head"))
    elif entries and head.head_hash != entries[-1].hash:
        problems.append((head.count, "the head hash does not match the last entry"))
    sealed = head.sealed_count
    if sealed:
        kept = next((e for e in entries if e.seq == sealed), None)
        if kept is None or kept.hash != head.sealed_hash:
            problems.append((sealed, "the sealed head hash does not match the chain"))
    return problems


async def _order_problems(
    conn: AsyncConnection, session_id: int, entries: list[Entry]
) -> list[Problem]:
    lines = fold(entries).orders
    code = orders.c.code
    rows = await conn.execute(
        select(
            code.label("code"),
            orders.c.status,
            orders.c.grams,
            orders.c.total,
            orders.c.lot_id,
        ).where(orders.c.session_id == session_id)
    )
    problems: list[Problem] = []
    seen: set[str] = set()
    for row in rows:
        seen.add(row.code)
        line = lines.get(row.code)
        if line is None:
            problems.append((None, f"order {row.code} has no ledger entry"))
            continue
        problems += _compare(line, row)
    for line in lines.values():
        if line.order_code not in seen:
            problems.append((line.placed_seq, f"order {line.order_code} is not in the orders"))
    return problems


def _compare(line: OrderLine, row: Any) -> list[Problem]:
    out: list[Problem] = []
    if (line.grams, line.amount, line.lot_id) != (int(row.grams), int(row.total), row.lot_id):
        out.append((line.placed_seq, f"order {line.order_code}: grams, amount or lot differ"))
    if row.status not in STATUS_AFTER[line.last_event]:
        said = f"order {line.order_code} is {row.status}, the ledger says {line.last_event}"
        out.append((line.last_seq, said))
    return out

"""The public sales ledger: entries, their hash chain, and the fold that gives the totals.

Pure: no SQL, no I/O. The formats are the public contract ("Public ledger and honest
totals"): anyone who downloads a session's entries can recompute the chain and the
totals with a few lines of code, so nothing here may depend on this implementation.

- `hash = sha256_hex(prev_hash + "\\n" + canonical)`, where `canonical` is the entry
  without `prev_hash` and `hash`, as JSON with sorted keys, separators (",", ":"),
  UTF-8, non-ASCII characters unescaped; the first entry's `prev_hash` is 64 zeros.
- The fold: `placed` adds an order's grams to sold; `confirmed`/`paid`/`delivered` move it
  (once) to confirmed; `cancelled`/`expired`/`refunded`/`returned` take it out of both.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


class LedgerEvent(enum.StrEnum):
    PLACED = "placed"
    CONFIRMED = "confirmed"
    PAID = "paid"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REFUNDED = "refunded"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    RETURNED = "returned"


CONFIRMING = frozenset({LedgerEvent.CONFIRMED, LedgerEvent.PAID, LedgerEvent.DELIVERED})
REMOVING = frozenset(
    {LedgerEvent.CANCELLED, LedgerEvent.EXPIRED, LedgerEvent.REFUNDED, LedgerEvent.RETURNED}
)

# The fields of an entry, in the contract's order (the CSV's columns too).
FIELDS = (
    "seq",
    "ts",
    "event",
    "order_code",
    "offer_id",
    "lot_id",
    "cooperative_id",
    "grams",
    "amount",
    "province_code",
    "ward_code",
    "prev_hash",
    "hash",
)
INT_FIELDS = frozenset({"seq", "offer_id", "lot_id", "cooperative_id", "grams", "amount"})


def format_ts(when: datetime) -> str:
    """ISO 8601 UTC with milliseconds and a Z: one fixed width, so text order is time order."""
    if when.tzinfo is None:
        raise ValueError("naive datetime given to the ledger")
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def parse_ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Fact:
    """What an order change puts on the ledger, before it gets its place in the chain."""

    session_id: int
    event: LedgerEvent
    order_code: str
    offer_id: int
    lot_id: int
    cooperative_id: int
    grams: int
    amount: int
    province_code: str | None
    ward_code: str | None
    ts: str


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    ts: str
    event: LedgerEvent
    order_code: str
    offer_id: int
    lot_id: int
    cooperative_id: int
    grams: int
    amount: int
    province_code: str | None
    ward_code: str | None
    prev_hash: str
    hash: str

    def body(self) -> dict[str, Any]:
        """The hashed part: every field except prev_hash and hash."""
        return {
            "seq": self.seq,
            "ts": self.ts,
            "event": self.event.value,
            "order_code": self.order_code,
            "offer_id": self.offer_id,
            "lot_id": self.lot_id,
            "cooperative_id": self.cooperative_id,
            "grams": self.grams,
            "amount": self.amount,
            "province_code": self.province_code,
            "ward_code": self.ward_code,
        }

    def as_dict(self) -> dict[str, Any]:
        return {**self.body(), "prev_hash": self.prev_hash, "hash": self.hash}

    @classmethod
    def from_mapping(cls, data: Mapping[Any, Any]) -> Entry:
        return cls(
            seq=int(data["seq"]),
            ts=str(data["ts"]),
            event=LedgerEvent(data["event"]),
            order_code=str(data["order_code"]),
            offer_id=int(data["offer_id"]),
            lot_id=int(data["lot_id"]),
            cooperative_id=int(data["cooperative_id"]),
            grams=int(data["grams"]),
            amount=int(data["amount"]),
            province_code=data.get("province_code"),
            ward_code=data.get("ward_code"),
            prev_hash=str(data["prev_hash"]),
            hash=str(data["hash"]),
        )


def canonical(body: Mapping[str, Any]) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, body: Mapping[str, Any]) -> str:
    return hashlib.sha256((prev_hash + "\n" + canonical(body)).encode("utf-8")).hexdigest()


def chain(fact: Fact, seq: int, prev_hash: str) -> Entry:
    """The entry that puts `fact` at `seq`, after the entry whose hash is `prev_hash`."""
    # The body is built once, straight from the fact: this runs inside every order
    # change's transaction, so it stays cheap.
    body = {
        "seq": seq,
        "ts": fact.ts,
        "event": fact.event.value,
        "order_code": fact.order_code,
        "offer_id": fact.offer_id,
        "lot_id": fact.lot_id,
        "cooperative_id": fact.cooperative_id,
        "grams": fact.grams,
        "amount": fact.amount,
        "province_code": fact.province_code,
        "ward_code": fact.ward_code,
    }
    return Entry(
        seq=seq,
        ts=fact.ts,
        event=fact.event,
        order_code=fact.order_code,
        offer_id=fact.offer_id,
        lot_id=fact.lot_id,
        cooperative_id=fact.cooperative_id,
        grams=fact.grams,
        amount=fact.amount,
        province_code=fact.province_code,
        ward_code=fact.ward_code,
        prev_hash=prev_hash,
        hash=chain_hash(prev_hash, body),
    )


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """Where a chain first goes wrong (None: it recomputes), and its head."""

    count: int
    head_hash: str
    bad_seq: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.bad_seq is None


def verify_chain(
    entries: Iterable[Entry], *, start_seq: int = 1, prev: str = GENESIS
) -> ChainCheck:
    """Recompute a chain from `start_seq`; name the first seq whose entry does not fit."""
    expected = start_seq
    count = start_seq - 1
    for entry in entries:
        if entry.seq != expected:
            return ChainCheck(count, prev, expected, f"seq {expected} missing (found {entry.seq})")
        if entry.prev_hash != prev:
            return ChainCheck(count, prev, entry.seq, "prev_hash does not match the entry before")
        if chain_hash(prev, entry.body()) != entry.hash:
            return ChainCheck(count, prev, entry.seq, "hash does not recompute")
        prev = entry.hash
        count = entry.seq
        expected += 1
    return ChainCheck(count, prev)


class OrderState(enum.StrEnum):
    UNCONFIRMED = "unconfirmed"  # taken, not yet confirmed
    CONFIRMED = "confirmed"
    OUT = "out"  # cancelled, expired, refunded or returned


@dataclass(slots=True)
class OrderLine:
    """One order as the fold knows it."""

    order_code: str
    lot_id: int
    cooperative_id: int
    province_code: str | None
    grams: int
    amount: int
    state: OrderState
    last_event: LedgerEvent
    placed_seq: int
    last_seq: int


@dataclass(frozen=True, slots=True)
class Totals:
    sold_grams: int = 0
    confirmed_grams: int = 0
    unconfirmed_grams: int = 0
    orders_count: int = 0
    revenue: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "sold_grams": self.sold_grams,
            "confirmed_grams": self.confirmed_grams,
            "unconfirmed_grams": self.unconfirmed_grams,
            "orders_count": self.orders_count,
            "revenue": self.revenue,
        }


@dataclass(frozen=True, slots=True)
class Point:
    """The session's totals after the entries up to `ts` (a point of kg over time)."""

    ts: str
    sold_grams: int
    confirmed_grams: int


@dataclass
class Fold:
    """The running fold of one session's entries; `add` them in seq order.

    Totals are kept as running sums so a reader can fold only the entries it has not
    seen yet. An event for an order the fold has not seen placed is counted in
    `orphans` and changes nothing (verify reports it).
    """

    orders: dict[str, OrderLine] = field(default_factory=dict)
    sold_grams: int = 0
    confirmed_grams: int = 0
    orders_count: int = 0
    revenue: int = 0
    last_seq: int = 0
    last_hash: str = GENESIS
    orphans: int = 0
    timeline: list[Point] = field(default_factory=list)

    def add(self, entry: Entry) -> None:
        self.last_seq = entry.seq
        self.last_hash = entry.hash
        line = self.orders.get(entry.order_code)
        if entry.event is LedgerEvent.PLACED:
            if line is None:
                line = OrderLine(
                    entry.order_code,
                    entry.lot_id,
                    entry.cooperative_id,
                    entry.province_code,
                    entry.grams,
                    entry.amount,
                    OrderState.OUT,
                    entry.event,
                    entry.seq,
                    entry.seq,
                )
                self.orders[entry.order_code] = line
                self._move(line, OrderState.UNCONFIRMED)
        elif line is None:
            self.orphans += 1
            return
        elif entry.event in CONFIRMING:
            # Once: a second confirming event (paid, then delivered) changes nothing. One
            # after a removal (a transfer landing after its hold expired) brings it back.
            self._move(line, OrderState.CONFIRMED)
        elif entry.event in REMOVING:
            self._move(line, OrderState.OUT)
        line.last_event = entry.event
        line.last_seq = entry.seq
        self._point(entry.ts)

    def _move(self, line: OrderLine, state: OrderState) -> None:
        if line.state is state:
            return
        if line.state is OrderState.OUT:
            self.sold_grams += line.grams
            self.orders_count += 1
            self.revenue += line.amount
        if line.state is OrderState.CONFIRMED:
            self.confirmed_grams -= line.grams
        if state is OrderState.OUT:
            self.sold_grams -= line.grams
            self.orders_count -= 1
            self.revenue -= line.amount
        if state is OrderState.CONFIRMED:
            self.confirmed_grams += line.grams
        line.state = state

    def _point(self, ts: str) -> None:
        # One point per minute is enough for a chart; later entries of a minute replace it.
        point = Point(ts, self.sold_grams, self.confirmed_grams)
        if self.timeline and self.timeline[-1].ts[:16] == ts[:16]:
            self.timeline[-1] = point
        else:
            self.timeline.append(point)

    def totals(self) -> Totals:
        return Totals(
            sold_grams=self.sold_grams,
            confirmed_grams=self.confirmed_grams,
            unconfirmed_grams=self.sold_grams - self.confirmed_grams,
            orders_count=self.orders_count,
            revenue=self.revenue,
        )

    def out_count(self) -> int:
        return sum(1 for line in self.orders.values() if line.state is OrderState.OUT)

    def breakdown(self, key: str) -> list[dict[str, Any]]:
        """Totals per `lot_id`, `cooperative_id` or `province_code` of the taken orders."""
        rows: dict[Any, dict[str, Any]] = {}
        for line in self.orders.values():
            if line.state is OrderState.OUT:
                continue
            k = getattr(line, key)
            row = rows.setdefault(
                k,
                {key: k, "sold_grams": 0, "confirmed_grams": 0, "orders_count": 0, "revenue": 0},
            )
            row["sold_grams"] += line.grams
            row["orders_count"] += 1
            row["revenue"] += line.amount
            if line.state is OrderState.CONFIRMED:
                row["confirmed_grams"] += line.grams
        for row in rows.values():
            row["unconfirmed_grams"] = row["sold_grams"] - row["confirmed_grams"]
        return sorted(rows.values(), key=lambda r: (r[key] is None, str(r[key])))


def fold(entries: Iterable[Entry]) -> Fold:
    result = Fold()
    for entry in entries:
        result.add(entry)
    return result


def timeline(points: list[Point], max_points: int = 240) -> list[Point]:
    """At most `max_points` of a timeline, evenly spread, always keeping the last one."""
    if len(points) <= max_points:
        return list(points)
    step = len(points) / max_points
    picked = [points[int(i * step)] for i in range(max_points - 1)]
    return [*picked, points[-1]]

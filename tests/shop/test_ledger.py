"""The pure ledger: canonical JSON, the hash chain (a hand-computed vector) and the fold."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from shop.ledger import (
    GENESIS,
    Entry,
    Fact,
    LedgerEvent,
    canonical,
    chain,
    fold,
    format_ts,
    verify_chain,
)

# Computed by hand with the shell: printf '%s\n%s' "$prev" "$canonical" | sha256sum
CANON_1 = '{"amount":250000,"cooperative_id":1,"event":"placed","grams":5000,"lot_id":2,"offer_id":3,"order_code":"K7M2Q9XA","province_code":"24","seq":1,"ts":"2026-06-01T02:00:00.000Z","ward_code":"07420"}'
HASH_1 = "8ed7182a91fed7da4743203597b1892cc036d26d5ad4e7fa8ff48b90cdc9b6da"
HASH_2 = "d2c89b59126efd9d1d3e9a10a512bb31915185554a85f4323213afd73fd612dc"


def fact(
    event: str,
    code: str = "K7M2Q9XA",
    grams: int = 5000,
    amount: int = 250000,
    ts: str = "2026-06-01T02:00:00.000Z",
    province: str | None = "24",
    ward: str | None = "07420",
) -> Fact:
    return Fact(1, LedgerEvent(event), code, 3, 2, 1, grams, amount, province, ward, ts)


def build(facts: list[Fact]) -> list[Entry]:
    out: list[Entry] = []
    prev = GENESIS
    for i, f in enumerate(facts, start=1):
        out.append(chain(f, i, prev))
        prev = out[-1].hash
    return out


def test_known_vector() -> None:
    """The first two entries hash to the values computed by hand with sha256sum."""
    e1 = chain(fact("placed"), 1, GENESIS)
    assert canonical(e1.body()) == CANON_1
    assert e1.hash == HASH_1
    e2 = chain(
        fact("confirmed", ts="2026-06-01T02:05:00.000Z", province=None, ward=None), 2, e1.hash
    )
    assert e2.prev_hash == HASH_1
    assert e2.hash == HASH_2


def test_canonical_keeps_non_ascii_unescaped() -> None:
    """Vietnamese text stays as UTF-8 characters, not \\u escapes, with no spaces."""
    assert canonical({"b": "Bắc Ninh", "a": 1}) == '{"a":1,"b":"Bắc Ninh"}'


def test_format_ts_is_fixed_width_utc() -> None:
    """Timestamps are UTC with milliseconds and a Z."""
    assert (
        format_ts(datetime(2026, 6, 1, 2, 0, 0, 123456, tzinfo=UTC)) == "2026-06-01T02:00:00.123Z"
    )


def test_verify_names_first_bad_seq() -> None:
    """An edited, dropped or reordered entry is reported at its seq; an intact chain passes."""
    entries = build([fact("placed", f"C{i:07d}") for i in range(5)])
    assert verify_chain(entries).ok
    assert verify_chain(entries).head_hash == entries[-1].hash
    edited = list(entries)
    edited[2] = Entry.from_mapping({**entries[2].as_dict(), "grams": 1})
    assert verify_chain(edited).bad_seq == 3
    assert verify_chain(entries[:1] + entries[2:]).bad_seq == 2
    relinked = build([fact("placed", f"C{i:07d}") for i in range(5) if i != 1])
    # A rewritten tail recomputes on its own but no longer matches the head anyone kept.
    assert verify_chain(relinked).ok and verify_chain(relinked).head_hash != entries[-1].hash


def test_fold_rules() -> None:
    """placed adds to sold, confirming events move it once to confirmed, removals take it out."""
    f = fold(
        build(
            [
                fact("placed", "A", 5000, 100),
                fact("placed", "B", 3000, 60),
                fact("paid", "A", 5000, 100),
                fact("delivered", "A", 5000, 100),  # a second confirming event: no double count
                fact("placed", "C", 2000, 40),
                fact("cancelled", "C", 2000, 40),
                fact("shipped", "B", 3000, 60),
            ]
        )
    )
    t = f.totals()
    assert (t.sold_grams, t.confirmed_grams, t.unconfirmed_grams, t.orders_count, t.revenue) == (
        8000,
        5000,
        3000,
        2,
        160,
    )
    f.add(chain(fact("refunded", "A", 5000, 100), 8, GENESIS))
    assert f.totals().as_dict() == {
        "sold_grams": 3000,
        "confirmed_grams": 0,
        "unconfirmed_grams": 3000,
        "orders_count": 1,
        "revenue": 60,
    }


def test_late_payment_after_expiry_counts_again() -> None:
    """A transfer landing after its hold expired brings the order back, as confirmed."""
    t = fold(build([fact("placed", "A"), fact("expired", "A"), fact("paid", "A")])).totals()
    assert (t.sold_grams, t.confirmed_grams) == (5000, 5000)


EVENTS = st.sampled_from([e.value for e in LedgerEvent])


@given(st.lists(st.tuples(st.sampled_from("ABCD"), EVENTS), max_size=40))
def test_fold_matches_a_model(history: list[tuple[str, str]]) -> None:
    """For any event sequence the fold equals a naive per-order recomputation."""
    grams = {"A": 1000, "B": 2000, "C": 4000, "D": 8000}
    entries = build([fact(ev, code, grams[code], grams[code] * 10) for code, ev in history])
    state: dict[str, str] = {}
    for code, ev in history:
        if ev == "placed":
            state.setdefault(code, "u")
        elif code not in state:
            continue
        elif ev in ("confirmed", "paid", "delivered"):
            state[code] = "c"
        elif ev in ("cancelled", "expired", "refunded", "returned"):
            state[code] = "o"
    taken = [c for c, s in state.items() if s != "o"]
    t = fold(entries).totals()
    assert t.sold_grams == sum(grams[c] for c in taken)
    assert t.confirmed_grams == sum(grams[c] for c, s in state.items() if s == "c")
    assert t.orders_count == len(taken)
    assert t.revenue == 10 * t.sold_grams
    assert verify_chain(entries).ok

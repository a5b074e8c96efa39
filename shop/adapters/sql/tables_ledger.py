"""The public ledger's tables (shop/ledger.py, shop/adapters/sql/ledger.py)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
)

from shop.adapters.sql.columns import Grams, UTCDateTime, metadata

# The public sales ledger (shop/ledger.py): one hash chain per session, appended in the
# same transaction as the order change each entry records. No personal data: province and
# ward codes only. `ts` is the exact ISO string that was hashed.
ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("session_id", Integer, ForeignKey("live_sessions.id"), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("ts", String(24), nullable=False),
    Column("event", String(16), nullable=False),
    Column("order_code", String(36), nullable=False),
    Column("offer_id", Integer, nullable=False),
    Column("lot_id", Integer, nullable=False),
    Column("cooperative_id", Integer, nullable=False),
    Column("grams", Grams, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("province_code", String(8), nullable=True),
    Column("ward_code", String(8), nullable=True),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    CheckConstraint("seq > 0", name="seq_positive"),
    Index("ix_ledger_entries_order", "session_id", "order_code"),
)

# Each session's chain head: the row writers lock to take the next seq (so two app
# instances never fork a chain), and the head sealed when the session ended.
ledger_heads = Table(
    "ledger_heads",
    metadata,
    Column("session_id", Integer, ForeignKey("live_sessions.id"), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("head_hash", String(64), nullable=False),
    Column("sealed_count", Integer, nullable=True),
    Column("sealed_hash", String(64), nullable=True),
    Column("sealed_at", UTCDateTime, nullable=True),
)

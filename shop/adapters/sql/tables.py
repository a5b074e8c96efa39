"""The SQL schema: the system of record. Alembic migrations under ./migrations follow it.

The core tables are here; the ledger's and the after-sale ones have modules of their own,
re-exported below so `tables.X` names every table (and importing this module registers
them all on `metadata`, which migrations and the drift test read).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    false,
    true,
)

from shop.adapters.sql.columns import Grams, UTCDateTime, metadata, utcnow
from shop.adapters.sql.tables_after_sale import bank_transfers, notifications, shipments
from shop.adapters.sql.tables_ledger import ledger_entries, ledger_heads
from shop.adapters.sql.tables_media import session_restreams

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("cooperative_id", Integer, ForeignKey("cooperatives.id"), nullable=True),
    Column("display_name", String(120), nullable=False, server_default=""),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("created_at", UTCDateTime, nullable=False),
    # A one-time set-password link (new account or reset): only its hash is kept.
    Column("password_token_hash", String(64), nullable=True),
    Column("password_token_expires", UTCDateTime, nullable=True),
    CheckConstraint("role in ('admin','host','coop','moderator')", name="role"),
)

cooperatives = Table(
    "cooperatives",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("province", String(100), nullable=True),
    Column("ward", String(100), nullable=True),
    Column("phone", String(20), nullable=True),
    # Where bank transfers (VietQR) go: NAPAS bank BIN + account.
    Column("bank_bin", String(8), nullable=True),
    Column("bank_account", String(32), nullable=True),
    Column("bank_account_name", String(100), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

lots = Table(
    "lots",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("cooperative_id", Integer, ForeignKey("cooperatives.id"), nullable=False, index=True),
    Column("product", String(200), nullable=False),
    Column("grade", String(50), nullable=True),
    Column("origin", String(200), nullable=True),
    Column("harvest_date", Date, nullable=True),
    Column("vietgap", Boolean, nullable=False, server_default="0"),
    # Fresh produce: confirmed goods that come back are written off, never resold.
    Column("perishable", Boolean, nullable=False, server_default=true()),
    Column("stock_grams", Grams, nullable=False),
    # Only the backstop update (`sold_grams + :g <= stock_grams`) moves this column.
    Column("sold_grams", Grams, nullable=False, server_default="0"),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("stock_grams >= 0", name="stock_nonneg"),
    CheckConstraint("sold_grams >= 0 AND sold_grams <= stock_grams", name="sold_within_stock"),
)

live_sessions = Table(
    "live_sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("title", String(200), nullable=False),
    Column("host_id", Integer, ForeignKey("users.id"), nullable=True, index=True),
    Column("status", String(16), nullable=False),
    Column("stream_key", String(64), nullable=False, unique=True),
    Column("scheduled_at", UTCDateTime, nullable=True),
    Column("started_at", UTCDateTime, nullable=True),
    Column("ended_at", UTCDateTime, nullable=True),
    Column("pinned_offer_id", Integer, nullable=True),
    # Per-buyer cap (by phone) per lot in this session; NULL = no cap beyond max_per_order.
    Column("max_grams_per_buyer", Grams, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    # The sale paused by the host (orders refused) while the session stays live.
    Column("sale_paused", Boolean, nullable=False, server_default="0"),
    # The host keeps the sale open after the end: the replay takes orders while stock lasts.
    Column("sale_after_end", Boolean, nullable=False, server_default="0"),
    # This session's own banned chat words, edited by its moderators (on top of settings').
    Column("banned_words", JSON, nullable=True),
    CheckConstraint("status in ('scheduled','live','ended')", name="status"),
)

# Lots a cooperative put on sale in a session: hosts make offers only on these.
session_lots = Table(
    "session_lots",
    metadata,
    Column("session_id", Integer, ForeignKey("live_sessions.id"), primary_key=True),
    Column("lot_id", Integer, ForeignKey("lots.id"), primary_key=True),
    Column("attached_by", Integer, nullable=True),
    Column("attached_at", UTCDateTime, nullable=False),
    # Detached: no new offers on it; existing offers stay (orders refer to them).
    Column("detached_at", UTCDateTime, nullable=True),
)

# Moderators assigned to a session: their staff rights reach only these sessions.
session_moderators = Table(
    "session_moderators",
    metadata,
    Column("session_id", Integer, ForeignKey("live_sessions.id"), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
    Column("assigned_by", Integer, nullable=True),
    Column("assigned_at", UTCDateTime, nullable=False),
)

# Product photos of lots and offers: the stored widths of one re-encoded upload.
photos = Table(
    "photos",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("owner_type", String(8), nullable=False),
    Column("owner_id", Integer, nullable=False),
    Column("storage_key", String(64), nullable=False, unique=True),
    Column("widths", JSON, nullable=False),
    Column("created_by", Integer, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("owner_type in ('lot','offer')", name="owner_type"),
    Index("ix_photos_owner", "owner_type", "owner_id"),
)

# The order desk: chat orders (parsed intents) worked by staff, one row per intent.
desk_items = Table(
    "desk_items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("session_id", Integer, ForeignKey("live_sessions.id"), nullable=False),
    Column("intent_id", String(64), nullable=False),
    Column("message_id", String(64), nullable=False),
    Column("name", String(100), nullable=False),
    Column("text", String(500), nullable=False),
    Column("offer_id", Integer, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("grams", Grams, nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("state", String(16), nullable=False),
    Column("claimed_by", Integer, nullable=True),
    Column("order_id", String(36), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("session_id", "intent_id", name="uq_desk_items_session_intent"),
    CheckConstraint("state in ('new','claimed','ordered','dismissed')", name="state"),
)

offers = Table(
    "offers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("session_id", Integer, ForeignKey("live_sessions.id"), nullable=False, index=True),
    Column("lot_id", Integer, ForeignKey("lots.id"), nullable=False, index=True),
    Column("code", String(16), nullable=False),
    Column("title", String(200), nullable=False),
    Column("pack_grams", Grams, nullable=False),
    Column("price", BigInteger, nullable=False),  # VND, integer đồng
    Column("currency", String(3), nullable=False, server_default="VND"),
    Column("max_per_order", Integer, nullable=False, server_default="20"),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("session_id", "code", name="uq_offers_session_code"),
    CheckConstraint("pack_grams > 0", name="pack_positive"),
    CheckConstraint("price >= 0", name="price_nonneg"),
    CheckConstraint("max_per_order > 0", name="max_positive"),
)

orders = Table(
    "orders",
    metadata,
    # Derived from (session, Idempotency-Key, body): a retried request maps to the same id.
    Column("id", String(36), primary_key=True),
    Column("session_id", Integer, ForeignKey("live_sessions.id"), nullable=False),
    Column("offer_id", Integer, ForeignKey("offers.id"), nullable=False),
    Column("lot_id", Integer, ForeignKey("lots.id"), nullable=False),
    Column("idempotency_key", String(128), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("token_hash", String(64), nullable=False),
    Column("status", String(24), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("grams", Grams, nullable=False),
    Column("unit_price", BigInteger, nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("buyer_name", String(100), nullable=False),
    Column("buyer_phone", String(10), nullable=False),
    Column("province_code", String(8), nullable=True),
    Column("province_name", String(100), nullable=False),
    Column("ward_code", String(8), nullable=True),
    Column("ward_name", String(100), nullable=False),
    Column("street", String(200), nullable=False),
    # How the ward was found (exact | converted | unrecognised) and what the buyer typed when
    # it differs from the official names; NULL on orders from before migration 0007.
    Column("address_match", String(16), nullable=True),
    Column("address_typed", String(300), nullable=True),
    Column("payment_method", String(16), nullable=False),
    Column("payment_ref", String(255), nullable=True),
    Column("hold_expires_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("flags", JSON, nullable=True),
    # The short code buyers are shown (shop/order_code.py); drawn at random, so unique.
    Column("code", String(8), nullable=False),
    # The order's goods left the lot for good (a refund, or a perishable return/cancel).
    Column("written_off", Boolean, nullable=False, server_default=false()),
    UniqueConstraint("session_id", "idempotency_key", name="uq_orders_session_idem"),
    UniqueConstraint("code", name="uq_orders_code"),
    CheckConstraint("quantity > 0", name="quantity_positive"),
    CheckConstraint("grams > 0", name="grams_positive"),
    Index("ix_orders_lot_status", "lot_id", "status"),
    Index("ix_orders_status_hold", "status", "hold_expires_at"),
    Index("ix_orders_session_phone", "session_id", "buyer_phone"),
    # A buyer phone's history across sessions: refusal risk (shop/refusals.py).
    Index("ix_orders_phone", "buyer_phone", "created_at"),
)

# Side effects (gate commit/release, live counter) written in the same transaction as the
# state change they follow; a relay applies them at least once and deletes them.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor_id", Integer, nullable=True),
    Column("action", String(64), nullable=False),
    Column("object_type", String(32), nullable=False),
    Column("object_id", String(64), nullable=False),
    Column("detail", JSON, nullable=True),
    Index("ix_audit_object", "object_type", "object_id"),
)

# Payment provider events already processed (dedup by provider event id, same transaction).
payment_events = Table(
    "payment_events",
    metadata,
    Column("id", String(255), primary_key=True),
    Column("provider", String(16), nullable=False),
    Column("type", String(64), nullable=False),
    Column("order_id", String(36), nullable=True),
    Column("received_at", UTCDateTime, nullable=False),
)

# Who sold on each live session (e-commerce compliance; shop/compliance.py). One row per
# session, replaced when staff correct it; the audit log keeps every change.
session_streamers = Table(
    "session_streamers",
    metadata,
    Column("session_id", Integer, ForeignKey("live_sessions.id"), primary_key=True),
    Column("full_name", String(100), nullable=False),
    Column("id_number", String(20), nullable=False),
    Column("organisation", String(200), nullable=True),
    Column("phone", String(10), nullable=True),
    Column("position", String(100), nullable=True),  # shown to viewers with the name
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("recorded_by", Integer, nullable=True),
)

# Buyers' and viewers' complaints, answered by staff from the inbox.
complaints = Table(
    "complaints",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("session_id", Integer, ForeignKey("live_sessions.id"), nullable=True),
    Column("order_id", String(36), nullable=True),
    Column("name", String(100), nullable=False),
    Column("phone", String(10), nullable=False),
    Column("text", String(2000), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime, nullable=True),
    Column("resolved_by", Integer, nullable=True),
    Column("resolution", String(1000), nullable=True),
    Index("ix_complaints_status", "status", "id"),
)

# Replay moments: each pin and price change during a session, timed, so a replay can jump
# to it; `price` is the offer's price from that moment.
session_moments = Table(
    "session_moments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("session_id", Integer, ForeignKey("live_sessions.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("offer_id", Integer, nullable=True),
    Column("title", String(200), nullable=False),
    Column("price", BigInteger, nullable=True),
    Index("ix_session_moments_session", "session_id", "at"),
)


__all__ = [
    "Grams",
    "UTCDateTime",
    "bank_transfers",
    "ledger_entries",
    "ledger_heads",
    "metadata",
    "notifications",
    "session_restreams",
    "shipments",
    "utcnow",
]

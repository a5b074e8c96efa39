"""After the sale: waybill jobs, buyer messages, bank transfers (issue 16)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
)

from shop.adapters.sql.columns import UTCDateTime, metadata

# After the sale (issue 16). One waybill job per order: the order id is the idempotency key
# at the carrier, so retries never make a second waybill.
shipments = Table(
    "shipments",
    metadata,
    Column("order_id", String(36), ForeignKey("orders.id"), primary_key=True),
    # An adapter's name (ghn, ghtk) or, shipped by hand, the carrier staff typed.
    Column("carrier", String(40), nullable=False),
    # The job: queued (waybill not made yet) | created | failed (staff must act) | cancelled
    Column("state", String(12), nullable=False),
    Column("tracking", String(64), nullable=True),
    Column("tracking_url", String(255), nullable=True),
    Column("fee", BigInteger, nullable=True),  # đồng, as the carrier quoted it
    # The parcel's last known DeliveryState and the carrier's own status word.
    Column("delivery", String(16), nullable=True),
    Column("raw_status", String(64), nullable=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("last_error", String(300), nullable=True),
    Column("batch_id", String(36), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_shipments_state_next", "state", "next_attempt_at"),
    Index("ix_shipments_tracking", "carrier", "tracking"),
    Index("ix_shipments_batch", "batch_id"),
)

# Buyer messages: one row per (order, event) (`dedup_key`), sent at least once by a worker
# with backoff; the unique key makes a second enqueue a no-op.
notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("dedup_key", String(120), nullable=False, unique=True),
    Column("order_id", String(36), nullable=True),
    Column("event", String(24), nullable=False),
    Column("phone", String(10), nullable=False),
    Column("params", JSON, nullable=False),
    Column("state", String(12), nullable=False),  # pending | sent | failed
    Column("channel", String(16), nullable=True),  # the adapter that sent it
    Column("provider_ref", String(100), nullable=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("last_error", String(300), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    Index("ix_notifications_state_next", "state", "next_attempt_at"),
)

# Transfers reported by the bank-transaction service (SePay), with what matching made of
# them; those that need a person (wrong amount, unknown reference, too late) are the
# staff queue. The id is the provider's transaction id.
bank_transfers = Table(
    "bank_transfers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("provider", String(16), nullable=False),
    Column("amount", BigInteger, nullable=False),  # đồng
    Column("content", String(500), nullable=False),
    Column("bank_reference", String(100), nullable=True),
    Column("reference", String(16), nullable=True),  # the order payment reference found
    Column("order_id", String(36), nullable=True),
    # paid | mismatch | unmatched | refund_due | ignored
    Column("outcome", String(16), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime, nullable=True),
    Column("resolved_by", Integer, nullable=True),
    Column("resolution", String(300), nullable=True),
    Index("ix_bank_transfers_outcome", "outcome", "received_at"),
)

"""Media tables: each session's restream destinations (issue 17)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table

from shop.adapters.sql.columns import metadata

# The stream keys are in `url`: read only by the restream adapter, masked in every answer.
session_restreams = Table(
    "session_restreams",
    metadata,
    Column("session_id", Integer, ForeignKey("live_sessions.id"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("url", String(1024), nullable=False),
    Column("enabled", Boolean, nullable=False),
)

"""Alembic environment: runs on a connection handed in by farmlive (sync or async engines)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from shop.adapters.sql.tables import metadata

config = context.config


def _configure_and_run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things: batch mode recreates tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _configure_and_run(connection)
else:
    # Plain `alembic` CLI use: a sync URL (e.g. sqlite:///x.db or postgresql://...).
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        _configure_and_run(conn)

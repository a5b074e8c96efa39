"""Alembic migrations build the schema the code expects, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from shop.adapters.sql.migrate import current_revision, upgrade
from shop.adapters.sql.tables import metadata


async def test_migrated_schema_matches_tables(database_url: str) -> None:
    """After upgrade every table and column of the metadata exists, and upgrading again is a no-op."""
    engine = create_async_engine(database_url)
    try:
        await upgrade(engine)
        await upgrade(engine)  # idempotent
        assert await current_revision(engine) is not None
        async with engine.connect() as conn:
            columns = await conn.run_sync(
                lambda c: {
                    t: {col["name"] for col in inspect(c).get_columns(t)}
                    for t in inspect(c).get_table_names()
                }
            )
        for table in metadata.tables.values():
            assert table.name in columns
            assert {c.name for c in table.columns} == columns[table.name]
    finally:
        await engine.dispose()


async def test_no_model_change_without_migration(database_url: str) -> None:
    """Alembic's autogenerate finds no difference between the migrations and the tables."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = create_async_engine(database_url)
    try:
        await upgrade(engine)
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"compare_type": False}), metadata
                )
            )
        assert diff == []
    finally:
        await engine.dispose()

"""SqlPhotos: which photos belong to which lot or offer (the files are in PhotoStorage)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shop.adapters.sql import audit
from shop.adapters.sql.tables import photos, utcnow
from shop.errors import NotFound


@dataclass(frozen=True, slots=True)
class PhotoRecord:
    id: int
    owner_type: str
    owner_id: int
    storage_key: str
    widths: tuple[int, ...]


def _record(row: object) -> PhotoRecord:
    return PhotoRecord(
        id=row.id,  # type: ignore[attr-defined]
        owner_type=row.owner_type,  # type: ignore[attr-defined]
        owner_id=row.owner_id,  # type: ignore[attr-defined]
        storage_key=row.storage_key,  # type: ignore[attr-defined]
        widths=tuple(int(w) for w in row.widths),  # type: ignore[attr-defined]
    )


class SqlPhotos:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(
        self, actor_id: int | None, owner_type: str, owner_id: int, key: str, widths: Sequence[int]
    ) -> PhotoRecord:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                photos.insert()
                .values(
                    owner_type=owner_type,
                    owner_id=owner_id,
                    storage_key=key,
                    widths=list(widths),
                    created_by=actor_id,
                    created_at=utcnow(),
                )
                .returning(photos)
            )
            record = _record(result.one())
            await audit.record(
                conn, actor_id, "photo.add", owner_type, owner_id, {"photo_id": record.id}
            )
        return record

    async def get(self, photo_id: int) -> PhotoRecord:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(photos).where(photos.c.id == photo_id))).one_or_none()
        if row is None:
            raise NotFound(f"no photo {photo_id}")
        return _record(row)

    async def remove(self, actor_id: int | None, photo_id: int) -> PhotoRecord:
        record = await self.get(photo_id)
        async with self._engine.begin() as conn:
            await conn.execute(photos.delete().where(photos.c.id == photo_id))
            await audit.record(
                conn,
                actor_id,
                "photo.remove",
                record.owner_type,
                record.owner_id,
                {"photo_id": photo_id},
            )
        return record

    async def for_owners(self, owners: Sequence[tuple[str, int]]) -> list[PhotoRecord]:
        """Photos of every (owner_type, owner_id) given, oldest first."""
        if not owners:
            return []
        by_type: dict[str, list[int]] = {}
        for kind, owner_id in owners:
            by_type.setdefault(kind, []).append(owner_id)
        clause = or_(
            *[
                (photos.c.owner_type == kind) & photos.c.owner_id.in_(ids)
                for kind, ids in by_type.items()
            ]
        )
        async with self._engine.connect() as conn:
            result = await conn.execute(select(photos).where(clause).order_by(photos.c.id))
            return [_record(r) for r in result]

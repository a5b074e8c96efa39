"""Photos of lots and offers: upload (re-encode, store), list per owner, serve the files."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from shop.adapters.sql.photos import PhotoRecord, SqlPhotos
from shop.photos import PhotoStorage, file_name, new_key, reencode


def photo_view(record: PhotoRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "urls": {str(w): f"/photos/{file_name(record.storage_key, w)}" for w in record.widths},
    }


class Photos:
    def __init__(self, records: SqlPhotos, storage: PhotoStorage, max_bytes: int) -> None:
        self.records = records
        self.storage = storage
        self.max_bytes = max_bytes

    async def upload(
        self, actor_id: int, owner_type: str, owner_id: int, data: bytes
    ) -> dict[str, Any]:
        # Decoding a large photo takes a while: off the event loop.
        files = await asyncio.to_thread(reencode, data, self.max_bytes)
        key = new_key()
        for width, blob in files.items():
            await self.storage.put(file_name(key, width), blob)
        record = await self.records.add(actor_id, owner_type, owner_id, key, sorted(files))
        return photo_view(record)

    async def remove(self, actor_id: int, photo_id: int) -> None:
        record = await self.records.remove(actor_id, photo_id)
        for width in record.widths:
            await self.storage.delete(file_name(record.storage_key, width))

    async def for_owners(
        self, owners: Sequence[tuple[str, int]]
    ) -> dict[tuple[str, int], list[dict[str, Any]]]:
        out: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for record in await self.records.for_owners(owners):
            out.setdefault((record.owner_type, record.owner_id), []).append(photo_view(record))
        return out

"""LocalPhotos: photo files in a folder on this machine (the default PhotoStorage)."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

_NAME = re.compile(r"^[0-9a-f]{24}-\d{1,5}\.webp$")  # only names shop.photos makes


class LocalPhotos:
    def __init__(self, folder: Path) -> None:
        self._folder = folder

    def _path(self, name: str) -> Path:
        if not _NAME.match(name):
            raise ValueError(f"not a photo file name: {name!r}")
        return self._folder / name

    async def put(self, name: str, data: bytes) -> None:
        path = self._path(name)
        await asyncio.to_thread(self._write, path, data)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)  # readers never see half a file

    async def get(self, name: str) -> bytes | None:
        try:
            path = self._path(name)
        except ValueError:
            return None
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    async def delete(self, name: str) -> None:
        await asyncio.to_thread(self._path(name).unlink, True)

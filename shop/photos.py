"""Product photos: what an upload must be, how it is re-encoded, and where files go.

An upload is never stored as sent: it is decoded (JPEG, PNG or WebP only, bounded in
bytes and pixels so a "decompression bomb" is refused), rotated upright from its EXIF
orientation, then written afresh as WebP at a few widths. Re-encoding drops EXIF (GPS
positions of a farmer's field, camera serials) and anything hidden after the image data.
"""

from __future__ import annotations

import io
import secrets
from typing import Protocol

from PIL import Image, ImageOps, UnidentifiedImageError

from shop.errors import InvalidInput

WIDTHS = (320, 640, 1280)
MAX_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a 7,000 x 5,700 photo; larger is refused, not decoded
FORMATS = frozenset({"JPEG", "PNG", "WEBP"})


class PhotoTooLarge(InvalidInput):
    """The photo is larger than the server accepts."""

    code = "photo_too_large"


class PhotoStorage(Protocol):
    """Where photo files live: a local folder by default (an S3-compatible one later)."""

    async def put(self, name: str, data: bytes) -> None: ...

    async def get(self, name: str) -> bytes | None: ...

    async def delete(self, name: str) -> None: ...


def new_key() -> str:
    return secrets.token_hex(12)


def file_name(key: str, width: int) -> str:
    return f"{key}-{width}.webp"


def reencode(data: bytes, max_bytes: int = MAX_BYTES) -> dict[int, bytes]:
    """WebP files per width (never wider than the original) from an uploaded image."""
    if len(data) > max_bytes:
        raise PhotoTooLarge(f"photos up to {max_bytes // (1024 * 1024)} MB")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in FORMATS:
                raise InvalidInput("photos must be JPEG, PNG or WebP", field="photo")
            if probe.width * probe.height > MAX_PIXELS:
                raise PhotoTooLarge("the photo has too many pixels")
            probe.load()
            image = ImageOps.exif_transpose(probe)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError) as exc:
        raise InvalidInput("this file is not a readable image", field="photo") from exc
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    out: dict[int, bytes] = {}
    for width in WIDTHS:
        if out and width > image.width:
            break
        copy = image.copy()
        if copy.width > width:
            copy.thumbnail((width, width * 4), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        copy.save(buffer, "WEBP", quality=80, method=4)  # no exif= argument: none written
        out[min(width, image.width)] = buffer.getvalue()
    return out

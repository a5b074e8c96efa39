"""Product photos: decoded and re-encoded (EXIF gone, WebP at a few widths), size-limited."""

from __future__ import annotations

import io

from PIL import Image

from tests.conftest import Api
from tests.server.orders_helpers import live_session


def jpeg_with_gps(width: int = 1600, height: int = 1200) -> bytes:
    image = Image.new("RGB", (width, height), (180, 40, 60))
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"  # Make
    exif[0x8825] = {1: "N", 2: (21.0, 2.0, 0.0)}  # GPS
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes())
    assert b"CameraMaker" in buffer.getvalue()
    return buffer.getvalue()


async def test_lot_photo_is_reencoded_without_exif(api: Api) -> None:
    """A JPEG with EXIF comes back as WebP files of 320/640/1280 px with no EXIF."""
    s = await live_session(api)
    r = await api.client.post(
        f"/api/lots/{s['lot_id']}/photos",
        content=jpeg_with_gps(),
        headers={**api.auth("coop"), "Content-Type": "image/jpeg"},
    )
    assert r.status_code == 201, r.text
    urls = r.json()["urls"]
    assert sorted(urls, key=int) == ["320", "640", "1280"]
    for width, url in urls.items():
        got = await api.client.get(url)
        assert got.status_code == 200 and got.headers["content-type"] == "image/webp"
        assert b"CameraMaker" not in got.content
        with Image.open(io.BytesIO(got.content)) as image:
            assert image.format == "WEBP" and image.width == int(width)
            assert not image.getexif()
    lot = (await api.client.get(f"/api/lots/{s['lot_id']}")).json()
    assert lot["photos"] == [r.json()]
    view = (await api.client.get(f"/api/sessions/{s['sid']}")).json()
    assert view["lots"][0]["photos"] == [r.json()]


async def test_offer_photo_by_the_host_and_small_images_keep_their_width(api: Api) -> None:
    """The host adds an offer photo; a 200 px PNG is not enlarged."""
    s = await live_session(api)
    buffer = io.BytesIO()
    Image.new("RGBA", (200, 100), (0, 128, 0, 128)).save(buffer, "PNG")
    r = await api.client.post(
        f"/api/offers/{s['offers']['VL5']}/photos",
        content=buffer.getvalue(),
        headers={**api.auth("host"), "Content-Type": "image/png"},
    )
    assert r.status_code == 201, r.text
    assert list(r.json()["urls"]) == ["200"]
    view = (await api.client.get(f"/api/sessions/{s['sid']}")).json()
    pinned = next(o for o in view["offers"] if o["id"] == s["offers"]["VL5"])
    assert pinned["photos"] == [r.json()]
    removed = await api.client.delete(f"/api/photos/{r.json()['id']}", headers=api.auth("host"))
    assert removed.status_code == 204
    assert (await api.client.get(r.json()["urls"]["200"])).status_code == 404


async def test_not_an_image_wrong_type_and_too_large_are_refused(api: Api) -> None:
    """Text sent as a JPEG, a GIF, and a body over the limit are refused; nothing stored."""
    s = await live_session(api)
    url, coop = f"/api/lots/{s['lot_id']}/photos", api.auth("coop")
    r = await api.client.post(url, content=b"hello", headers={**coop, "Content-Type": "image/jpeg"})
    assert r.status_code == 422
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    r = await api.client.post(
        url, content=gif.getvalue(), headers={**coop, "Content-Type": "image/gif"}
    )
    assert r.status_code == 422
    r = await api.client.post(
        url, content=gif.getvalue(), headers={**coop, "Content-Type": "image/jpeg"}
    )
    assert r.status_code == 422  # a GIF under a JPEG label is still refused
    big = b"\xff\xd8" + b"0" * (api.app.state.settings.photo_max_bytes + 10)
    r = await api.client.post(url, content=big, headers={**coop, "Content-Type": "image/jpeg"})
    assert r.status_code == 413
    assert (await api.client.get(f"/api/lots/{s['lot_id']}")).json()["photos"] == []

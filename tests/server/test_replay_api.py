"""GET /api/sessions/{sid}/replay: the kept HLS recording and each pin as a timed moment."""

from __future__ import annotations

import asyncio
import fractions
import shutil
import subprocess
from pathlib import Path

import av
import pytest

from stream.bitstream import is_h264_keyframe
from stream.hls import HlsRecorder
from tests.conftest import Api
from tests.server.orders_helpers import ready_to_sell
from tests.server.test_catalogue_api import make_lot, make_session
from tests.stream.test_parameter_sets import h264_stream


@pytest.fixture
def settings(settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    settings.hls_dir = str(tmp_path / "hls")
    return settings


def count_frames(ffprobe: str, playlist: Path) -> str:
    return subprocess.run(
        [
            ffprobe,
            "-v",
            "error",
            "-count_frames",
            "-show_entries",
            "stream=codec_name,nb_read_frames",
            "-of",
            "csv=p=0",
            str(playlist),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout


def packet(data: bytes, index: int) -> av.Packet:
    result = av.Packet(data)
    result.pts = result.dts = index * 3000
    result.time_base = fractions.Fraction(1, 90000)
    result.is_keyframe = is_h264_keyframe(data)
    return result


async def test_replay_lists_the_recording_and_its_pins_as_moments(api: Api, settings) -> None:  # type: ignore[no-untyped-def]
    """After the end, the replay gives the playlist, its duration and each pin's time into it."""
    lot_id = await make_lot(api)
    sid = (await make_session(api))["id"]
    await ready_to_sell(api, sid, lot_id)
    offers = []
    for pack, price in [(2000, 110_000), (5000, 250_000)]:
        r = await api.client.post(
            f"/api/sessions/{sid}/offers",
            json={
                "lot_id": lot_id,
                "title": f"Thùng {pack // 1000} kg",
                "pack_grams": pack,
                "price": price,
            },
            headers=api.auth("host"),
        )
        assert r.status_code == 201, r.text
        offers.append(r.json())
    assert (
        await api.client.post(f"/api/sessions/{sid}/start", headers=api.auth("host"))
    ).status_code == 200

    # The relay's recorder, fed an H.264 stream as a publisher would.
    units = h264_stream(frames=90, gop=30)
    recorder = HlsRecorder(Path(settings.hls_dir) / str(sid), has_audio=False)
    for i, unit in enumerate(units[:30]):
        recorder.push("video", packet(unit, i))
    assert recorder.started_at is not None

    async def pin(offer_id: int) -> None:
        r = await api.client.post(
            f"/api/sessions/{sid}/pin", json={"offer_id": offer_id}, headers=api.auth("host")
        )
        assert r.status_code == 200, r.text

    await pin(offers[0]["id"])
    await asyncio.sleep(0.3)
    await pin(offers[1]["id"])
    await pin(offers[1]["id"])  # pinned again: no second moment
    early = await api.client.get(f"/api/sessions/{sid}/replay")
    assert early.status_code == 409 and early.json()["error"]["code"] == "not_ended"

    for i, unit in enumerate(units[30:], start=30):
        recorder.push("video", packet(unit, i))
    recorder.close()
    assert (
        await api.client.post(f"/api/sessions/{sid}/end", headers=api.auth("host"))
    ).status_code == 200

    r = await api.client.get(f"/api/sessions/{sid}/replay")
    assert r.status_code == 200, r.text
    replay = r.json()
    assert replay["playlist"] == f"/hls/{sid}/index.m3u8"
    assert replay["duration_s"] == pytest.approx(3.0, abs=0.2)
    moments = replay["moments"]
    assert [m["offer_id"] for m in moments] == [offers[0]["id"], offers[1]["id"]]
    assert [m["title"] for m in moments] == ["Thùng 2 kg", "Thùng 5 kg"]
    assert 0 <= moments[0]["t_s"] < moments[1]["t_s"] < 30
    playlist = await api.client.get(replay["playlist"])
    assert playlist.status_code == 200 and "#EXT-X-ENDLIST" in playlist.text
    ffprobe = shutil.which("ffprobe")
    if ffprobe is not None:  # the kept recording plays as H.264 from start to end
        frames = count_frames(ffprobe, Path(settings.hls_dir) / str(sid) / "index.m3u8")
        assert set(frames.split()) == {"h264,90"}


async def test_no_recording_is_404_no_replay(api: Api) -> None:
    """An ended session that never streamed H.264 has no replay."""
    sid = (await make_session(api))["id"]
    await api.client.post(f"/api/sessions/{sid}/start", headers=api.auth("host"))
    await api.client.post(f"/api/sessions/{sid}/end", headers=api.auth("host"))
    r = await api.client.get(f"/api/sessions/{sid}/replay")
    assert r.status_code == 404 and r.json()["error"]["code"] == "no_replay"

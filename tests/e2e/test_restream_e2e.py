"""Acceptance for restream: `farmlive serve` forwards a WHIP publisher to a real nginx-rtmp."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.procs import Server, farmlive_env
from tests.e2e.shop_client import token
from tests.rtmp_server import closed_port, ffprobe_path, rtmp_available, rtmp_server
from tests.services import services_required
from tests.stream.peers import SyntheticPublisher

KEY = "fb-9d2c71e0a4b84f55"


def need(problem: str | None) -> None:
    if problem is not None:
        if services_required():
            pytest.fail(problem, pytrace=False)
        pytest.skip(problem)


def probe(url: str) -> list[dict[str, object]]:
    command = ["ffprobe", "-v", "error", "-rw_timeout", "10000000"]
    command += ["-show_entries", "stream=codec_name,width,height", "-of", "json", url]
    result = subprocess.run(command, capture_output=True, text=True, timeout=20, check=False)
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout)["streams"])


async def states(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> list[str]:
    answer = await client.get(path, headers=headers)
    assert answer.status_code == 200, answer.text
    return [d["state"] for d in answer.json()]


async def until(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], wanted: list[str]
) -> list[dict]:
    deadline = time.monotonic() + 20
    while True:
        answer = (await client.get(path, headers=headers)).json()
        if [d["state"] for d in answer] == wanted:
            return list(answer)
        assert time.monotonic() < deadline, f"states stayed {answer}, wanted {wanted}"
        await asyncio.sleep(0.2)


def test_a_whip_publisher_is_restreamed_to_nginx_and_a_refused_destination_errors(
    tmp_path: Path,
) -> None:
    """H.264 + Opus over WHIP: ffprobe reads H.264 and AAC from nginx in 20 s; refused: error; stop: idle."""
    need(rtmp_available())
    need(None if ffprobe_path() else "ffprobe is missing (apt-get install ffmpeg)")
    with (
        rtmp_server(tmp_path / "nginx") as nginx,
        Server(tmp_path, farmlive_env(), ("--demo",)) as server,
    ):
        host = token(server.url, "host@farmlive.local")
        sid = httpx.get(f"{server.url}/api/sessions").json()[0]["id"]
        staff = httpx.get(f"{server.url}/api/sessions/{sid}/staff", headers=host).json()
        good = nginx.url(KEY)
        refused = f"rtmp://127.0.0.1:{closed_port()}/app/{KEY}"
        path = f"/api/sessions/{sid}/restream"

        async def scenario() -> None:
            async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
                body = [{"url": good, "enabled": True}, {"url": refused, "enabled": True}]
                put = await client.put(path, json=body, headers=host)
                assert put.status_code == 200, put.text
                publisher = await SyntheticPublisher.offer(video_codec="video/H264")
                started = time.monotonic()
                location = await publisher.publish(client, f"/whip/{sid}", staff["stream_key"])
                answer = await until(client, path, host, ["live", "error"])
                assert answer[1]["error"] == "connection refused"
                streams = await asyncio.to_thread(probe, good)
                assert time.monotonic() - started < 20
                video = [s for s in streams if s["codec_name"] == "h264"]
                assert video and (video[0]["width"], video[0]["height"]) == (640, 360)
                assert any(s["codec_name"] == "aac" for s in streams)
                assert (await states(client, path, host))[0] == "live"
                gone = await client.delete(
                    location, headers={"Authorization": f"Bearer {staff['stream_key']}"}
                )
                assert gone.status_code in (200, 204)
                await until(client, path, host, ["idle", "idle"])
                await publisher.close()

        asyncio.run(scenario())
        logged = server.output()
    assert "restream to rtmp://127.0.0.1" in logged  # the refusal was logged, masked
    assert KEY not in logged

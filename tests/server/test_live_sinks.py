"""The two sinks: the direct fast path under uvicorn, the queued path under any ASGI server."""

from __future__ import annotations

import asyncio
import warnings
from pathlib import Path
from typing import Any

import pytest
from starlette.websockets import WebSocketDisconnect
from websockets.frames import Frame, Opcode

from server.live.sinks import DirectSink, QueuedSink, text_frame
from tests.server.live_helpers import add_staff

with warnings.catch_warnings():  # Starlette now prefers httpx2 for its TestClient
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


def test_text_frame_is_one_unmasked_frame() -> None:
    """The pre-built frame parses back to the same text, unmasked, final."""
    payload = '{"type":"chat","text":"Vải thiều <b>"}'
    frame = text_frame(payload)
    assert frame[0] == 0x81 and not frame[1] & 0x80  # FIN + text; no mask bit
    data = frame[2:]
    assert data.decode() == payload
    long = text_frame("x" * 70_000)
    parsed = Frame(Opcode.TEXT, b"x" * 70_000).serialize(mask=False)
    assert long == parsed


def test_direct_sink_needs_uvicorns_protocol() -> None:
    """Any other server's send (a plain function, a foreign bound method) gets no direct sink."""

    async def send(message: Any) -> None: ...

    class Other:
        async def send(self, message: Any) -> None: ...

    assert DirectSink.attach(send, max_buffer=1024, max_frame_bytes=4096) is None
    assert DirectSink.attach(Other().send, max_buffer=1024, max_frame_bytes=4096) is None
    assert DirectSink.attach(None, max_buffer=1024, max_frame_bytes=4096) is None


class StuckSocket:
    """A websocket whose client never reads: every send blocks."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.closed_with: tuple[int, str] | None = None
        self.release = asyncio.Event()

    async def send_text(self, text: str) -> None:
        self.sent.append(text)
        await self.release.wait()

    async def close(self, code: int, reason: str) -> None:
        self.closed_with = (code, reason)

    async def receive(self) -> dict[str, Any]:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def test_queued_sink_is_bounded_and_closes_without_waiting() -> None:
    """A full queue refuses (the fan-out then drops the client); close() never blocks."""
    ws = StuckSocket()
    sink = QueuedSink(ws, max_messages=3)  # type: ignore[arg-type]
    assert [sink.send(b"", str(i)) for i in range(4)] == [True, True, True, False]
    await asyncio.sleep(0.01)  # the writer takes one and blocks on the client
    assert sink.send(b"", "3") and not sink.send(b"", "4")
    sink.close(4000, "too slow")
    assert sink.closed and sink.send(b"", "late")  # ignored once closing
    message = await asyncio.wait_for(sink.receive(ws), 1)  # type: ignore[arg-type]
    assert message["type"] == "websocket.disconnect"
    ws.release.set()
    await asyncio.sleep(0.01)
    assert ws.closed_with == (4000, "too slow") and ws.sent == ["0"]
    await sink.aclose()


def test_queued_sink_serves_the_room_under_another_asgi_server(tmp_path: Path) -> None:
    """Under Starlette's TestClient (not uvicorn) the room works through QueuedSink."""
    from server.app import create_app
    from server.settings import Settings

    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/q.db",
        secret_key="test-secret-key-which-is-long-enough",
        _env_file=None,  # type: ignore[call-arg]
    )
    app = create_app(settings)
    with TestClient(app) as client:
        assert client.portal is not None
        tokens = client.portal.call(add_staff, app)
        coop, host = ({"Authorization": f"Bearer {tokens[r]}"} for r in ("coop", "host"))
        coop_id = client.get("/api/cooperatives").json()[0]["id"]
        lot = client.post(
            "/api/lots",
            json={"cooperative_id": coop_id, "product": "Vải", "stock_grams": 10**6},
            headers=coop,
        ).json()
        sid = client.post("/api/sessions", json={"title": "Phiên"}, headers=host).json()["id"]
        client.post(f"/api/sessions/{sid}/lots", json={"lot_id": lot["id"]}, headers=coop)
        client.put(
            f"/api/sessions/{sid}/streamer",
            json={"full_name": "Nguyễn Văn A", "id_number": "001099012345"},
            headers=host,
        ).raise_for_status()
        offer = client.post(
            f"/api/sessions/{sid}/offers",
            json={"lot_id": lot["id"], "title": "Thùng 5 kg", "pack_grams": 5000, "price": 250_000},
            headers=host,
        ).json()
        client.post(f"/api/sessions/{sid}/start", headers=host).raise_for_status()
        with client.websocket_connect(f"/ws/sessions/{sid}") as ws:
            snapshot = ws.receive_json()
            assert snapshot["type"] == "snapshot" and snapshot["lots"][0]["lot_id"] == lot["id"]
            ws.send_json({"type": "hello", "name": "Chị Hoa"})
            assert ws.receive_json()["type"] == "hello"
            ws.send_json({"type": "chat", "text": "lấy 2 thùng 5kg"})
            got = [ws.receive_json() for _ in range(2)]
            assert {e["type"] for e in got} == {"chat", "order.draft"}
            draft = next(e for e in got if e["type"] == "order.draft")
            assert (draft["offer_id"], draft["quantity"]) == (offer["id"], 2)
            [room] = app.state.services.live.fanout.rooms.values()
            assert [type(v.sink) for v in room.viewers] == [QueuedSink]
            ws.send_text("x" * 5000)
            assert ws.receive_json()["code"] == "too_large"
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
            assert closed.value.code == 1009

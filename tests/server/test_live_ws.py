"""The live WebSocket in-process: a real uvicorn server on loopback, `websockets` clients."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
import unicodedata
from pathlib import Path

import pytest
from sqlalchemy import select
from websockets.exceptions import InvalidStatus

from server.live.fanout import SLOW_REASON
from server.live.sinks import DirectSink
from shop.adapters.sql.tables import audit_log
from shop.live.records import ChatLine
from tests.server.live_helpers import LiveServer, Peer, live_server, wait_for
from tests.server.orders_helpers import key, live_session, order_body

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
async def srv(tmp_path: Path):  # type: ignore[no-untyped-def]
    """The app on uvicorn with a banned word and the default limits."""
    async with live_server(tmp_path, banned_words="lừa đảo") as server:
        yield server


async def viewer(srv: LiveServer, sid: int, name: str | None = None, **params: str) -> Peer:
    peer = await Peer.open(srv.ws_url(sid, **params))
    await peer.expect("snapshot")
    if name:
        await peer.hello(name)
    return peer


async def test_snapshot_on_connect(srv: LiveServer) -> None:
    """The first message has the session, lots with sold/held/available and seq, last 50 chat."""
    s = await live_session(srv.api)
    hub = srv.services.live.hub
    for i in range(55):
        await hub.add_chat(s["sid"], ChatLine("", "Khách", f"dòng {i}", 1, "c" * 20, "1.1.1.1"))
    await srv.api.client.post(
        f"/api/sessions/{s['sid']}/orders", json=order_body(s["offers"]["VL5"], 3), headers=key()
    )
    peer = await Peer.open(srv.ws_url(s["sid"]))
    snap = await peer.next()
    assert snap["type"] == "snapshot"
    assert snap["session"]["id"] == s["sid"] and snap["session"]["status"] == "live"
    assert len(snap["session"]["offers"]) == 3
    [lot] = snap["lots"]
    assert (lot["lot_id"], lot["stock_grams"]) == (s["lot_id"], 5_000_000)
    assert lot["sold_grams"] + lot["held_grams"] == 15_000
    assert lot["available_grams"] == 5_000_000 - 15_000 and lot["seq"] > 0
    assert [c["text"] for c in snap["chat"]] == [f"dòng {i}" for i in range(5, 55)]
    assert all("client_id" not in c and "ip" not in c for c in snap["chat"])
    assert len(snap["client_id"]) >= 16 and snap["viewers"] >= 1
    [room] = srv.services.live.fanout.rooms.values()
    assert all(isinstance(v.sink, DirectSink) for v in room.viewers)  # the fast path
    await peer.close()


async def test_chat_reaches_everyone_clean_masked_and_unescaped(srv: LiveServer) -> None:
    """A line is NFC, phone-masked for all, and markup arrives as the same plain string."""
    s = await live_session(srv.api)
    author, other = await viewer(srv, s["sid"], "Chị Hoa"), await viewer(srv, s["sid"])
    text = unicodedata.normalize("NFD", f"Vải ngon quá {XSS} gọi 0912 345 678")
    await author.send(type="chat", text=text)
    got = await other.expect("chat")
    assert got["text"] == f"Vải ngon quá {XSS} gọi 0912•••678"
    assert got["name"] == "Chị Hoa" and got["id"] and isinstance(got["ts"], int)
    assert set(got) == {"type", "id", "name", "text", "ts"}
    assert (await author.expect("chat"))["id"] == got["id"]
    await author.close()
    await other.close()


async def test_bad_messages_get_errors_not_crashes(srv: LiveServer) -> None:
    """Chat before hello, too long, banned word, bad JSON or type: an `error`, socket stays."""
    s = await live_session(srv.api)
    peer = await viewer(srv, s["sid"])
    await peer.send(type="chat", text="hi")
    assert (await peer.expect("error"))["code"] == "hello_first"
    await peer.hello("Anh Ba")
    for message, code in [
        ({"type": "chat", "text": "x" * 301}, "invalid_input"),
        ({"type": "chat", "text": "bọn LUA DAO"}, "banned_word"),
        ({"type": "chat", "text": 5}, "invalid_input"),
        ({"type": "dance"}, "invalid_message"),
        ([1, 2], "invalid_message"),
    ]:
        await peer.ws.send(json.dumps(message))
        assert (await peer.expect("error"))["code"] == code
    await peer.ws.send("{not json")
    assert (await peer.expect("error"))["code"] == "invalid_message"
    with pytest.raises(InvalidStatus):  # a non-integer session id never upgrades
        await Peer.open(f"ws://127.0.0.1:{srv.port}/ws/sessions/abc")
    await peer.send(type="chat", text="vẫn ở đây")
    assert (await peer.expect("chat"))["text"] == "vẫn ở đây"
    await peer.close()


async def test_unknown_session_closes_4004(srv: LiveServer) -> None:
    """A session that does not exist is closed with 4004 and a reason."""
    peer = await Peer.open(srv.ws_url(999))
    assert await peer.closed_with() == (4004, "no such live session")


async def test_rate_limit_never_drops_an_order(srv: LiveServer) -> None:
    """Past the chat burst ordinary lines are refused, but order lines still go through."""
    s = await live_session(srv.api)
    peer = await viewer(srv, s["sid"], "Anh Tư")
    for i in range(7):
        await peer.send(type="chat", text=f"chào {i}")
    refused = await peer.expect("error")
    assert refused["code"] == "rate_limited" and refused["retry_after"] > 0
    for text in ("chốt 2 thùng 5kg", "VL10 x1", "lấy 1 thùng 2kg"):
        await peer.send(type="chat", text=text)
        assert (await peer.expect("chat", lambda e, t=text: e["text"] == t))["name"] == "Anh Tư"
        assert (await peer.expect("order.draft"))["quantity"] >= 1
    await peer.close()


async def test_comment_to_order_draft_intent_and_placed_order_match(srv: LiveServer) -> None:
    """ "chốt 2 thùng 5kg": chat for all, a private draft, an intent for staff; the order matches."""
    s = await live_session(srv.api)
    staff = await viewer(srv, s["sid"])
    await staff.send(type="auth", token=srv.api.tokens["moderator"])
    await staff.expect("hello")
    buyer, other = await viewer(srv, s["sid"], "Chị Hoa"), await viewer(srv, s["sid"], "Anh Ba")
    await buyer.send(type="chat", text="chốt 2 thùng 5kg nha shop, sđt 0912345678")
    line = await other.expect("chat")
    draft = await buyer.expect("order.draft")
    assert draft == {
        "type": "order.draft",
        "offer_id": s["offers"]["VL5"],
        "quantity": 2,
        "grams": 10_000,
        "total": 500_000,
        "message_id": line["id"],
    }
    intent = await staff.expect("intent")
    assert (intent["offer_id"], intent["quantity"], intent["message_id"]) == (
        s["offers"]["VL5"],
        2,
        line["id"],
    )
    assert "0912345678" in intent["text"] and "0912•••678" in line["text"]
    listed = await srv.api.client.get(
        f"/api/sessions/{s['sid']}/intents", headers=srv.api.auth("host")
    )
    assert listed.status_code == 200 and [i["id"] for i in listed.json()] == [intent["id"]]
    assert (await srv.api.client.get(f"/api/sessions/{s['sid']}/intents")).status_code == 401
    denied = await srv.api.client.get(
        f"/api/sessions/{s['sid']}/intents", headers=srv.api.auth("coop")
    )
    assert denied.status_code == 403
    placed = await srv.api.client.post(
        f"/api/sessions/{s['sid']}/orders",
        json=order_body(draft["offer_id"], draft["quantity"]),
        headers=key(),
    )
    assert placed.status_code == 201
    assert (placed.json()["grams"], placed.json()["total"]) == (draft["grams"], draft["total"])
    await other.send(type="chat", text="ngon không shop?")
    await other.expect("chat", lambda e: e["text"] == "ngon không shop?")
    assert not other.of("order.draft") and not other.of("intent") and not buyer.of("intent")
    for peer in (staff, buyer, other):
        await peer.close()


async def test_stock_is_coalesced_monotonic_and_ends_at_the_stats(srv: LiveServer) -> None:
    """40 orders at once: a handful of `stock` events, seq rising, the last equal to the stats."""
    srv.api.app.state.settings.rate_limits = False  # 40 buyers, but one test client address
    s = await live_session(srv.api)
    peer = await viewer(srv, s["sid"])
    started = time.monotonic()

    async def buy(i: int) -> None:
        r = await srv.api.client.post(
            f"/api/sessions/{s['sid']}/orders",
            json=order_body(s["offers"]["VL2"], 1 + i % 3, phone=f"09123{i:05d}"),
            headers=key(),
        )
        assert r.status_code == 201, r.text

    await asyncio.gather(*(buy(i) for i in range(40)))
    stats = (await srv.api.client.get(f"/api/sessions/{s['sid']}/stats")).json()
    [lot] = stats["lots"]
    final = await peer.expect("stock", lambda e: e["sold_grams"] == lot["sold_grams"], timeout=5)
    elapsed = time.monotonic() - started
    assert (final["held_grams"], final["available_grams"]) == (
        lot["held_grams"],
        lot["available_grams"],
    )
    assert lot["sold_grams"] == sum(2_000 * (1 + i % 3) for i in range(40))
    stock = peer.of("stock")
    assert len(stock) <= 5 * elapsed + 2
    assert [e["seq"] for e in stock] == sorted({e["seq"] for e in stock})
    tickers = peer.of("order") or [await peer.expect("order")]
    assert tickers[0]["text"].startswith("Chị H. · Bắc Ninh vừa mua")
    await peer.close()


async def test_pin_and_status_reach_viewers_and_later_snapshots(srv: LiveServer) -> None:
    """Pinning, the relay pausing the stream and ending the session are pushed and remembered."""
    s = await live_session(srv.api)
    peer = await viewer(srv, s["sid"])
    r = await srv.api.client.post(
        f"/api/sessions/{s['sid']}/pin",
        json={"offer_id": s["offers"]["VL10"]},
        headers=srv.api.auth("host"),
    )
    assert r.status_code == 200
    assert (await peer.expect("pin"))["offer_id"] == s["offers"]["VL10"]
    await srv.services.live.set_stream_status(s["sid"], "paused")
    assert await peer.expect("status", lambda e: e["status"] == "paused")
    late = await Peer.open(srv.ws_url(s["sid"]))
    snap = await late.expect("snapshot")
    assert snap["stream_status"] == "paused"
    assert snap["session"]["pinned_offer_id"] == s["offers"]["VL10"]
    await srv.api.client.post(f"/api/sessions/{s['sid']}/end", headers=srv.api.auth("host"))
    for p in (peer, late):
        assert await p.expect("status", lambda e: e["status"] == "ended")
        await p.close()


async def test_a_price_change_reaches_viewers_and_later_snapshots(srv: LiveServer) -> None:
    """A new price is pushed as a `price` event once (none for the same price again), and a
    viewer joining later reads it in the snapshot."""
    s = await live_session(srv.api)
    sid, offer_id = s["sid"], s["offers"]["VL5"]
    peer = await viewer(srv, sid)
    url = f"/api/sessions/{sid}/offers/{offer_id}"
    for price in (199_000, 199_000):
        r = await srv.api.client.patch(url, json={"price": price}, headers=srv.api.auth("host"))
        assert r.status_code == 200, r.text
    event = await peer.expect("price")
    assert (event["offer_id"], event["price"]) == (offer_id, 199_000)
    await srv.api.client.post(
        f"/api/sessions/{sid}/pin", json={"offer_id": offer_id}, headers=srv.api.auth("host")
    )
    await peer.expect("pin")  # later than any second price event would have been
    assert len(peer.of("price")) == 1
    late = await viewer(srv, sid)
    snap = late.of("snapshot")[0]
    offer = next(o for o in snap["session"]["offers"] if o["id"] == offer_id)
    assert offer["price"] == 199_000
    for p in (peer, late):
        await p.close()


async def test_moderation_delete_mute_ban_and_audit(srv: LiveServer) -> None:
    """Delete reaches everyone; mute silences; ban closes with 4003 and sticks; all audited."""
    s = await live_session(srv.api)
    sid, mod = s["sid"], srv.api.auth("moderator")
    troll, other = await viewer(srv, sid, "Kẻ phá"), await viewer(srv, sid, "Chị Hoa")
    await troll.send(type="chat", text="spam spam")
    line = await other.expect("chat")
    url = f"/api/sessions/{sid}"
    assert (await srv.api.client.post(f"{url}/chat/{line['id']}/delete")).status_code == 401
    r = await srv.api.client.post(f"{url}/chat/{line['id']}/delete", headers=mod)
    assert r.status_code == 200 and r.json() == {"id": line["id"], "deleted": True}
    assert (await other.expect("chat.deleted"))["id"] == line["id"]
    assert (await troll.expect("chat.deleted"))["id"] == line["id"]
    again = await srv.api.client.post(f"{url}/chat/{line['id']}/delete", headers=mod)
    assert again.status_code == 404
    fresh = await Peer.open(srv.ws_url(sid))
    assert line["id"] not in [c["id"] for c in (await fresh.next())["chat"]]

    await troll.send(type="chat", text="lại spam")
    second = await other.expect("chat", lambda e: e["text"] == "lại spam")
    r = await srv.api.client.post(
        f"{url}/mute", json={"message_id": second["id"], "minutes": 5}, headers=mod
    )
    assert r.status_code == 200 and r.json()["kind"] == "mute" and r.json()["name"] == "Kẻ phá"
    await troll.send(type="chat", text="còn nói được không")
    assert (await troll.expect("error"))["code"] == "muted"

    denied = await srv.api.client.post(
        f"{url}/ban", json={"name": "Kẻ phá"}, headers=srv.api.auth("host2")
    )
    assert denied.status_code == 403
    r = await srv.api.client.post(f"{url}/ban", json={"name": "Kẻ phá", "minutes": 60}, headers=mod)
    assert r.status_code == 200 and r.json()["client_id"]
    assert await troll.closed_with() == (4003, "banned from this live session")
    back = await Peer.open(srv.ws_url(sid))
    await back.expect("snapshot")
    await back.send(type="hello", name="Tên mới", client_id=r.json()["client_id"])
    assert await back.closed_with() == (4003, "banned from this live session")
    bad = await srv.api.client.post(
        f"{url}/mute", json={"name": "x", "client_id": "y"}, headers=mod
    )
    assert bad.status_code == 422

    async with srv.services.engine.connect() as conn:
        rows = (await conn.execute(select(audit_log.c.action, audit_log.c.actor_id))).all()
    assert [a for a, _ in rows if a.startswith("chat.")] == ["chat.delete", "chat.mute", "chat.ban"]
    await other.close()
    await fresh.close()


async def test_staff_sign_in_on_the_socket(srv: LiveServer) -> None:
    """A first {"type": "auth"} message signs staff in; a bad token closes with 4001."""
    s = await live_session(srv.api)
    host = await viewer(srv, s["sid"])
    await host.send(type="auth", token=srv.api.tokens["host"])
    hello = await host.expect("hello")
    assert hello["role"] == "host"
    await host.send(type="chat", text="Chào cả nhà, vải về rồi!")
    assert (await host.expect("chat"))["role"] == "host"
    other_host = await viewer(srv, s["sid"])
    await other_host.send(type="auth", token=srv.api.tokens["host2"])
    assert await other_host.closed_with() == (4003, "you do not moderate this live session")
    assert other_host.of("error")[0]["code"] == "forbidden"
    forged = await viewer(srv, s["sid"])
    await forged.send(type="auth", token="not-a-token")
    assert await forged.closed_with() == (4001, "the token is invalid or expired")
    await host.close()


async def test_origin_is_checked_at_the_handshake(tmp_path: Path) -> None:
    """Same host or a listed origin may connect, as may non-browsers; others get 403."""
    async with live_server(tmp_path, allowed_origins="https://farmlive.vn") as srv:
        s = await live_session(srv.api)
        url = srv.ws_url(s["sid"])
        for origin in (f"http://127.0.0.1:{srv.port}", "https://farmlive.vn", None):
            peer = await Peer.open(url, origin=origin)
            assert (await peer.next())["type"] == "snapshot"
            await peer.close()
        for origin in ("https://evil.example", f"http://127.0.0.1:{srv.port + 1}", "null"):
            with pytest.raises(InvalidStatus) as refused:
                await Peer.open(url, origin=origin)
            assert refused.value.response.status_code == 403


async def test_oversized_frames_close_the_socket(srv: LiveServer) -> None:
    """A client frame over the limit (4 KiB) closes with 1009."""
    s = await live_session(srv.api)
    peer = await viewer(srv, s["sid"], "Anh Ba")
    await peer.send(type="chat", text="a" * 5000)
    assert (await peer.closed_with())[0] == 1009


async def test_flooder_is_cut_off_without_slowing_others(srv: LiveServer) -> None:
    """1,000 messages at once close the flooder (4029); another viewer's chat stays prompt."""
    s = await live_session(srv.api)
    flooder, calm = await viewer(srv, s["sid"], "Spam"), await viewer(srv, s["sid"], "Chị Hoa")
    frames = [json.dumps({"type": "chat", "text": f"spam {i}"}) for i in range(1000)]

    async def flood() -> None:
        try:
            for frame in frames:
                await flooder.ws.send(frame)
        except Exception:
            pass  # cut off mid-flood

    started = time.monotonic()
    flooding = asyncio.create_task(flood())
    await calm.send(type="chat", text="mua 1 thùng 5kg")
    mine = await calm.expect("chat", lambda e: e["name"] == "Chị Hoa", timeout=2)
    assert time.monotonic() - started < 1.5 and mine["text"] == "mua 1 thùng 5kg"
    assert await flooder.closed_with() == (4029, "too many messages")
    await flooding
    spam = [e for e in calm.seen if e.get("type") == "chat" and e["name"] == "Spam"]
    assert len(spam) <= 5  # its chat burst, no more
    await calm.close()


async def test_a_client_that_stops_reading_is_dropped(tmp_path: Path) -> None:
    """A reader that stalls is closed with 4000 once its buffer passes the bound; others get all."""
    async with live_server(tmp_path, live_send_buffer_bytes=32 * 1024) as srv:
        s = await live_session(srv.api)
        reader = await Peer.open(srv.ws_url(s["sid"]), max_queue=None)  # reads everything
        await reader.expect("snapshot")
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", srv.port))
        sock.setblocking(False)
        staller = await Peer.open(srv.ws_url(s["sid"]), sock=sock, max_queue=1)
        await staller.expect("snapshot")
        live, fanout = srv.services.live, srv.services.live.fanout
        filler = "x" * 1000
        for i in range(400):
            await live.service.publish(s["sid"], {"type": "chat", "id": str(i), "text": filler})
            if i % 20 == 0:
                await asyncio.sleep(0.01)
        await wait_for(lambda: fanout.dropped == 1, what="the staller dropped")
        assert await staller.closed_with(timeout=4) == (4000, SLOW_REASON)
        for i in range(400):
            await reader.expect("chat", lambda e, i=i: e["id"] == str(i))
        assert len(fanout.rooms[s["sid"]].viewers) == 1
        await reader.close()


async def test_viewer_count_is_broadcast(srv: LiveServer) -> None:
    """Three viewers connected: everyone gets `viewers` with count 3 within a couple of seconds."""
    s = await live_session(srv.api)
    peers = [await viewer(srv, s["sid"]) for _ in range(3)]
    for peer in peers:
        await peer.expect("viewers", lambda e: e["count"] == 3, timeout=3)
    await peers[0].close()
    await peers[1].expect("viewers", lambda e: e["count"] == 2, timeout=3)
    for peer in peers[1:]:
        await peer.close()


async def test_a_token_in_the_url_is_refused_and_never_logged(
    srv: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Finding 8: `?token=` signs nobody in, and no log line (uvicorn's included) carries it."""
    from server.request_log import JsonFormatter

    s = await live_session(srv.api)
    token = srv.api.tokens["host"]
    caplog.set_level(logging.INFO, logger="uvicorn.error")
    with caplog.at_level(logging.INFO):
        peer = await viewer(srv, s["sid"], token=token)
        assert (await peer.expect("error"))["code"] == "token_in_url"
        hello = await peer.hello("Khách")
        assert hello.get("role") is None
        await peer.close()
        await wait_for(lambda: any("WebSocket" in r.getMessage() for r in caplog.records))
    raw = [r.getMessage() for r in caplog.records]
    assert any(token in line for line in raw), "uvicorn did write the URL: the case is real"
    formatter = JsonFormatter()
    lines = [formatter.format(r) for r in caplog.records]
    assert not [line for line in lines if token in line]
    assert any("token=[redacted]" in line for line in lines)


def device_cookie(peer: Peer) -> str:
    """The `fl_device=...` pair the server handed this socket at the handshake."""
    assert peer.ws.response is not None
    return peer.ws.response.headers["Set-Cookie"].split(";", 1)[0]


async def test_a_fresh_client_id_on_the_same_socket_stays_muted(srv: LiveServer) -> None:
    """Finding 6: after a mute, a new `hello` with a new client id cannot chat again."""
    s = await live_session(srv.api)
    sid, mod = s["sid"], srv.api.auth("moderator")
    troll, other = await viewer(srv, sid, "Kẻ phá"), await viewer(srv, sid, "Chị Hoa")
    await troll.send(type="chat", text="spam")
    line = await other.expect("chat")
    r = await srv.api.client.post(
        f"/api/sessions/{sid}/mute", json={"message_id": line["id"], "minutes": 5}, headers=mod
    )
    assert r.status_code == 200
    await troll.hello("Tên khác", client_id="Z" * 22)
    await troll.send(type="chat", text="vẫn nói được?")
    assert (await troll.expect("error"))["code"] == "muted"
    await other.close()
    await troll.close()


async def test_a_banned_viewer_stays_banned_on_the_socket_and_after_reconnecting(
    srv: LiveServer,
) -> None:
    """Finding 6: a fresh id on the socket is still banned, and so is the browser coming back."""
    s = await live_session(srv.api)
    sid, mod = s["sid"], srv.api.auth("moderator")
    troll, other = await viewer(srv, sid, "Kẻ phá"), await viewer(srv, sid, "Chị Hoa")
    cookie = device_cookie(troll)
    await troll.send(type="chat", text="spam")
    await other.expect("chat")
    await troll.hello("Người mới", client_id="Q" * 22)
    r = await srv.api.client.post(
        f"/api/sessions/{sid}/ban", json={"name": "Kẻ phá", "minutes": 60}, headers=mod
    )
    assert r.status_code == 200 and not r.json()["ip_banned"]
    assert await troll.closed_with() == (4003, "banned from this live session")
    back = await Peer.open(srv.ws_url(sid), additional_headers={"Cookie": cookie})
    await back.expect("snapshot")
    assert "Set-Cookie" not in back.ws.response.headers  # type: ignore[union-attr]
    await back.send(type="hello", name="Hoàn toàn mới", client_id="N" * 22)
    assert await back.closed_with() == (4003, "banned from this live session")
    forged = cookie.split(".")[0] + "." + "0" * 32
    stranger = await Peer.open(srv.ws_url(sid), additional_headers={"Cookie": forged})
    await stranger.expect("snapshot")
    assert device_cookie(stranger) != cookie  # a forged cookie is replaced, not believed
    assert (await stranger.hello("Khách lạ"))["name"] == "Khách lạ"
    await stranger.close()
    await other.close()

"""The LiveHub contract: the same assertions hold for MemoryHub and RedisHub.

The `hubs` fixture gives two hubs standing for two instances: two RedisHubs on one Redis
(under a fresh key prefix), or two MemoryHubs sharing one in-process state.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from redis.asyncio import Redis

from shop.adapters.memory_hub import MemoryHub, MemoryHubState
from shop.adapters.redis_hub import RedisHub
from shop.live.hub import CHAT_HISTORY, Audience, HubUnavailable, LiveHub, seq_floor
from shop.live.records import ChatLine, Intent
from tests.services import redis_url
from tests.shop.conftest import delete_prefix

SID = 41


@dataclass
class Inbox:
    """What one instance's deliver callback received."""

    got: list[tuple[int, Audience, str]] = field(default_factory=list)

    def __call__(self, session_id: int, audience: Audience, payload: str) -> None:
        self.got.append((session_id, audience, payload))

    async def wait(self, count: int, timeout: float = 3.0) -> list[tuple[int, Audience, str]]:
        deadline = time.monotonic() + timeout
        while len(self.got) < count:
            assert time.monotonic() < deadline, f"only {len(self.got)} of {count} delivered"
            await asyncio.sleep(0.005)
        return self.got


@dataclass
class Pair:
    a: LiveHub
    b: LiveHub
    inbox_a: Inbox
    inbox_b: Inbox


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def hubs(request: pytest.FixtureRequest) -> AsyncIterator[Pair]:
    """Two started hubs sharing their store, each with its own inbox."""
    inbox_a, inbox_b = Inbox(), Inbox()
    if request.param == "memory":
        state = MemoryHubState()
        a, b = MemoryHub(state, instance_id="a"), MemoryHub(state, instance_id="b")
        await a.start(inbox_a)
        await b.start(inbox_b)
        yield Pair(a, b, inbox_a, inbox_b)
        await a.stop()
        await b.stop()
        return
    url = redis_url()
    prefix = f"test-{uuid.uuid4().hex}"
    clients = [Redis.from_url(url), Redis.from_url(url)]
    ra = RedisHub(clients[0], key_prefix=prefix, instance_id="a")
    rb = RedisHub(clients[1], key_prefix=prefix, instance_id="b")
    try:
        await ra.start(inbox_a)
        await rb.start(inbox_b)
        yield Pair(ra, rb, inbox_a, inbox_b)
    finally:
        await ra.stop()
        await rb.stop()
        for client in clients:
            await client.aclose()
        await delete_prefix(url, prefix)


def line(text: str, client_id: str = "client-aaaaaaaaaaaa", name: str = "Chị Hoa") -> ChatLine:
    return ChatLine(
        id="", name=name, text=text, ts=1_700_000_000_000, client_id=client_id, ip="10.0.0.9"
    )


# --- pub/sub -----------------------------------------------------------------------------


async def test_publish_reaches_every_instance_including_the_publisher(hubs: Pair) -> None:
    """A payload published on one instance is delivered once to each instance, unchanged."""
    payload = '{"type":"chat","text":"<img src=x onerror=alert(1)> vải thiều"}'
    await hubs.a.publish(SID, Audience.ALL, payload)
    assert await hubs.inbox_b.wait(1) == [(SID, Audience.ALL, payload)]
    assert await hubs.inbox_a.wait(1) == [(SID, Audience.ALL, payload)]


async def test_audience_and_session_travel_with_the_payload(hubs: Pair) -> None:
    """Staff and control payloads arrive marked as such, for the session they were sent to."""
    await hubs.b.publish(SID, Audience.STAFF, '{"type":"intent"}')
    await hubs.b.publish(SID + 1, Audience.CONTROL, '{"type":"kick"}')
    got = await hubs.inbox_a.wait(2)
    assert sorted(got) == sorted(
        [(SID, Audience.STAFF, '{"type":"intent"}'), (SID + 1, Audience.CONTROL, '{"type":"kick"}')]
    )


async def test_one_publisher_keeps_its_order(hubs: Pair) -> None:
    """Payloads published one after another by one instance arrive in that order."""
    for i in range(50):
        await hubs.a.publish(SID, Audience.ALL, str(i))
    got = await hubs.inbox_b.wait(50)
    assert [p for _, _, p in got] == [str(i) for i in range(50)]


async def test_stopped_hub_receives_nothing(hubs: Pair) -> None:
    """After stop() an instance gets no more deliveries; stop() twice is harmless."""
    await hubs.b.stop()
    await hubs.b.stop()
    await hubs.a.publish(SID, Audience.ALL, "after")
    await hubs.inbox_a.wait(1)
    assert hubs.inbox_b.got == []


# --- chat history ------------------------------------------------------------------------


async def test_chat_history_replays_the_last_fifty_oldest_first(hubs: Pair) -> None:
    """60 lines stored from both instances: the last 50 come back in order, with ids."""
    stored = []
    for i in range(60):
        hub = hubs.a if i % 2 else hubs.b
        stored.append(await hub.add_chat(SID, line(f"dòng {i}")))
    assert len({s.id for s in stored}) == 60 and all(s.id for s in stored)
    recent = await hubs.a.recent_chat(SID)
    assert len(recent) == CHAT_HISTORY
    assert [x.text for x in recent] == [f"dòng {i}" for i in range(10, 60)]
    assert recent[-1] == stored[-1]
    assert await hubs.b.recent_chat(SID + 1) == []


async def test_chat_lines_keep_their_private_fields(hubs: Pair) -> None:
    """The author's client id, IP and role come back for moderation lookups."""
    staff = ChatLine(id="", name="Host", text="chào cả nhà", ts=5, client_id="c" * 20, role="host")
    stored = await hubs.a.add_chat(SID, staff)
    found = await hubs.b.find_chat(SID, stored.id)
    assert found == stored and found.role == "host" and found.ts == 5
    viewer = await hubs.a.add_chat(SID, line("hi"))
    assert (await hubs.b.find_chat(SID, viewer.id)) == viewer
    assert viewer.ip == "10.0.0.9" and viewer.role is None


async def test_deleted_lines_are_not_replayed(hubs: Pair) -> None:
    """delete_chat removes a line everywhere; deleting it again or an unknown id is False."""
    first = await hubs.a.add_chat(SID, line("giữ"))
    gone = await hubs.a.add_chat(SID, line("xoá"))
    assert await hubs.b.delete_chat(SID, gone.id)
    assert [x.id for x in await hubs.a.recent_chat(SID)] == [first.id]
    assert not await hubs.a.delete_chat(SID, gone.id)
    assert not await hubs.a.delete_chat(SID, "not-an-id")
    assert await hubs.a.find_chat(SID, gone.id) is None
    assert await hubs.a.find_chat(SID, "999-0") is None


async def test_history_is_capped(hubs: Pair) -> None:
    """Thousands of lines do not grow the history without bound."""
    for i in range(600):
        await hubs.a.add_chat(SID, line(str(i)))
    kept = await hubs.a.recent_chat(SID, 10_000)
    assert 50 <= len(kept) < 600
    assert kept[-1].text == "599"


# --- intents -----------------------------------------------------------------------------


async def test_intents_queue_for_staff(hubs: Pair) -> None:
    """Intents added on either instance are listed oldest first with their ids."""
    for quantity in (1, 2, 3):
        intent = Intent(
            id="",
            message_id="1-1",
            name="Anh Ba",
            client_id="c" * 20,
            text=f"chốt {quantity} thùng",
            offer_id=7,
            quantity=quantity,
            grams=quantity * 5000,
            total=quantity * 250_000,
            ts=9,
        )
        stored = await (hubs.a if quantity % 2 else hubs.b).add_intent(SID, intent)
        assert stored.id and stored.quantity == quantity
    listed = await hubs.b.recent_intents(SID)
    assert [i.quantity for i in listed] == [1, 2, 3]
    assert listed[0].text == "chốt 1 thùng" and listed[2].total == 750_000
    assert await hubs.a.recent_intents(SID, 2) == listed[1:]


# --- seq and slots -----------------------------------------------------------------------


async def test_seq_only_grows_across_instances(hubs: Pair) -> None:
    """next_seq hands out increasing numbers on both instances, starting above seq_floor."""
    floor = seq_floor()
    start = await hubs.a.current_seq(SID)
    assert start >= floor - 5_000_000  # unix ms x 1000, give or take a few seconds
    values = []
    for i in range(20):
        values.append(await (hubs.a if i % 2 else hubs.b).next_seq(SID))
    assert values == sorted(values) and len(set(values)) == 20 and values[0] > start
    last = await hubs.b.next_seq(SID, 5)
    assert last == values[-1] + 5 and await hubs.a.current_seq(SID) == last
    assert await hubs.a.current_seq(SID + 1) >= floor - 5_000_000


async def test_slot_is_exclusive_across_instances(hubs: Pair) -> None:
    """Only one instance holds a session's slot at a time; the other learns when it frees."""
    assert await hubs.a.claim_slot(SID, "stock", 0.3) == 0.0
    wait = await hubs.b.claim_slot(SID, "stock", 0.3)
    assert 0 < wait <= 0.3
    assert await hubs.b.claim_slot(SID + 1, "stock", 0.3) == 0.0  # another session
    await asyncio.sleep(wait + 0.02)
    assert await hubs.b.claim_slot(SID, "stock", 0.3) == 0.0


# --- moderation, viewers, stream status --------------------------------------------------


async def test_restrictions_hold_everywhere_and_expire(hubs: Pair) -> None:
    """A mute set on one instance is seen on the other, per kind and key, until it ends."""
    until = await hubs.a.restrict(SID, "mute", "c:someone", 0.3)
    assert until == pytest.approx(time.time() + 0.3, abs=0.2)
    assert await hubs.b.restricted_until(SID, "mute", ["c:other", "c:someone"]) == pytest.approx(
        until
    )
    assert await hubs.b.restricted_until(SID, "ban", ["c:someone"]) is None
    assert await hubs.b.restricted_until(SID + 1, "mute", ["c:someone"]) is None
    assert await hubs.b.restricted_until(SID, "mute", []) is None
    deadline = time.monotonic() + 3
    while await hubs.b.restricted_until(SID, "mute", ["c:someone"]) is not None:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)


async def test_viewer_counts_add_up_across_instances(hubs: Pair) -> None:
    """Each instance reports its own count; totals are the sum, and 0 withdraws a report."""
    await hubs.a.report_viewers({SID: 3, SID + 1: 1}, ttl_s=5)
    await hubs.b.report_viewers({SID: 4}, ttl_s=5)
    assert await hubs.a.viewer_counts([SID, SID + 1, SID + 2]) == {SID: 7, SID + 1: 1, SID + 2: 0}
    await hubs.b.report_viewers({SID: 0}, ttl_s=5)
    assert await hubs.b.viewer_counts([SID]) == {SID: 3}


async def test_viewer_reports_expire(hubs: Pair) -> None:
    """An instance that stops reporting (it died) drops out of the total after its TTL."""
    await hubs.a.report_viewers({SID: 2}, ttl_s=5)
    await hubs.b.report_viewers({SID: 5}, ttl_s=0.2)
    deadline = time.monotonic() + 3
    while (await hubs.a.viewer_counts([SID]))[SID] != 2:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)


async def test_stream_status_is_shared(hubs: Pair) -> None:
    """The relay's last stream status set on one instance is read on the other."""
    assert await hubs.b.stream_status(SID) is None
    await hubs.a.set_stream_status(SID, "paused")
    assert await hubs.b.stream_status(SID) == "paused"
    assert await hubs.a.ping() and await hubs.b.ping()


# --- Redis only --------------------------------------------------------------------------


@pytest.mark.redis
async def test_redis_hub_reports_an_unreachable_store() -> None:
    """Commands on a Redis that does not answer raise HubUnavailable (retryable), ping is False."""
    from tests.shop.conftest import free_port

    client = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.2)
    hub = RedisHub(client, subscribe_timeout_s=0.2)
    try:
        await hub.start(Inbox())  # returns despite the outage; keeps trying in the background
        with pytest.raises(HubUnavailable) as caught:
            await hub.add_chat(SID, line("hi"))
        assert caught.value.retryable
        assert not await hub.ping()
    finally:
        await hub.stop()
        await client.aclose()


@pytest.mark.redis
async def test_redis_hub_resubscribes_after_a_restart(own_redis) -> None:  # type: ignore[no-untyped-def]
    """Delivery resumes after Redis restarts, and seq keeps growing although the data is gone."""
    client = Redis.from_url(own_redis.url, socket_timeout=2, socket_connect_timeout=0.5)
    inbox = Inbox()
    hub = RedisHub(client)
    try:
        await hub.start(inbox)
        before = await hub.next_seq(SID, 3)
        own_redis.kill()
        own_redis.start()
        deadline = time.monotonic() + 10
        while not inbox.got:
            assert time.monotonic() < deadline, "no delivery after the restart"
            try:
                await hub.publish(SID, Audience.ALL, "back")
            except HubUnavailable:
                pass
            await asyncio.sleep(0.1)
        assert inbox.got[0] == (SID, Audience.ALL, "back")
        assert await hub.next_seq(SID) > before
    finally:
        await hub.stop()
        await client.aclose()

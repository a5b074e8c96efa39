"""The relay end to end with real aiortc peers on this machine's interfaces."""

from __future__ import annotations

import asyncio
import gc
import itertools
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import aiortc.rtcrtpreceiver
import aiortc.rtcrtpsender
import pytest
from aiortc import RTCPeerConnection

from stream.errors import (
    BadOffer,
    NotFound,
    NotLive,
    PublisherActive,
    RateLimited,
    RelayFull,
)
from stream.passthrough import PacketOnlyEncoder, media_ssrc, sender_encoder
from stream.relay import Relay
from tests.stream.conftest import StatusLog
from tests.stream.peers import (
    DecodeErrors,
    DecodingViewer,
    SyntheticPublisher,
    codec_capabilities,
    loopback,
    start_publisher,
    start_viewer,
    wait_for,
)


class CallCounter:
    """Wraps a function and counts its calls."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.function(*args, **kwargs)


@pytest.fixture
def live_peer_connections(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], int]]:
    """Counts the RTCPeerConnections created since, that are still alive.

    Neither this nor the collections during the test scan the suite's heap: late in a
    full run that is millions of objects, and scanning it on every poll made the leak
    test take a minute. The heap as it was is frozen out of collection for the test.
    """
    alive: weakref.WeakSet[RTCPeerConnection] = weakref.WeakSet()
    init = RTCPeerConnection.__init__

    def tracked_init(pc: RTCPeerConnection, *args: Any, **kwargs: Any) -> None:
        init(pc, *args, **kwargs)
        alive.add(pc)

    monkeypatch.setattr(RTCPeerConnection, "__init__", tracked_init)

    def count() -> int:
        gc.collect()  # peers in reference cycles are gone only once collected
        return len(alive)

    gc.collect()
    gc.freeze()
    try:
        yield count
    finally:
        gc.unfreeze()


def video_frames(viewers: list[DecodingViewer]) -> list[int]:
    return [v.frames("video") for v in viewers]


async def test_five_viewers_decode_what_the_relay_passes_through(
    relay: Relay, decode_errors: DecodeErrors, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Five viewers decode the publisher's VP8 and Opus cleanly while the relay neither decodes nor encodes."""
    decoders = CallCounter(aiortc.rtcrtpreceiver.get_decoder)
    encoders = CallCounter(aiortc.rtcrtpsender.get_encoder)
    monkeypatch.setattr(aiortc.rtcrtpreceiver, "get_decoder", decoders)
    monkeypatch.setattr(aiortc.rtcrtpsender, "get_encoder", encoders)

    publisher = await start_publisher(relay, "s1")
    viewers = [await start_viewer(relay, "s1") for _ in range(5)]
    await wait_for(
        lambda: all(v.frames("video") >= 20 and v.frames("audio") >= 20 for v in viewers),
        within=10,
        message="every viewer to decode video and audio",
    )
    seen = video_frames(viewers)
    await wait_for(
        lambda: all(
            now >= then + 15 for now, then in zip(video_frames(viewers), seen, strict=True)
        ),
        message="frames to keep advancing",
    )

    assert decode_errors.count == 0, decode_errors.messages
    for viewer in viewers:
        assert viewer.received["video"].sizes == {(640, 360)}
        assert viewer.received["video"].pts_went_back == 0
        assert viewer.negotiated("video")[0] == "video/VP8"
    # Decoders: one per viewer receiver, none on the relay. Encoders: the publisher's two.
    assert decoders.calls == 2 * len(viewers)
    assert encoders.calls == 2
    room = relay.room("s1")
    assert room is not None and room.publisher is not None
    for kind in ("audio", "video"):
        assert room.publisher.taps[kind].frames > 0
    for relay_viewer in room.viewers.values():
        for kind, sender in relay_viewer.senders.items():
            encoder = sender_encoder(sender)
            assert isinstance(encoder, PacketOnlyEncoder)
            assert encoder.packed > 0, kind
            # One packetizer per session and kind: frames are split once, not per viewer.
            assert encoder.packetizer is room.packetizer(kind, room.codecs[kind])
    packed = sum(v.encoders["video"].packed for v in room.viewers.values())
    assert room.packetizer("video", room.codecs["video"]).frames < packed / 2
    stats = relay.stats()["s1"]
    assert stats["viewers"] == 5
    assert stats["publisher"] is True
    assert stats["codecs"] == {"audio": "opus", "video": "VP8"}
    for viewer in viewers:
        await viewer.close()
    await publisher.close()


async def test_late_joiner_starts_at_a_keyframe_within_a_second(
    relay: Relay, decode_errors: DecodeErrors
) -> None:
    """A viewer joining a running stream decodes its first frame within 1 s, and that frame is a keyframe."""
    publisher = await start_publisher(relay, "s1")
    early = await start_viewer(relay, "s1")
    await wait_for(lambda: early.frames("video") >= 45, within=10, message="the early viewer")

    late = DecodingViewer()
    resource_id, answer = await relay.view("s1", await late.offer())
    await late.answer(resource_id, answer)
    answered = time.monotonic()
    await wait_for(lambda: late.frames("video") >= 1, within=1.0, message="the first frame")

    first = late.received["video"].first_at
    assert first is not None and first - answered < 1.0
    assert late.decoder_queues["video"].first_is_keyframe is True
    assert decode_errors.count == 0, decode_errors.messages
    for peer in (early, late, publisher):
        await peer.close()


async def test_publisher_leaves_and_returns_while_viewers_stay(
    relay: Relay, statuses: StatusLog, decode_errors: DecodeErrors
) -> None:
    """When the host deletes its WHIP resource and publishes again, viewers stay connected and resume."""
    publisher = await start_publisher(relay, "s1")
    viewers = [await start_viewer(relay, "s1") for _ in range(2)]
    await wait_for(lambda: all(n >= 15 for n in video_frames(viewers)), within=10)
    await wait_for(lambda: statuses.of("s1") == ["live"])

    await relay.delete("s1", publisher.resource_id)
    await publisher.close()
    await wait_for(lambda: statuses.of("s1") == ["live", "paused"], message="paused")
    room = relay.room("s1")
    assert room is not None and len(room.viewers) == 2
    assert all(v.pc.connectionState == "connected" for v in viewers)
    paused_at = video_frames(viewers)

    again = await start_publisher(relay, "s1")
    await wait_for(lambda: statuses.of("s1") == ["live", "paused", "live"], message="live again")
    await wait_for(
        lambda: all(
            now >= then + 20 for now, then in zip(video_frames(viewers), paused_at, strict=True)
        ),
        within=10,
        message="frames to resume",
    )
    assert all(v.pc.connectionState == "connected" for v in viewers)
    assert all(v.received["video"].pts_went_back == 0 for v in viewers)
    assert decode_errors.count == 0, decode_errors.messages
    for peer in (*viewers, again):
        await peer.close()


async def test_publisher_connection_closing_pauses_the_session(
    relay: Relay, statuses: StatusLog
) -> None:
    """A publisher that hangs up without DELETE is reported paused, and the viewer stays."""
    publisher = await start_publisher(relay, "s1")
    viewer = await start_viewer(relay, "s1")
    await wait_for(lambda: viewer.frames("video") >= 5, within=10)

    await publisher.close()
    await wait_for(lambda: statuses.of("s1") == ["live", "paused"], message="paused")
    assert relay.stats()["s1"]["publisher"] is False
    assert relay.stats()["s1"]["viewers"] == 1
    await viewer.close()


async def test_stalled_publisher_is_reported_paused(statuses: StatusLog) -> None:
    """A connected publisher whose media stops is reported paused after stall_seconds."""
    relay = Relay(on_status=statuses, stall_seconds=0.5)
    await relay.start()
    try:
        publisher = await start_publisher(relay, "s1")
        await wait_for(lambda: statuses.of("s1") == ["live"], within=5)
        for track in (publisher.video, publisher.audio):
            assert track is not None
            track.stop()
        await wait_for(lambda: statuses.of("s1") == ["live", "paused"], within=3)
        assert publisher.pc.connectionState == "connected"
        await publisher.close()
    finally:
        await relay.stop()


async def test_new_publisher_replaces_the_old_one(relay: Relay, statuses: StatusLog) -> None:
    """A takeover replaces the old publisher once its media flows, without disconnecting viewers."""
    first = await start_publisher(relay, "s1")
    viewer = await start_viewer(relay, "s1")
    await wait_for(lambda: viewer.frames("video") >= 10, within=10)

    intruder = await SyntheticPublisher.offer()
    with pytest.raises(PublisherActive) as caught:
        await relay.publish("s1", intruder.sdp)
    assert (caught.value.code, caught.value.status) == ("publisher_active", 409)
    # A takeover whose media never flows (nobody applies its answer) changes nothing.
    await relay.publish("s1", intruder.sdp, takeover=True)
    room = relay.room("s1")
    assert room is not None and room.candidate is not None
    before = viewer.frames("video")
    await wait_for(lambda: viewer.frames("video") >= before + 30, within=10, message="more frames")
    assert room.publisher is not None and room.publisher.resource_id == first.resource_id
    await intruder.close()

    second = await start_publisher(relay, "s1", takeover=True)
    await wait_for(lambda: first.pc.connectionState == "closed", message="the old publisher closed")
    resumed_from = viewer.frames("video")
    await wait_for(lambda: viewer.frames("video") >= resumed_from + 20, within=10)
    room = relay.room("s1")
    assert room is not None and room.publisher is not None
    assert room.publisher.resource_id == second.resource_id
    assert viewer.pc.connectionState == "connected"
    assert "paused" not in statuses.of("s1")
    for peer in (viewer, first, second):
        await peer.close()


async def test_audio_only_viewer_gets_opus_only(relay: Relay, decode_errors: DecodeErrors) -> None:
    """A WHEP offer with only an audio m-line gets Opus and nothing else."""
    publisher = await start_publisher(relay, "s1")
    viewer = await start_viewer(relay, "s1", video=False)
    await wait_for(lambda: viewer.frames("audio") >= 25, within=10)

    assert viewer.negotiated("audio")[0] == "audio/opus"
    assert viewer.negotiated("video") == []
    assert "video" not in viewer.received
    room = relay.room("s1")
    assert room is not None
    (relay_viewer,) = room.viewers.values()
    assert set(relay_viewer.tracks) == {"audio"}
    assert decode_errors.count == 0
    await viewer.close()
    await publisher.close()


async def test_h264_passes_through(
    relay: Relay, decode_errors: DecodeErrors, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A baseline H.264 publisher reaches viewers as H.264, decoded cleanly, never re-encoded by the relay."""
    encoders = CallCounter(aiortc.rtcrtpsender.get_encoder)
    monkeypatch.setattr(aiortc.rtcrtpsender, "get_encoder", encoders)
    publisher = await start_publisher(relay, "s1", video_codec="video/H264")
    viewers = [await start_viewer(relay, "s1") for _ in range(2)]
    await wait_for(lambda: all(n >= 30 for n in video_frames(viewers)), within=15)

    assert relay.stats()["s1"]["codecs"]["video"] == "H264"
    for viewer in viewers:
        assert viewer.negotiated("video")[0] == "video/H264"
        assert viewer.decoder_queues["video"].first_is_keyframe is True
        assert viewer.received["video"].sizes == {(640, 360)}
    assert decode_errors.count == 0, decode_errors.messages
    assert encoders.calls == 2
    for peer in (*viewers, publisher):
        await peer.close()


async def test_viewer_keyframe_requests_reach_the_publisher_rate_limited(relay: Relay) -> None:
    """A viewer's stream of PLIs reaches the publisher as at most one request per 500 ms."""
    publisher = await start_publisher(relay, "s1")
    viewer = await start_viewer(relay, "s1")
    await wait_for(lambda: viewer.frames("video") >= 10, within=10)

    requests: list[float] = []
    sender = next(t.sender for t in publisher.pc.getTransceivers() if t.kind == "video")
    original = sender._send_keyframe

    def counting() -> None:
        requests.append(time.monotonic())
        original()

    sender._send_keyframe = counting  # type: ignore[method-assign]
    receiver = next(t.receiver for t in viewer.pc.getTransceivers() if t.kind == "video")
    ssrc = media_ssrc(receiver)
    assert ssrc is not None
    for _ in range(20):
        await receiver._send_rtcp_pli(ssrc)
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.6)  # the last coalesced request is due one interval later

    assert 2 <= len(requests) <= 4, requests
    gaps = [b - a for a, b in itertools.pairwise(requests)]
    assert all(gap >= 0.45 for gap in gaps), gaps
    await viewer.close()
    await publisher.close()


async def test_no_publisher_means_not_live(relay: Relay) -> None:
    """Viewing a session without a publisher, or whose publisher left with nobody watching, is NotLive."""
    viewer = DecodingViewer()
    offer = await viewer.offer()
    with pytest.raises(NotLive) as caught:
        await relay.view("nobody", offer)
    assert caught.value.code == "not_live"

    publisher = await start_publisher(relay, "s1")
    await relay.delete("s1", publisher.resource_id)
    await publisher.close()
    assert "s1" not in relay.stats()
    with pytest.raises(NotLive):
        await relay.view("s1", offer)
    await viewer.close()


async def test_delete_removes_the_resource(relay: Relay) -> None:
    """DELETE closes a viewer's connection and forgets it; unknown resources are NotFound."""
    publisher = await start_publisher(relay, "s1")
    viewer = await start_viewer(relay, "s1")
    await wait_for(lambda: viewer.frames("video") >= 1, within=10)

    with pytest.raises(NotFound):
        await relay.delete("other", viewer.resource_id)
    with pytest.raises(NotFound):
        await relay.delete("s1", "no-such-resource")
    await relay.delete("s1", viewer.resource_id)
    assert relay.stats()["s1"]["viewers"] == 0
    await wait_for(lambda: viewer.pc.connectionState == "closed", message="the viewer hung up")
    with pytest.raises(NotFound):
        await relay.delete("s1", viewer.resource_id)
    await viewer.close()
    await publisher.close()


async def test_bad_offers_are_refused(relay: Relay) -> None:
    """Unreadable SDP, data-only offers and viewers that can't take the publisher's codec raise BadOffer."""
    with pytest.raises(BadOffer) as caught:
        await relay.publish("s1", "this is not SDP")
    assert caught.value.code == "bad_sdp"

    data_only = RTCPeerConnection(loopback())
    data_only.createDataChannel("chat")
    await data_only.setLocalDescription(await data_only.createOffer())
    with pytest.raises(BadOffer):
        await relay.publish("s1", data_only.localDescription.sdp)
    await data_only.close()
    assert relay.stats() == {}

    publisher = await start_publisher(relay, "s1")  # VP8
    viewer = DecodingViewer(audio=False)
    transceiver = viewer.pc.getTransceivers()[0]
    transceiver.setCodecPreferences(codec_capabilities("video", "video/H264"))
    with pytest.raises(BadOffer, match="VP8"):
        await relay.view("s1", await viewer.offer())
    assert relay.stats()["s1"]["viewers"] == 0
    await viewer.close()
    await publisher.close()


async def test_max_viewers_answers_relay_full(statuses: StatusLog) -> None:
    """Past max_viewers the relay raises RelayFull with a retry delay, and admits again once a seat frees."""
    relay = Relay(max_viewers=2, on_status=statuses, full_retry_after=7)
    await relay.start()
    try:
        publisher = await start_publisher(relay, "s1")
        viewers = [await start_viewer(relay, "s1") for _ in range(2)]
        # Slots are taken when ICE connects, not when the answer goes out.
        await wait_for(lambda: relay.admission.connected == 2, within=10, message="2 connected")
        extra = DecodingViewer()
        offer = await extra.offer()
        with pytest.raises(RelayFull) as caught:
            await relay.view("s1", offer)
        assert caught.value.code == "relay_full"
        assert caught.value.retry_after == 7

        await relay.delete("s1", viewers[0].resource_id)
        resource_id, answer = await relay.view("s1", offer)
        await extra.answer(resource_id, answer)
        await wait_for(lambda: extra.frames("video") >= 1, within=10)
        for peer in (*viewers, extra, publisher):
            await peer.close()
    finally:
        await relay.stop()


async def test_unconnected_answers_hold_no_slot_and_expire(statuses: StatusLog) -> None:
    """An answer nobody connects to takes no seat from a real viewer and is closed after its deadline."""
    relay = Relay(max_viewers=1, on_status=statuses, answer_seconds=1.5)
    await relay.start()
    try:
        publisher = await start_publisher(relay, "s1")
        ghost = DecodingViewer()
        ghost_id, _ = await relay.view("s1", await ghost.offer(), address="198.51.100.1")
        assert relay.admission.pending == 1 and relay.admission.connected == 0

        real = DecodingViewer()
        resource_id, answer = await relay.view("s1", await real.offer(), address="198.51.100.2")
        await real.answer(resource_id, answer)
        await wait_for(lambda: real.frames("video") >= 1, within=10, message="the real viewer")
        assert relay.admission.connected == 1

        await wait_for(lambda: relay.admission.expired == 1, within=10, message="the expiry")
        room = relay.room("s1")
        assert room is not None and ghost_id not in room.viewers
        assert relay.admission.pending == 0
        with pytest.raises(RelayFull):
            await relay.view("s1", await ghost.offer(), address="198.51.100.3")
        for peer in (ghost, real, publisher):
            await peer.close()
    finally:
        await relay.stop()


async def test_one_address_holds_few_unconnected_answers(relay: Relay) -> None:
    """Past per_address unconnected answers an address gets RateLimited; others still join."""
    publisher = await start_publisher(relay, "s1")
    stale = DecodingViewer()
    offer = await stale.offer()
    for _ in range(4):
        await relay.view("s1", offer, address="203.0.113.9")
    with pytest.raises(RateLimited) as caught:
        await relay.view("s1", offer, address="203.0.113.9")
    assert caught.value.code == "rate_limited" and caught.value.retry_after >= 1
    viewer = DecodingViewer()
    resource_id, answer = await relay.view("s1", await viewer.offer(), address="203.0.113.10")
    await viewer.answer(resource_id, answer)
    await wait_for(lambda: viewer.frames("video") >= 1, within=10, message="the other address")
    for peer in (stale, viewer, publisher):
        await peer.close()


@pytest.mark.slow
async def test_a_hundred_joins_and_leaves_leak_nothing(
    relay: Relay, live_peer_connections: Callable[[], int]
) -> None:
    """After 100 viewer join/leave cycles the tasks, peer connections and threads are back to baseline."""
    publisher = await start_publisher(relay, "s1")

    async def join_and_leave(until_media: bool) -> None:
        viewer = await start_viewer(relay, "s1")
        if until_media:
            await wait_for(lambda: viewer.frames("video") >= 1, within=10)
        await relay.delete("s1", viewer.resource_id)
        await viewer.close()

    def counts() -> tuple[int, int, int]:
        # The default executor (the publisher's encoder runs there) grows its own
        # "asyncio_N" worker threads on demand; those are not the relay's.
        threads = [t for t in threading.enumerate() if not t.name.startswith("asyncio_")]
        return len(asyncio.all_tasks()), live_peer_connections(), len(threads)

    await join_and_leave(until_media=True)
    # Only the publisher's two ends remain once the warm-up viewer is collected.
    await wait_for(lambda: counts()[1] == 2, within=10, message="warm-up to settle")
    baseline = counts()
    tasks_at_baseline = asyncio.all_tasks()

    for cycle in range(100):
        # Some cycles go all the way to decoded media, the rest leave mid-handshake.
        await join_and_leave(until_media=cycle % 20 == 0)

    assert relay.stats()["s1"]["viewers"] == 0
    try:
        await wait_for(
            lambda: all(now <= then for now, then in zip(counts(), baseline, strict=True)),
            within=20,
            message=f"tasks, peer connections and threads back to {baseline}",
        )
    except AssertionError as exc:
        extra = [repr(t.get_coro()) for t in asyncio.all_tasks() - tasks_at_baseline]
        threads = [t.name for t in threading.enumerate()]
        raise AssertionError(
            f"{exc}: now {counts()}, new tasks {extra}, threads {threads}"
        ) from None
    await publisher.close()


async def test_stop_closes_every_connection(statuses: StatusLog) -> None:
    """Relay.stop() closes its publisher and viewer connections and leaves no task of its own."""
    relay = Relay(on_status=statuses)
    await relay.start()
    publisher = await start_publisher(relay, "s1")
    viewer = await start_viewer(relay, "s1")
    await wait_for(lambda: viewer.frames("video") >= 1, within=10)
    room = relay.room("s1")
    assert room is not None and room.publisher is not None
    relay_pcs = [room.publisher.pc, *(v.pc for v in room.viewers.values())]

    await relay.stop()
    assert relay.stats() == {}
    assert all(pc.connectionState == "closed" for pc in relay_pcs)
    own = [t for t in asyncio.all_tasks() if t.get_name().startswith(("relay-", "close-", "pli-"))]
    assert own == []
    await wait_for(lambda: publisher.pc.connectionState == "closed", message="publisher hung up")
    await viewer.close()
    await publisher.close()
    with pytest.raises(RuntimeError):
        await relay.view("s1", "v=0")


async def test_close_session_disconnects_everyone_silently(
    relay: Relay, statuses: StatusLog
) -> None:
    """close_session() hangs up the publisher and every viewer and reports no status of its own."""
    publisher = await start_publisher(relay, "s1")
    viewer = await start_viewer(relay, "s1")
    await wait_for(lambda: viewer.frames("video") >= 1, within=10)

    await relay.close_session("s1")
    assert "s1" not in relay.stats()
    await wait_for(
        lambda: viewer.pc.connectionState == "closed" and publisher.pc.connectionState == "closed",
        message="both clients hung up",
    )
    assert statuses.of("s1") == ["live"]
    await relay.close_session("s1")  # unknown now: a no-op
    await viewer.close()
    await publisher.close()


async def test_a_port_range_the_kernel_ignores_is_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Asking for a UDP port range the kernel's ephemeral range doesn't fit logs a warning at start."""
    relay = Relay(udp_port_range=(40000, 40001))
    with caplog.at_level(logging.WARNING, logger="stream.relay"):
        await relay.start()
    await relay.stop()
    assert any(
        "ip_local_port_range" in r.getMessage() or "port range" in r.getMessage()
        for r in caplog.records
    )


async def test_h264_is_preferred_when_the_publisher_prefers_it(relay: Relay) -> None:
    """A publisher offering H.264 before VP8 is answered with H.264, and viewers get H.264."""
    publisher = await start_publisher(relay, "s1", video_codec=("video/H264", "video/VP8"))
    room = relay.room("s1")
    assert room is not None and room.codecs["video"].name == "H264"
    viewer = await start_viewer(relay, "s1")
    await wait_for(lambda: viewer.frames("video") >= 5, within=15, message="H.264 frames")
    assert viewer.negotiated("video")[0] == "video/H264"
    for peer in (viewer, publisher):
        await peer.close()


async def test_mdns_candidates_cost_the_join_no_wait(relay: Relay) -> None:
    """A viewer offering only `.local` host candidates (Chromium's default) is answered at once and plays."""
    publisher = await start_publisher(relay, "s1")
    viewer = DecodingViewer()
    offer = await viewer.offer()
    lines = []
    for n, line in enumerate(offer.split("\r\n")):
        if line.startswith("a=candidate:"):
            fields = line.split()
            fields[4] = f"{n:08x}-6f1e-4c2a-9d3b-farmlive.local"
            line = " ".join(fields)
        lines.append(line)
    started = time.monotonic()
    resource_id, answer = await relay.view("s1", "\r\n".join(lines))
    answered = time.monotonic() - started
    # aioice would wait about 1 s per mDNS name before answering.
    assert answered < 0.5, answered
    await viewer.answer(resource_id, answer)
    await wait_for(lambda: viewer.frames("video") >= 1, within=10, message="first frame")
    for peer in (viewer, publisher):
        await peer.close()

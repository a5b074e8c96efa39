"""Replays: the session's kept HLS recording (stream.hls) and its pin moments (shop.replay)."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from shop.catalogue import LiveSession, Offer
from shop.replay import MomentStore, pin_moment, price_moment
from stream.hls import PLAYLIST, RUN_FILE

log = logging.getLogger("farmlive.media")


@dataclass(frozen=True)
class Recording:
    started_at: datetime
    duration_s: float
    ended: bool


def read_recording(hls_dir: Path | None, session_id: int) -> Recording | None:
    """What the relay recorded of the session, from its playlist and run file; None if nothing."""
    if hls_dir is None:
        return None
    directory = hls_dir / str(session_id)
    try:
        run = json.loads((directory / RUN_FILE).read_text())
        playlist = (directory / PLAYLIST).read_text()
    except (OSError, ValueError):
        return None
    duration = sum(
        float(line.split(":", 1)[1].split(",", 1)[0])
        for line in playlist.splitlines()
        if line.startswith("#EXTINF:")
    )
    return Recording(
        started_at=datetime.fromtimestamp(float(run["started_at"]), UTC),
        duration_s=round(duration, 3),
        ended="#EXT-X-ENDLIST" in playlist,
    )


def moment_listener(
    store: MomentStore, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> Callable[[LiveSession], Awaitable[None]]:
    """A session listener that records each new pin of a live session as a moment."""

    async def on_change(session: LiveSession) -> None:
        try:
            moment = pin_moment(session, await store.last(session.id, "pin"), clock())
            if moment is not None:
                await store.add(moment)
        except Exception:  # a missed moment must never fail the pin itself
            log.exception("could not record the replay moment of session %s", session.id)

    return on_change


async def record_price_change(
    store: MomentStore | None,
    session: LiveSession,
    offer: Offer,
    old_price: int,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Record a live session's price change as a replay moment; never fails the change."""
    if store is None:
        return
    try:
        moment = price_moment(session, offer, old_price, clock())
        if moment is not None:
            await store.add(moment)
    except Exception:
        log.exception("could not record the price moment of session %s", session.id)

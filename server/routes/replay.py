"""`GET /api/sessions/{sid}/replay`: after the end, the recording and its shoppable moments."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter

from server.deps import ServicesDep
from server.replay import read_recording
from server.schemas.types import PathId
from shop.catalogue import SessionStatus
from shop.replay import NoReplay, ReplayNotReady, replay_moments

router = APIRouter(prefix="/api", tags=["media"])


@router.get("/sessions/{sid}/replay")
async def get_replay(sid: PathId, services: ServicesDep) -> dict[str, object]:
    session = await services.catalogue.get_session(sid)
    if session.status is not SessionStatus.ENDED:
        raise ReplayNotReady("the replay is ready once the session has ended")
    hls_dir = services.settings.hls_dir
    recording = read_recording(Path(hls_dir) if hls_dir else None, sid)
    if recording is None:
        raise NoReplay("this session has no recording")
    moments = await services.moments.list(sid) if services.moments is not None else []
    base = (services.settings.media_url or "").rstrip("/")
    return {
        "playlist": f"{base}/hls/{sid}/index.m3u8",
        "duration_s": recording.duration_s,
        "moments": replay_moments(moments, recording.started_at),
    }

"""`PUT/GET /api/sessions/{sid}/restream`: roles, URL checks, stream keys masked everywhere."""

from __future__ import annotations

import logging

import pytest

from shop.errors import InvalidInput
from shop.restream import Destination, check_url, mask_url, merge_masked
from tests.conftest import Api
from tests.server.orders_helpers import live_session

YOUTUBE = "rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl-mnop-qrst"
FACEBOOK = "rtmps://live-api-s.facebook.com:443/rtmp/FB-1234567890-0-AbCdEfGhIjKlMnOp?s_bl=1&s_sw=0"


def app_log(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Every line logged, at any level, except database drivers' own DEBUG tracing.

    aiosqlite and asyncpg trace each query's parameters at DEBUG (passwords' hashes and
    everything else too); they are never configured below INFO (server/cli.py).
    """
    drivers = ("aiosqlite", "asyncpg", "sqlalchemy")
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelno >= logging.INFO or not record.name.startswith(drivers)
    ]


def test_masks_keep_the_platform_and_hide_the_key() -> None:
    """The key (last path segment), user info and query are masked; host, port and app stay."""
    assert mask_url(YOUTUBE) == "rtmp://a.rtmp.youtube.com/live2/••••qrst"
    assert mask_url(FACEBOOK) == "rtmps://live-api-s.facebook.com:443/rtmp/••••MnOp?••••"
    assert mask_url("rtmp://user:pw@h.example/app/short") == "rtmp://••••@h.example/app/••••"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("https://a.rtmp.youtube.com/live2/key", "rtmp:// or rtmps://"),
        ("rtmp:///live2/key", "no host"),
        ("rtmp://a.rtmp.youtube.com/live2", "stream key"),
        ("rtmp://a.rtmp.youtube.com/live2/ke y", "spaces"),
        ("rtmp://a.rtmp.youtube.com:99999/live2/key", "not a valid URL"),
        ("rtmp://a.rtmp.youtube.com/live2/••••qrst", "masked"),
    ],
)
def test_bad_urls_are_refused_with_a_reason(url: str, says: str) -> None:
    """Only RTMP/RTMPS URLs with a host, an application and a key pass, each refusal says why."""
    with pytest.raises(InvalidInput, match=says):
        check_url(url)


def test_a_masked_url_sent_back_keeps_the_stored_one() -> None:
    """Switching a destination off with the URL GET gave keeps its stored key."""
    stored = [Destination(YOUTUBE, True)]
    merged = merge_masked([Destination(mask_url(YOUTUBE), False)], stored)
    assert merged == [Destination(YOUTUBE, False)]


async def test_host_sets_destinations_and_reads_them_masked(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    """PUT stores the list; GET and the PUT's answer mask the keys; no log line carries a key."""
    caplog.set_level(logging.DEBUG)
    sid = (await live_session(api))["sid"]
    body = [{"url": YOUTUBE, "enabled": True}, {"url": FACEBOOK, "enabled": False}]
    put = await api.client.put(f"/api/sessions/{sid}/restream", json=body, headers=api.auth("host"))
    assert put.status_code == 200, put.text
    got = await api.client.get(f"/api/sessions/{sid}/restream", headers=api.auth("admin"))
    assert got.status_code == 200
    assert (
        got.json()
        == put.json()
        == [
            {"url": mask_url(YOUTUBE), "enabled": True, "state": "idle", "error": None},
            {"url": mask_url(FACEBOOK), "enabled": False, "state": "idle", "error": None},
        ]
    )
    # Turning YouTube off through its masked URL keeps the key; the audit log has masks only.
    toggle = [{"url": mask_url(YOUTUBE), "enabled": False}, {"url": FACEBOOK, "enabled": True}]
    put = await api.client.put(
        f"/api/sessions/{sid}/restream", json=toggle, headers=api.auth("admin")
    )
    assert put.status_code == 200, put.text
    assert [d["enabled"] for d in put.json()] == [False, True]
    stored = await api.app.state.services.restream.destinations(sid)  # type: ignore[attr-defined]
    assert [d.url for d in stored] == [YOUTUBE, FACEBOOK]
    audit = await api.client.get("/api/audit", headers=api.auth("admin"))
    assert audit.status_code == 200 and "session.restream" in audit.text
    for secret in ("abcd-efgh-ijkl-mnop-qrst", "AbCdEfGhIjKlMnOp"):
        assert secret not in audit.text and secret not in got.text
        assert not any(secret in line for line in app_log(caplog))
    # A refused PUT changes nothing and names the problem.
    bad = [{"url": "http://example.com/live/key", "enabled": True}]
    refused = await api.client.put(
        f"/api/sessions/{sid}/restream", json=bad, headers=api.auth("host")
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "invalid_input"
    assert "rtmp://" in refused.json()["error"]["message"]
    assert [d.url for d in await api.app.state.services.restream.destinations(sid)] == [  # type: ignore[attr-defined]
        YOUTUBE,
        FACEBOOK,
    ]


async def test_limits_and_shapes(api: Api) -> None:
    """More than five destinations, duplicates and a non-boolean `enabled` are 422s."""
    sid = (await live_session(api))["sid"]
    path = f"/api/sessions/{sid}/restream"
    six = [{"url": f"{YOUTUBE}{i}", "enabled": True} for i in range(6)]
    twice = [{"url": YOUTUBE, "enabled": True}, {"url": YOUTUBE, "enabled": False}]
    for body, says in ((six, "at most 5"), (twice, "twice")):
        r = await api.client.put(path, json=body, headers=api.auth("host"))
        assert r.status_code == 422 and says in r.json()["error"]["message"], r.text
    r = await api.client.put(
        path, json=[{"url": YOUTUBE, "enabled": "yes"}], headers=api.auth("host")
    )
    assert r.status_code == 422
    assert YOUTUBE not in r.text  # a validation error does not echo the key back
    r = await api.client.put(path, json=[], headers=api.auth("host"))
    assert r.status_code == 200 and r.json() == []


async def test_others_are_refused(api: Api) -> None:
    """Another host, coops and moderators get 403; an unknown session is 404."""
    sid = (await live_session(api))["sid"]
    body = [{"url": YOUTUBE, "enabled": True}]
    for role in ("host2", "coop", "moderator"):
        put = await api.client.put(
            f"/api/sessions/{sid}/restream", json=body, headers=api.auth(role)
        )
        get = await api.client.get(f"/api/sessions/{sid}/restream", headers=api.auth(role))
        assert (put.status_code, get.status_code) == (403, 403), role
    missing = await api.client.get("/api/sessions/999999/restream", headers=api.auth("admin"))
    assert missing.status_code == 404
    anonymous = await api.client.get(f"/api/sessions/{sid}/restream")
    assert anonymous.status_code == 401

"""The compliance kit: livestreamer identity per session, published rules, complaints inbox."""

from __future__ import annotations

from tests.conftest import Api


async def new_session(api: Api, role: str = "host") -> int:
    r = await api.client.post("/api/sessions", json={"title": "Phiên vải"}, headers=api.auth(role))
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


STREAMER = {
    "full_name": "Nguyễn Văn An",
    "id_number": "024090001234",
    "organisation": "HTX Thử nghiệm",
    "phone": "0912 345 678",
}


async def test_host_records_the_streamer_and_viewers_see_it_masked(api: Api) -> None:
    """The host records who sells; the public view names them and hides the ID number."""
    sid = await new_session(api)
    r = await api.client.put(
        f"/api/sessions/{sid}/streamer", json=STREAMER, headers=api.auth("host")
    )
    assert r.status_code == 200, r.text
    staff = r.json()
    assert (staff["id_number"], staff["phone"]) == ("024090001234", "0912345678")
    public = (await api.client.get(f"/api/sessions/{sid}/streamer")).json()
    assert public == {
        "session_id": sid,
        "full_name": "Nguyễn Văn An",
        "position": None,
        "organisation": "HTX Thử nghiệm",
        "id_number": "•••••••••234",
    }
    again = {**STREAMER, "full_name": "Trần Thị Bình"}
    r = await api.client.put(f"/api/sessions/{sid}/streamer", json=again, headers=api.auth("admin"))
    assert r.status_code == 200
    assert (await api.client.get(f"/api/sessions/{sid}/streamer")).json()[
        "full_name"
    ] == "Trần Thị Bình"


async def test_only_the_sessions_host_records_its_streamer(api: Api) -> None:
    """Another host gets 403, no token 401; a session without a record answers 404."""
    sid = await new_session(api)
    r = await api.client.put(
        f"/api/sessions/{sid}/streamer", json=STREAMER, headers=api.auth("host2")
    )
    assert r.status_code == 403
    assert (await api.client.put(f"/api/sessions/{sid}/streamer", json=STREAMER)).status_code == 401
    missing = await api.client.get(f"/api/sessions/{sid}/streamer")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    bad = await api.client.put(
        f"/api/sessions/{sid}/streamer",
        json={**STREAMER, "id_number": "12"},
        headers=api.auth("host"),
    )
    assert bad.status_code == 422


async def test_rules_are_published_in_both_languages(api: Api) -> None:
    """GET /api/livestream-rules lists the same number of rules in Vietnamese and English."""
    rules = (await api.client.get("/api/livestream-rules")).json()
    assert rules["version"] and len(rules["vi"]) == len(rules["en"]) >= 5


async def test_a_complaint_reaches_the_staff_inbox_and_is_resolved(api: Api) -> None:
    """A buyer's complaint is listed for moderators, resolved with a note, and audited."""
    sid = await new_session(api)
    body = {
        "session_id": sid,
        "name": "Chị Hoa",
        "phone": "0912345678",
        "text": "Hàng giao thiếu 1 kg",
    }
    filed = await api.client.post("/api/complaints", json=body)
    assert filed.status_code == 201 and filed.json()["status"] == "open"
    cid = filed.json()["id"]
    inbox = await api.client.get("/api/complaints?status=open", headers=api.auth("moderator"))
    assert [c["id"] for c in inbox.json()] == [cid]
    assert inbox.json()[0]["text"] == "Hàng giao thiếu 1 kg"
    done = await api.client.post(
        f"/api/complaints/{cid}/resolve",
        json={"resolution": "Đã gửi bù 1 kg"},
        headers=api.auth("admin"),
    )
    assert done.status_code == 200 and done.json()["status"] == "resolved"
    assert (
        await api.client.get("/api/complaints?status=open", headers=api.auth("admin"))
    ).json() == []
    assert (
        await api.client.post(
            "/api/complaints/999/resolve", json={"resolution": "x"}, headers=api.auth("admin")
        )
    ).status_code == 404


async def test_the_inbox_is_for_staff_and_complaints_are_checked(api: Api) -> None:
    """Hosts and coop users cannot read the inbox; bad phones and unknown sessions are refused."""
    assert (await api.client.get("/api/complaints", headers=api.auth("coop"))).status_code == 403
    assert (await api.client.get("/api/complaints")).status_code == 401
    base = {"name": "A", "phone": "0912345678", "text": "x"}
    assert (
        await api.client.post("/api/complaints", json={**base, "phone": "12345"})
    ).status_code == 422
    unknown = await api.client.post("/api/complaints", json={**base, "session_id": 999})
    assert unknown.status_code == 404


async def test_complaints_are_limited_per_address(api: Api) -> None:
    """A script filing complaints from one address is refused after a handful."""
    base = {"name": "A", "phone": "0912345678", "text": "spam"}
    codes = [(await api.client.post("/api/complaints", json=base)).status_code for _ in range(6)]
    assert codes == [201] * 5 + [429]

"""The demo: a live sale with its lot attached, a streamer and a moderator; and its reset."""

from __future__ import annotations

import pytest

from server.demo import ensure_demo, reset_demo
from shop.errors import NotFound
from tests.conftest import Api


async def test_demo_is_ready_to_run_and_resets(api: Api) -> None:
    """The demo session is live with its moderator; reset refuses a non-demo database,
    then empties a demo one and builds the demo again (nothing left of the old orders)."""
    services = api.app.state.services
    with pytest.raises(NotFound):
        await reset_demo(services)  # the fixture's database holds no demo
    demo = await ensure_demo(services)
    again = await ensure_demo(services)
    assert again.session_id == demo.session_id  # idempotent
    session = await services.catalogue.get_session(demo.session_id)
    assert session.is_live and demo.lot_id in session.attached_lot_ids
    mod = await services.accounts.credentials("mod@farmlive.local")
    assert mod is not None and mod[0].id in session.moderator_ids
    public = (await api.client.get(f"/api/sessions/{demo.session_id}")).json()
    assert public["streamer"]["position"] == "Phó Chủ tịch UBND tỉnh"
    fresh = await reset_demo(services)
    assert [c.name for c in await services.catalogue.list_cooperatives()] == [
        "HTX Vải thiều Lục Ngạn"
    ]
    assert (await services.catalogue.get_session(fresh.session_id)).is_live

"""Schemathesis against the app's own OpenAPI document, in process: no 5xx, declared shapes.

Every operation gets bounded generated requests (positive and negative), signed in as an
admin so staff endpoints run past the auth check, on a SQLite database seeded with a live
session, so that id 1 of each kind exists. Left out, because they do not fit:
- WHIP/WHEP (`/whip`, `/whep`): bodies are SDP, which the OpenAPI document cannot
  describe; fuzzing them would only exercise the 415 check (tests/server/test_media*).
- the Stripe webhook: every generated body fails the signature check (400) or Stripe is
  off (404); tests/server/test_stripe_webhook.py covers it with signed events.
- the live WebSocket: not an HTTP operation (tests/server/test_live_ws.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from server.app import create_app
from server.auth import hash_password
from server.services import open_services
from server.settings import Settings
from shop.accounts import Role
from shop.adapters.sql.catalogue import NewLot, NewOffer
from shop.catalogue import SessionStatus

pytestmark = pytest.mark.slow

SECRET = "fuzz-secret-key-which-is-long-enough"


async def seed(settings: Settings) -> str:
    """An admin, a cooperative with a lot, a live session with an offer; the admin's token."""
    async with open_services(settings) as svc:
        admin = await svc.accounts.add("admin@fuzz.vn", hash_password("password-123"), Role.ADMIN)
        coop = await svc.catalogue.create_cooperative(
            None,
            name="HTX Fuzz",
            province="Bắc Ninh",
            bank_bin="970436",
            bank_account="0011001234567",
            bank_account_name="HTX FUZZ",
        )
        lot = await svc.catalogue.create_lot(
            None, NewLot(cooperative_id=coop.id, product="Vải thiều", stock_grams=10_000_000)
        )
        session = await svc.catalogue.create_session(None, title="Fuzz", host_id=admin.id)
        await svc.session_staff.attach_lot(None, session.id, lot.id)
        await svc.catalogue.create_offer(
            None,
            session.id,
            NewOffer(lot_id=lot.id, title="Vải 2kg", pack_grams=2000, price=100_000),
        )
        await svc.catalogue.set_session_status(None, session.id, SessionStatus.LIVE)
        token: str = svc.tokens.issue(admin)
    return token


@pytest.fixture(scope="module")
def app_and_token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    path: Path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{path}",
        secret_key=SECRET,
        rate_limits=False,  # every generated request comes from one address
        _env_file=None,  # type: ignore[call-arg]
    )
    token = asyncio.run(seed(settings))
    yield create_app(settings), token


def openapi_document() -> dict[str, Any]:
    """The app's OpenAPI document; building it needs no database and starts nothing."""
    doc: dict[str, Any] = create_app(Settings(_env_file=None)).openapi()  # type: ignore[call-arg]
    return doc


# Loaded from the document rather than through the app (`from_asgi`): the requests go to
# the seeded app of the fixture below (`app=`), whose lifespan schemathesis starts.
schema = (
    schemathesis.openapi.from_dict(openapi_document())
    .exclude(path_regex=r"^/(whip|whep)/")
    .exclude(path="/api/payments/stripe/webhook")
)


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_never_fails_on_its_side(case: Any, app_and_token: tuple[Any, str]) -> None:
    """Generated requests never get a 5xx, and answers match their declared schema."""
    app, token = app_and_token
    case.call_and_validate(
        app=app,
        headers={"Authorization": f"Bearer {token}"},
        checks=[not_a_server_error, response_schema_conformance],
    )

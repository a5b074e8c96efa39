"""The Carrier port's contract, run against GHN and GHTK adapters on their in-process fakes."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from shop.adapters.ghn_carrier import GhnCarrier
from shop.adapters.ghtk_carrier import GhtkCarrier
from shop.carriers.port import (
    Carrier,
    CarrierRefused,
    CarrierUnavailable,
    DeliveryState,
    Parcel,
)
from shop.payments.errors import InvalidWebhook
from tests.fakes.ghn_fake import FakeGhn
from tests.fakes.ghtk_fake import FakeGhtk

PARCEL = Parcel(
    order_id="0b7e6c1e-4a4f-5b1a-9a57-3f1d2c3b4a5e",
    order_code="K7M2Q9XA",
    to_name="Nguyễn Thị Hoa",
    to_phone="0912345678",
    to_street="Số 5 ngõ 12",
    to_ward="Phường Chũ",
    to_province="Bắc Ninh",
    weight_grams=10_500,
    cod_amount=500_000,
    declared_value=500_000,
    content="Vải thiều 10 kg",
)


@dataclass
class Rig:
    carrier: Carrier
    fake: Any
    create_path: str
    secret_header: dict[str, str]

    def stored(self) -> list[dict[str, Any]]:
        return list(self.fake.orders.values())

    def callback(self, tracking: str, state: str) -> bytes:
        if isinstance(self.fake, FakeGhn):
            return self.fake.callback(
                tracking, {"delivered": "delivered", "returned": "returned"}[state]
            )  # type: ignore[no-any-return]
        return self.fake.callback(tracking, {"delivered": 5, "returned": 21}[state])  # type: ignore[no-any-return]


@pytest.fixture(params=["ghn", "ghtk"])
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    if request.param == "ghn":
        fake: Any = FakeGhn()
        carrier: Carrier = GhnCarrier(
            token=fake.token, shop_id=fake.shop_id, webhook_secret="cb-secret",
            base_url="https://ghn.test/shiip/public-api", transport=fake.transport(),
        )  # fmt: skip
        r = Rig(carrier, fake, "/v2/shipping-order/create", {"x-farmlive-secret": "cb-secret"})
    else:
        fake = FakeGhtk()
        carrier = GhtkCarrier(
            token=fake.token, webhook_hash="cb-hash", base_url="https://ghtk.test",
            transport=fake.transport(), pick={"name": "HTX", "tel": "0988000111"},
        )  # fmt: skip
        r = Rig(carrier, fake, "/services/shipment/order", {"x-farmlive-hash": "cb-hash"})
    yield r
    await carrier.close()


async def test_create_sends_cod_and_weight(rig: Rig) -> None:
    """A waybill carries the order's COD amount in đồng and its weight from the order's grams."""
    waybill = await rig.carrier.create(PARCEL)
    [stored] = rig.stored()
    if isinstance(rig.fake, FakeGhn):
        assert (stored["cod_amount"], stored["weight"]) == (500_000, 10_500)
        assert stored["client_order_code"] == PARCEL.order_id
    else:
        assert (stored["pick_money"], stored["total_weight"]) == (500_000, 10.5)
        assert stored["id"] == PARCEL.order_id
    assert waybill.tracking and waybill.tracking_url


async def test_retry_after_lost_answer_finds_the_first_waybill(rig: Rig) -> None:
    """A create whose answer was lost, retried, returns the same waybill: never two for one order."""
    rig.fake.faults.fail(rig.create_path, "lost")
    with pytest.raises(CarrierUnavailable):
        await rig.carrier.create(PARCEL)
    again = await rig.carrier.create(PARCEL)
    assert len(rig.stored()) == 1
    assert again.tracking == rig.stored()[0].get("order_code", rig.stored()[0].get("label"))


async def test_provider_down_is_retryable(rig: Rig) -> None:
    """A 503 from the carrier is CarrierUnavailable (retry later), and nothing was created."""
    rig.fake.faults.fail(rig.create_path, "down")
    with pytest.raises(CarrierUnavailable) as info:
        await rig.carrier.create(PARCEL)
    assert info.value.retryable and rig.stored() == []


async def test_refused_waybill_is_not_retryable(rig: Rig) -> None:
    """A parcel the carrier rejects (no phone) is CarrierRefused, for staff to fix."""
    bad = dataclasses.replace(PARCEL, to_phone="")
    with pytest.raises(CarrierRefused):
        await rig.carrier.create(bad)


async def test_status_and_cancel(rig: Rig) -> None:
    """Status reads the carrier's state; cancel moves a fresh waybill to cancelled."""
    waybill = await rig.carrier.create(PARCEL)
    update = await rig.carrier.status(waybill.tracking)
    assert update.state is DeliveryState.CREATED and update.order_id == PARCEL.order_id
    await rig.carrier.cancel(waybill.tracking)
    assert (await rig.carrier.status(waybill.tracking)).state is DeliveryState.CANCELLED


async def test_webhook_verified_and_translated(rig: Rig) -> None:
    """A callback with the right secret reads as delivered/returned; a wrong secret is refused."""
    waybill = await rig.carrier.create(PARCEL)
    body = rig.callback(waybill.tracking, "delivered")
    update = rig.carrier.parse_webhook(
        body, {**rig.secret_header, "content-type": "application/json"}
    )
    assert update.state is DeliveryState.DELIVERED
    assert update.tracking == waybill.tracking and update.order_id == PARCEL.order_id
    assert update.event_id
    body = rig.callback(waybill.tracking, "returned")
    assert rig.carrier.parse_webhook(body, rig.secret_header).state is DeliveryState.RETURNED
    wrong = {k: "nope" for k in rig.secret_header}
    with pytest.raises(InvalidWebhook):
        rig.carrier.parse_webhook(body, wrong)
    with pytest.raises(InvalidWebhook):
        rig.carrier.parse_webhook(b"not json", rig.secret_header)

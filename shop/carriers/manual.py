"""ManualCarrier: shipping "by hand": any other carrier, the tracking number typed by staff."""

from __future__ import annotations

from shop.carriers.port import CarrierRefused, CarrierUpdate, DeliveryState, Parcel, Waybill
from shop.payments.errors import InvalidWebhook


class ManualCarrier:
    """Nothing to call: the waybill is whatever staff typed; status changes come from staff."""

    name = "manual"

    async def create(self, parcel: Parcel) -> Waybill:
        # Staff give the tracking number with the ship request; there is nothing to create.
        raise CarrierRefused("shipping by hand needs the tracking number typed in")

    async def status(self, tracking: str) -> CarrierUpdate:
        return CarrierUpdate(tracking=tracking, state=DeliveryState.UNKNOWN, raw_status="manual")

    async def cancel(self, tracking: str) -> None:
        return None

    def parse_webhook(self, body: bytes, headers: dict[str, str]) -> CarrierUpdate:
        raise InvalidWebhook("a carrier shipped by hand sends no callbacks")

    def tracking_url(self, tracking: str) -> str | None:
        return None

    async def close(self) -> None:
        return None

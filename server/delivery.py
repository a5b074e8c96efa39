"""After the sale, from settings: carriers, the buyer notifier, and the services on them.

GHN and GHTK are enabled when their tokens are set; shipping by hand always works.
Buyer messages go to the log unless `FARMLIVE_NOTIFIER` is `zalo` or `esms`.
`transports` (tests) replaces each provider's HTTP transport by name: ghn, ghtk, zalo, esms.
"""

from __future__ import annotations

import logging
from typing import Any

from server.settings import Settings
from shop.adapters.esms_sms import EsmsSms
from shop.adapters.ghn_carrier import GhnCarrier
from shop.adapters.ghtk_carrier import GhtkCarrier
from shop.adapters.zalo_zns import ZaloZns
from shop.carriers.port import Carrier
from shop.notify.log_notifier import LogNotifier
from shop.notify.port import Notifier

log = logging.getLogger("farmlive.delivery")


def _secret(value: Any) -> str:
    return "" if value is None else str(value.get_secret_value())


def build_carriers(settings: Settings, transports: dict[str, Any]) -> dict[str, Carrier]:
    carriers: dict[str, Carrier] = {}
    if settings.ghn_token is not None and settings.ghn_shop_id is not None:
        if settings.ghn_webhook_secret is None:
            log.warning("FARMLIVE_GHN_WEBHOOK_SECRET is not set: GHN callbacks are refused")
        carriers["ghn"] = GhnCarrier(
            token=_secret(settings.ghn_token),
            shop_id=settings.ghn_shop_id,
            webhook_secret=_secret(settings.ghn_webhook_secret),
            base_url=settings.ghn_api_base,
            transport=transports.get("ghn"),
        )
    if settings.ghtk_token is not None:
        if settings.ghtk_webhook_hash is None:
            log.warning("FARMLIVE_GHTK_WEBHOOK_HASH is not set: GHTK callbacks are refused")
        carriers["ghtk"] = GhtkCarrier(
            token=_secret(settings.ghtk_token),
            webhook_hash=_secret(settings.ghtk_webhook_hash),
            partner_code=settings.ghtk_partner_code,
            pick=settings.ghtk_pick,
            base_url=settings.ghtk_api_base,
            transport=transports.get("ghtk"),
        )
    return carriers


def build_notifier(settings: Settings, transports: dict[str, Any]) -> Notifier:
    if settings.notifier == "zalo" and settings.zalo_oa_access_token is not None:
        return ZaloZns(
            access_token=_secret(settings.zalo_oa_access_token),
            templates=settings.zalo_templates,
            url=settings.zalo_api_url,
            transport=transports.get("zalo"),
        )
    if settings.notifier == "esms" and settings.esms_api_key is not None:
        return EsmsSms(
            api_key=_secret(settings.esms_api_key),
            secret_key=_secret(settings.esms_secret_key),
            brandname=settings.esms_brandname,
            url=settings.esms_api_url,
            transport=transports.get("esms"),
        )
    if settings.notifier != "log":
        log.warning(
            "FARMLIVE_NOTIFIER=%s lacks its keys: messages go to the log", settings.notifier
        )
    return LogNotifier()

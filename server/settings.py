"""Settings from the environment (prefix FARMLIVE_) and `.env`, read only when asked."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _on_off(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in ("on", "off"):
        return value.strip().lower() == "on"
    return value


class Settings(BaseSettings):
    """Everything an operator can set; the defaults are the embedded single-laptop setup."""

    model_config = SettingsConfigDict(
        env_prefix="FARMLIVE_", env_file=".env", extra="ignore", validate_default=True
    )

    database_url: str = "sqlite+aiosqlite:///./farmlive.db"
    # Unset: in-process gate and hub (one process). Set: Redis carries gate, hub, counters.
    redis_url: str | None = None
    # Prefix of every Redis key farmlive writes (several deployments can share a Redis).
    redis_prefix: str = Field(default="fl", pattern=r"^[A-Za-z0-9_.:-]{1,32}$")
    # Unset: a random key per process, so tokens die with it; set it for real use
    # and for several instances (they must share it).
    secret_key: SecretStr | None = None
    public_url: str | None = None
    # JSON list of RTCIceServer dicts; empty = host candidates only (fine on a LAN/loopback).
    ice_servers: Annotated[list[dict[str, Any]], NoDecode] = Field(default_factory=list)
    # Where pages send WHIP/WHEP; unset = this server. Point at an external SFU or relay.
    media_url: str | None = None
    # This process's own WHIP/WHEP base URL as clients reach it (e.g. through the proxy's
    # path for it). With Redis, other instances redirect a session's WHIP/WHEP here (307).
    relay_url: str | None = None
    max_viewers: int = Field(default=300, ge=1)
    # HLS of H.264 publishers (and replays) under <hls_dir>/<session id>/; empty = off.
    hls_dir: str = "hls"
    # Unconnected WHEP answers one client address may hold at once (429 beyond).
    whep_per_address: int = Field(default=4, ge=1, le=1000)
    # TURN for WHIP/WHEP clients (server/ice_links.py): URLs, comma-separated, and
    # coturn's static-auth-secret; credentials are made per client, valid turn_ttl_seconds.
    turn_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    turn_secret: SecretStr | None = None
    turn_ttl_seconds: int = Field(default=6 * 3600, ge=60, le=7 * 24 * 3600)
    stripe_secret_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None
    stripe_api_base: str | None = None
    # SePay's bank-transaction webhook (POST /api/payments/sepay/webhook), API-key auth:
    # unset = the webhook answers 404 and staff confirm transfers by hand.
    sepay_api_key: SecretStr | None = None
    # Carriers (server/delivery.py). GHN: token + shop id; its callback URL is
    # {public}/api/carriers/ghn/webhook?secret=<ghn_webhook_secret>.
    ghn_token: SecretStr | None = None
    ghn_shop_id: int | None = None
    ghn_webhook_secret: SecretStr | None = None
    ghn_api_base: str = "https://online-gateway.ghn.vn/shiip/public-api"
    # GHTK: token; callback URL {public}/api/carriers/ghtk/webhook?hash=<ghtk_webhook_hash>.
    ghtk_token: SecretStr | None = None
    ghtk_webhook_hash: SecretStr | None = None
    ghtk_partner_code: str | None = None
    ghtk_api_base: str = "https://services.giaohangtietkiem.vn"
    # Where GHTK picks parcels up: JSON {"name", "address", "province", "ward", "tel"}.
    ghtk_pick: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    # Buyer messages: log (default: written to the log only), zalo (ZNS) or esms (SMS).
    notifier: Literal["log", "zalo", "esms"] = "log"
    zalo_oa_access_token: SecretStr | None = None
    # JSON {"received": "<template id>", "confirmed": ..., "shipped": ..., "delivered": ...,
    # "code": ...}: ZNS templates approved for this Official Account.
    zalo_templates: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    zalo_api_url: str = "https://business.openapi.zalo.me/message/template"
    esms_api_key: SecretStr | None = None
    esms_secret_key: SecretStr | None = None
    esms_brandname: str = "farmlive"
    esms_api_url: str = (
        "https://rest.esms.vn/MainService.svc/json/SendMultipleMessage_V4_post_json/"
    )
    # Cash on delivery is refused to a phone with this many refused deliveries (0 = never).
    prepay_after_refusals: int = Field(default=0, ge=0, le=100)
    hold_seconds: int = Field(default=900, ge=10, le=7 * 24 * 3600)
    # Holds farmed with made-up phones (shop/hold_policy.py): every order spends grams from
    # a budget per client address and per device over this window; the first order in a
    # window always passes. Off together with FARMLIVE_RATE_LIMITS=off.
    hold_budget_address_grams: int = Field(default=100_000, ge=1000)
    hold_budget_device_grams: int = Field(default=30_000, ge=1000)
    hold_budget_window_s: int = Field(default=900, ge=10, le=24 * 3600)
    # New unpaid holds last this long while less than the ratio of a lot is available.
    short_hold_seconds: int = Field(default=180, ge=10, le=7 * 24 * 3600)
    nearly_sold_out_ratio: float = Field(default=0.1, ge=0, le=1)
    rate_limits: Annotated[bool, NoDecode] = True
    # Peers (IPs or CIDRs, comma-separated) whose X-Forwarded-For is believed; empty =
    # none, the TCP peer is the client. See server/client_ip.py.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # HTTP request bodies above this answer 413 (SDP offers and Stripe events are smaller).
    max_body_bytes: int = Field(default=1 << 20, ge=1024, le=64 << 20)
    # Product photos: where the re-encoded files go, and the largest upload accepted.
    photos_dir: Path = Path("farmlive-photos")
    photo_max_bytes: int = Field(default=8 << 20, ge=64 << 10, le=64 << 20)
    token_ttl_seconds: int = Field(default=12 * 3600, ge=60)
    # Browsers' Origin for the live WebSocket; empty = same host as the request only.
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Live room chat: words refused in chat and names (comma-separated, diacritics ignored).
    banned_words: Annotated[list[str], NoDecode] = Field(default_factory=list)
    chat_max_chars: int = Field(default=300, ge=1, le=2000)
    chat_max_bytes: int = Field(default=1200, ge=4, le=8000)
    # Per connection: a burst of chat_burst lines, then one every 1/chat_per_second seconds.
    chat_burst: int = Field(default=5, ge=1, le=1000)
    chat_per_second: float = Field(default=0.5, gt=0, le=100)
    # Any client frame beyond this rate (burst 2x) closes the socket (4029): flooding.
    live_frames_per_second: float = Field(default=10, gt=0, le=1000)
    # Client frames above this size close the socket (1009); clients only send short JSON.
    live_max_frame_bytes: int = Field(default=4096, ge=256, le=1 << 20)
    # A viewer with more than this many bytes waiting to be sent is dropped (4000).
    live_send_buffer_bytes: int = Field(default=256 * 1024, ge=1024, le=64 << 20)
    # Group commit: orders arriving within this window share one SQL transaction.
    group_commit_ms: float = Field(default=2.0, ge=0, le=100)
    group_commit_max: int = Field(default=200, ge=1, le=5000)
    log_level: str = "info"
    # The embedded HTTP server (server/http_limits.py): a request head (request line and
    # headers) larger than this is refused with 431, and one not complete within the
    # timeout (counted from the connection or the request's first byte) with 408.
    http_max_header_bytes: int = Field(default=64 * 1024, ge=4096, le=1 << 20)
    http_header_timeout_s: float = Field(default=10, gt=0, le=300)
    # Idle keep-alive connections are closed after this long.
    http_keep_alive_s: int = Field(default=5, ge=1, le=300)
    # Open connections (live sockets included) and in-flight requests past this answer
    # 503; size it above the viewers an instance should carry.
    http_max_connections: int = Field(default=10_000, ge=10, le=1_000_000)
    http_backlog: int = Field(default=2048, ge=16, le=65535)

    @field_validator("ice_servers", mode="before")
    @classmethod
    def _parse_ice(cls, value: Any) -> Any:
        if isinstance(value, str):
            return json.loads(value) if value.strip() else []
        return value

    @field_validator("ghtk_pick", "zalo_templates", mode="before")
    @classmethod
    def _parse_json_dict(cls, value: Any) -> Any:
        if isinstance(value, str):
            return json.loads(value) if value.strip() else {}
        return value

    @field_validator("rate_limits", mode="before")
    @classmethod
    def _parse_on_off(cls, value: Any) -> Any:
        return _on_off(value)

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _parse_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [o.strip().rstrip("/") for o in value.split(",") if o.strip()]
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _parse_proxies(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [p.strip() for p in value.split(",") if p.strip()]
        for network in value:
            ipaddress.ip_network(network, strict=False)  # ValueError -> a settings error
        return value

    @field_validator("turn_urls", mode="before")
    @classmethod
    def _parse_turn_urls(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [u.strip() for u in value.split(",") if u.strip()]
        for url in value:
            if url.split(":", 1)[0].lower() not in ("turn", "turns"):
                raise ValueError(f"not a TURN URL: {url!r}")
        return value

    @field_validator("banned_words", mode="before")
    @classmethod
    def _parse_words(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [w.strip() for w in value.split(",") if w.strip()]
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

"""The WebRTC relay: WHIP publishers in, WHEP viewers out, encoded frames passed through."""

from stream.errors import (
    BadOffer,
    NotFound,
    NotLive,
    RateLimited,
    RelayFull,
    StreamError,
    Unauthorized,
)
from stream.relay import Relay

__all__ = [
    "BadOffer",
    "NotFound",
    "NotLive",
    "RateLimited",
    "Relay",
    "RelayFull",
    "StreamError",
    "Unauthorized",
]

"""The WebRTC relay: WHIP publishers in, WHEP viewers out, encoded frames passed through."""

from stream.errors import BadOffer, NotFound, NotLive, RelayFull, StreamError, Unauthorized
from stream.relay import Relay

__all__ = [
    "BadOffer",
    "NotFound",
    "NotLive",
    "Relay",
    "RelayFull",
    "StreamError",
    "Unauthorized",
]

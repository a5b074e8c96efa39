"""Errors raised by the relay, each with a machine code and the HTTP status it means.

The relay knows nothing of HTTP; `status` is only a hint that lets the server map
every error in one place without a lookup table that could drift.
"""

from __future__ import annotations


class StreamError(Exception):
    """Root of every relay error."""

    code = "stream_error"
    status = 500
    default_message = "media relay error"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)

    @property
    def message(self) -> str:
        return str(self)


class NotLive(StreamError):
    """The session has no publisher, so there is nothing to watch yet."""

    code = "not_live"
    status = 404
    default_message = "this session is not live"


class Unauthorized(StreamError):
    """The publisher's stream key was missing or wrong."""

    code = "unauthorized"
    status = 401
    default_message = "a valid stream key is required"


class NotFound(StreamError):
    """No such publisher or viewer resource in this session."""

    code = "not_found"
    status = 404
    default_message = "no such media resource"


class BadOffer(StreamError):
    """The SDP offer cannot be parsed or asks for media the relay does not forward."""

    code = "bad_sdp"
    status = 400
    default_message = "the SDP offer cannot be accepted"


class RelayFull(StreamError):
    """The relay already serves as many viewers as it may; try again later."""

    code = "relay_full"
    status = 503
    default_message = "the relay is full"

    def __init__(self, message: str | None = None, *, retry_after: int = 10) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimited(StreamError):
    """This client address already holds as many unconnected answers as it may."""

    code = "rate_limited"
    status = 429
    default_message = "too many viewer connections from this address"

    def __init__(self, message: str | None = None, *, retry_after: int = 10) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PublisherActive(StreamError):
    """Another publisher holds the session; a new one must ask to take over."""

    code = "publisher_active"
    status = 409
    default_message = "another publisher is live in this session: add ?takeover=1 to replace it"

"""The relay's errors carry a machine code and an HTTP meaning."""

from __future__ import annotations

from stream.errors import BadOffer, NotFound, NotLive, RelayFull, StreamError, Unauthorized


def test_every_error_has_a_code_a_status_and_a_message() -> None:
    """Each error maps to one code and status, with a default message."""
    expected = {
        NotLive: ("not_live", 404),
        Unauthorized: ("unauthorized", 401),
        NotFound: ("not_found", 404),
        BadOffer: ("bad_sdp", 400),
        RelayFull: ("relay_full", 503),
    }
    for cls, (code, status) in expected.items():
        error = cls()
        assert isinstance(error, StreamError)
        assert (error.code, error.status) == (code, status)
        assert error.message


def test_relay_full_says_when_to_retry() -> None:
    """RelayFull carries the Retry-After seconds."""
    error = RelayFull("busy", retry_after=30)
    assert (error.retry_after, error.message) == (30, "busy")

"""Viewer identity without accounts: a random client id the browser keeps in localStorage."""

from __future__ import annotations

import re
import secrets

_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{16,40}$")


def new_client_id() -> str:
    """22 URL-safe characters (128 random bits)."""
    return secrets.token_urlsafe(16)


def valid_client_id(value: object) -> bool:
    return isinstance(value, str) and _CLIENT_ID.match(value) is not None


def client_key(client_id: str) -> str:
    """The restriction key for a client id (mute, ban)."""
    return f"c:{client_id}"


def ip_key(ip: str) -> str:
    """The restriction key for an IP address (ban only: many people can share one)."""
    return f"ip:{ip}"

"""Restream destinations of a session: where the host's stream is forwarded (RTMP/RTMPS).

A destination is a platform's ingest URL with the stream key in it (YouTube:
`rtmp://a.rtmp.youtube.com/live2/<key>`, Facebook: `rtmps://live-api-s.facebook.com:443/rtmp/<key>`).
The key lets anyone stream as the seller, so it is kept like the WHIP key: stored
server-side, never sent back whole and never logged. `mask_url` is the only form that
leaves the server: scheme, host, port and application path kept, the last path segment
(the key), any user info and any query string masked. A client that sends a masked URL
back (to keep a destination while changing `enabled`) keeps the stored one:
`merge_masked`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from shop.errors import InvalidInput

SCHEMES = ("rtmp", "rtmps")
MAX_DESTINATIONS = 5
MAX_URL_CHARS = 1024
MASK = "•"
_KEEP_TAIL = 4  # the key's last characters shown, so a host can tell two keys apart


@dataclass(frozen=True, slots=True)
class Destination:
    url: str
    enabled: bool


class RestreamStore(Protocol):
    """Each session's destinations, in the host's order."""

    async def destinations(self, session_id: int) -> list[Destination]: ...

    async def replace(
        self, actor_id: int | None, session_id: int, destinations: list[Destination]
    ) -> None: ...


def check_url(url: str) -> str:
    """The URL if it is an RTMP(S) ingest URL with an application and a key, else InvalidInput."""
    text = url.strip()
    if not text:
        raise InvalidInput("the destination URL is empty")
    if len(text) > MAX_URL_CHARS:
        raise InvalidInput(f"the destination URL is longer than {MAX_URL_CHARS} characters")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text):
        raise InvalidInput("the destination URL contains spaces or control characters")
    if MASK in text:
        raise InvalidInput("the destination URL is masked; paste the full URL with its key")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise InvalidInput("the destination URL is not a valid URL") from None
    if parts.scheme.lower() not in SCHEMES:
        raise InvalidInput("only rtmp:// or rtmps:// destination URLs are accepted")
    if not parts.hostname:
        raise InvalidInput("the destination URL has no host")
    if port == 0:
        raise InvalidInput("the destination URL has port 0")
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) < 2:
        raise InvalidInput(
            "the destination URL needs the application and the stream key: "
            "rtmp://host/app/STREAM_KEY"
        )
    return text


def _mask(secret: str) -> str:
    if len(secret) < 3 * _KEEP_TAIL:
        return MASK * 4
    return MASK * 4 + secret[-_KEEP_TAIL:]


def mask_url(url: str) -> str:
    """The URL with its stream key (the last path segment), user info and query masked."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return MASK * 4
    if ":" in host:
        host = f"[{host}]"
    head, _, key = parts.path.rpartition("/")
    userinfo = f"{MASK * 4}@" if "@" in parts.netloc else ""
    query = f"?{MASK * 4}" if parts.query else ""
    return f"{parts.scheme}://{userinfo}{host}{port}{head}/{_mask(key)}{query}"


def merge_masked(wanted: list[Destination], stored: list[Destination]) -> list[Destination]:
    """`wanted`, where a URL equal to a stored one's mask means that stored URL; then checked."""
    by_mask: dict[str, str] = {}
    for destination in stored:
        by_mask.setdefault(mask_url(destination.url), destination.url)
    if len(wanted) > MAX_DESTINATIONS:
        raise InvalidInput(f"at most {MAX_DESTINATIONS} restream destinations per session")
    merged: list[Destination] = []
    for destination in wanted:
        url = by_mask.get(destination.url.strip()) or check_url(destination.url)
        if any(m.url == url for m in merged):
            raise InvalidInput("the same destination URL is listed twice")
        merged.append(Destination(url, destination.enabled))
    return merged

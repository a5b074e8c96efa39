"""`Link: <url>; rel="ice-server"` headers (RFC 9725 section 4.6) for WHIP/WHEP clients.

WHIP/WHEP clients (OBS, players) learn their STUN/TURN servers only from these headers
on the 201. Two sources:

- `FARMLIVE_ICE_SERVERS`: the relay's own servers, static credentials included;
- `FARMLIVE_TURN_URLS` with `FARMLIVE_TURN_SECRET`: a TURN server (coturn with
  `use-auth-secret` and `static-auth-secret`) that checks credentials made per client in
  coturn's REST scheme: username `<expiry unix time>:<session id>`, credential
  base64(HMAC-SHA1(secret, username)). Nothing is stored; coturn recomputes the HMAC
  and refuses the username once its expiry is past.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Iterable
from typing import Any

DEFAULT_TURN_TTL_SECONDS = 6 * 3600


def turn_credentials(secret: str, name: str, *, ttl: int, now: float) -> tuple[str, str]:
    """coturn REST credentials valid for `ttl` seconds from `now`."""
    username = f"{int(now) + ttl}:{name}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def link(url: str, username: str | None = None, credential: str | None = None) -> str:
    value = f'<{url}>; rel="ice-server"'
    if username is not None and credential is not None:
        value += (
            f"; username={_quoted(username)}; credential={_quoted(credential)}"
            '; credential-type="password"'
        )
    return value


def _urls(server: dict[str, Any]) -> list[str]:
    urls = server["urls"]
    return [urls] if isinstance(urls, str) else list(urls)


class IceLinks:
    """The Link header values for one session's 201 answer."""

    def __init__(
        self,
        ice_servers: Iterable[dict[str, Any]] = (),
        *,
        turn_urls: Iterable[str] = (),
        turn_secret: str | None = None,
        ttl: int = DEFAULT_TURN_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._static = [
            link(url, server.get("username"), server.get("credential"))
            for server in ice_servers
            for url in _urls(server)
        ]
        self._turn_urls = list(turn_urls)
        if self._turn_urls and not turn_secret:
            raise ValueError("FARMLIVE_TURN_URLS needs FARMLIVE_TURN_SECRET")
        self._secret = turn_secret
        self._ttl = ttl
        self._clock = clock

    def for_session(self, session_id: str) -> list[str]:
        links = list(self._static)
        if self._turn_urls and self._secret:
            username, credential = turn_credentials(
                self._secret, session_id, ttl=self._ttl, now=self._clock()
            )
            links += [link(url, username, credential) for url in self._turn_urls]
        return links

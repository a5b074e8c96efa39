"""The socket FFmpeg opened for a connection, found afterwards so it can be shut down.

FFmpeg keeps its sockets to itself, and a write to a platform that stopped reading
blocks until TCP gives up (many minutes). Shutting the socket down from another
thread makes that write fail at once, which is the one way to stop such a
connection. The socket is found by listing this process's descriptors (Linux
`/proc/self/fd`) before and after FFmpeg connects and keeping the new one whose peer
is the platform. Elsewhere nothing is found and `shutdown()` does nothing.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator

_FDS = "/proc/self/fd"
# One connect at a time, so two connections to the same platform can't be mixed up.
_CONNECTING = threading.Lock()


def _socket_links() -> dict[int, str]:
    links: dict[int, str] = {}
    try:
        names = os.listdir(_FDS)
    except OSError:
        return links
    for name in names:
        with contextlib.suppress(OSError, ValueError):
            link = os.readlink(f"{_FDS}/{name}")
            if link.startswith("socket:"):
                links[int(name)] = link
    return links


def _peer_of(fd: int) -> tuple[str, int] | None:
    try:
        probe = socket.socket(fileno=os.dup(fd))
    except OSError:
        return None
    try:
        peer = probe.getpeername()
    except OSError:
        return None
    finally:
        probe.close()  # closes the duplicate only
    return (str(peer[0]), int(peer[1])) if isinstance(peer, tuple) else None


class ConnectionFinder:
    """The descriptor of one connection, remembered with its inode so reuse is noticed."""

    def __init__(self) -> None:
        self._fd: int | None = None
        self._link = ""

    @contextlib.contextmanager
    def watch(self, peer: tuple[str, int]) -> Iterator[None]:
        """Around the call that connects to `peer`: remember the socket it opened."""
        host, port = peer
        with _CONNECTING:
            before = _socket_links()
            try:
                yield
            finally:
                addresses = _addresses(host, port)
                for fd, link in _socket_links().items():
                    if before.get(fd) == link:
                        continue
                    found = _peer_of(fd)
                    if found is not None and found[1] == port and found[0] in addresses:
                        self._fd, self._link = fd, link
                        break

    def shutdown(self) -> None:
        """Shut the connection down (both ways) if it is still the same socket."""
        fd, link = self._fd, self._link
        if fd is None:
            return
        with contextlib.suppress(OSError):
            if os.readlink(f"{_FDS}/{fd}") != link:
                return
            duplicate = socket.socket(fileno=os.dup(fd))
            try:
                duplicate.shutdown(socket.SHUT_RDWR)
            finally:
                duplicate.close()

    def forget(self) -> None:
        self._fd, self._link = None, ""


def _addresses(host: str, port: int) -> set[str]:
    try:
        return {str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)}
    except OSError:
        return {host}

"""A TCP proxy, in a process of its own, that stops reading from a client after `limit` bytes.

It plays an RTMP platform that accepted the stream and then stopped taking data: the
handshake and the first frames pass, later writes fill the socket and block. A
process of its own, because FFmpeg holds the GIL while it connects and a proxy thread
in the test's process could not answer the handshake meanwhile.

    python -m tests.stream.choking_proxy UPSTREAM_PORT LIMIT_BYTES   # prints its port
"""

from __future__ import annotations

import socket
import sys
import threading


def pipe(source: socket.socket, sink: socket.socket, limit: int | None) -> None:
    passed = 0
    try:
        while limit is None or passed < limit:
            data = source.recv(4096)
            if not data:
                return
            sink.sendall(data)
            passed += len(data)
    except OSError:
        return
    threading.Event().wait()  # choked: the connection stays open, nothing more is read


def main(upstream: int, limit: int) -> None:
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    print(listener.getsockname()[1], flush=True)
    while True:
        client, _ = listener.accept()
        server = socket.create_connection(("127.0.0.1", upstream))
        threading.Thread(target=pipe, args=(client, server, limit), daemon=True).start()
        threading.Thread(target=pipe, args=(server, client, None), daemon=True).start()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))

"""A real RTMP server on loopback for restream tests and benches: Debian's nginx-rtmp.

Started with its own configuration in a temporary directory (`daemon off`, pid file and
logs there, a free port), stopped by its pid. `rtmp://127.0.0.1:{port}/app/{key}` is
accepted for any key; ffprobe can read a stream back from the same URL while it is
published.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

NGINX = "/usr/sbin/nginx"
MODULE = "/usr/lib/nginx/modules/ngx_rtmp_module.so"

_CONFIG = """
load_module {module};
daemon off;
master_process off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 64; }}
rtmp {{
    server {{
        listen 127.0.0.1:{port};
        chunk_size 4096;
        application app {{
            live on;
            record off;
            allow play 127.0.0.1;
            deny play all;
        }}
    }}
}}
"""


def rtmp_available() -> str | None:
    """Why nginx-rtmp cannot run here, or None when it can."""
    if not Path(NGINX).exists():
        return f"{NGINX} is missing (apt-get install nginx libnginx-mod-rtmp)"
    if not Path(MODULE).exists():
        return f"{MODULE} is missing (apt-get install libnginx-mod-rtmp)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def closed_port() -> int:
    """A loopback port nobody listens on: connecting to it is refused."""
    return free_port()


@dataclass
class RtmpServer:
    port: int
    root: Path
    process: subprocess.Popen[bytes]

    def url(self, key: str, app: str = "app") -> str:
        return f"rtmp://127.0.0.1:{self.port}/{app}/{key}"

    def log(self) -> str:
        path = self.root / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""


@contextmanager
def rtmp_server(root: Path) -> Iterator[RtmpServer]:
    """nginx-rtmp listening on a free loopback port until the block ends."""
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = root / "nginx.conf"
    config.write_text(_CONFIG.format(module=MODULE, root=root, port=port))
    process = subprocess.Popen(
        [NGINX, "-c", str(config), "-p", str(root), "-e", str(root / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            if process.poll() is not None:
                stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
                raise RuntimeError(f"nginx-rtmp exited at once: {stderr}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("nginx-rtmp did not listen within 10 s") from None
                time.sleep(0.05)
        yield RtmpServer(port, root, process)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        if process.stderr is not None:
            process.stderr.close()


def ffprobe_path() -> str | None:
    return shutil.which("ffprobe")

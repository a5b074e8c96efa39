"""Request ids and structured (JSON) logs.

Every HTTP request gets an id (the caller's `X-Request-ID` if it is a short token, else a
new one), echoed in the response and attached to every log line written while it runs.
One access line per request records method, route path, status and duration: never the
query string (buyers' order tokens travel there), bodies, or client addresses. Other
loggers (uvicorn's WebSocket lines print the whole URL) go through `redact`: any
`token=`-like query parameter is replaced before a line is written.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_ACCEPTABLE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# A secret-looking query parameter, as in "...?token=eyJ..." or "&access_token=...".
_SECRET_PARAM = re.compile(
    r"(?i)([?&;](?:[a-z_]*token|jwt|key|stream_key|secret|password|code|phone)=)[^&#\s\"'<>]*"
)


def redact(text: str) -> str:
    """`text` with the value of every secret-looking query parameter replaced."""
    return _SECRET_PARAM.sub(r"\1[redacted]", text) if "=" in text else text


access_log = logging.getLogger("farmlive.access")


class RequestIds:
    """Pure ASGI middleware: assigns the id, logs the access line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if _ACCEPTABLE_ID.match(incoming) else uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            access_log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"][:200],
                    "status": status,
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                    "request_id": rid,
                },
            )
            request_id.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the current request id."""

    _FIELDS = ("method", "path", "status", "ms")

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact(record.getMessage()),
            # Formatted at emit time, inside the request: the context var is current.
            "request_id": getattr(record, "request_id", None) or request_id.get(),
        }
        for name in self._FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's `log_config`: every logger (ours and uvicorn's) writes JSON lines."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"level": level.upper()},
            "uvicorn.access": {"level": "WARNING"},
            # One line per request is noise at a 1,000-order rush unless asked for.
            "farmlive.access": {"level": "INFO" if level.lower() == "debug" else "WARNING"},
            # Database drivers trace every query's parameters at DEBUG: stream keys,
            # password hashes. Never below INFO, whatever the level asked for.
            "aiosqlite": {"level": "INFO"},
            "asyncpg": {"level": "INFO"},
        },
    }

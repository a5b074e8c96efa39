"""The one place that turns errors into HTTP statuses and the contract's error JSON."""

from __future__ import annotations

import logging
import math

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from shop import errors as shop_errors
from shop.payments.errors import PaymentUnavailable

log = logging.getLogger("farmlive.errors")

_STATUS: list[tuple[type[shop_errors.ShopError], int]] = [
    (shop_errors.HoldLimitReached, 429),
    (shop_errors.GateUnavailable, 503),
    (PaymentUnavailable, 503),
    (shop_errors.IdempotencyMismatch, 422),
    (shop_errors.InvalidInput, 422),
    (shop_errors.NotFound, 404),
    (shop_errors.Forbidden, 403),
    (shop_errors.Conflict, 409),
]


class Unauthenticated(Exception):
    """No valid bearer token."""

    def __init__(self, message: str = "sign in first (Authorization: Bearer <token>)") -> None:
        super().__init__(message)
        self.message = message


class TooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"request body larger than {limit} bytes")
        self.message = str(self)


class RateLimited(Exception):
    """Too many requests from one client (an IP) or against one account."""

    def __init__(self, retry_after: float, message: str = "too many requests; slow down") -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = max(1, math.ceil(retry_after))


# The database could not be reached or dropped the connection: by class, never by message.
# SQLAlchemy wraps driver errors (OperationalError, InterfaceError; `connection_invalidated`
# on a disconnect it noticed); a failed connect can surface as the driver's own or as the
# socket's error.
_OUTAGES: tuple[type[BaseException], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,  # the pool had no connection to give within pool_timeout
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,  # the server is starting up or shutting down
    ConnectionError,  # refused, reset, aborted
)
DB_RETRY_AFTER_S = 2


def database_outage(exc: BaseException | None) -> bool:
    """Whether `exc` (or what caused it) says the database is unreachable right now."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, _OUTAGES):
            return True
        if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def unavailable_response() -> JSONResponse:
    return error_response(
        503,
        "unavailable",
        "the database is unreachable for a moment; try again shortly",
        {"Retry-After": str(DB_RETRY_AFTER_S)},
        retryable=True,
        retry_after=DB_RETRY_AFTER_S,
    )


def error_body(code: str, message: str, **extra: object) -> dict[str, object]:
    error: dict[str, object] = {"code": code, "message": message}
    error.update(extra)
    return {"error": error}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: object
) -> JSONResponse:
    return JSONResponse(error_body(code, message, **extra), status_code=status, headers=headers)


def status_for(exc: shop_errors.ShopError) -> int:
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 400


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
    503: "unavailable",
}


def install(app: FastAPI) -> None:
    @app.exception_handler(shop_errors.ShopError)
    async def _shop(_: Request, exc: shop_errors.ShopError) -> JSONResponse:
        if exc.retryable and database_outage(exc.__cause__):
            return unavailable_response()
        status = status_for(exc)
        headers = {"Retry-After": "1"} if exc.retryable else None
        if "retry_after" in exc.details:
            headers = {"Retry-After": str(exc.details["retry_after"])}
        extra: dict[str, object] = {"retryable": True} if exc.retryable else {}
        if "retry_after" in exc.details:
            extra["retry_after"] = exc.details["retry_after"]
        return error_response(status, exc.code, exc.message, headers, **extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(tuple(e.get("loc", ()))[:1] == ("path",) for e in errors):
            # An id that cannot exist ("abc", 0, 2**31) names nothing: 404 like any other.
            return error_response(404, "not_found", "no such resource")
        fields = []
        for err in exc.errors()[:20]:
            loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            fields.append({"field": loc, "message": str(err.get("msg", ""))[:200]})
        first = fields[0] if fields else {"field": "", "message": "invalid request"}
        message = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
        return error_response(422, "invalid_input", message, fields=fields)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code
        return error_response(exc.status_code, code, message, dict(exc.headers or {}))

    @app.exception_handler(Unauthenticated)
    async def _unauth(_: Request, exc: Unauthenticated) -> JSONResponse:
        return error_response(401, "unauthenticated", exc.message, {"WWW-Authenticate": "Bearer"})

    @app.exception_handler(TooLarge)
    async def _too_large(_: Request, exc: TooLarge) -> JSONResponse:
        return error_response(413, "payload_too_large", exc.message)

    @app.exception_handler(RateLimited)
    async def _rate_limited(_: Request, exc: RateLimited) -> JSONResponse:
        return error_response(
            429,
            "rate_limited",
            exc.message,
            {"Retry-After": str(exc.retry_after)},
            retry_after=exc.retry_after,
        )

    async def _database(request: Request, exc: Exception) -> JSONResponse:
        # Registered per class so the answer is a plain 503, not a crash re-raised to the
        # server (which would print a traceback per request while the database is away).
        if database_outage(exc):
            log.warning("database unreachable on %s %s: %r", request.method, request.url.path, exc)
            return unavailable_response()
        log.exception("unhandled database error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "something went wrong on our side")

    for cls in (*_OUTAGES, sa_exc.DBAPIError):
        app.add_exception_handler(cls, _database)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        if database_outage(exc):
            log.warning("database unreachable on %s %s: %r", request.method, request.url.path, exc)
            return unavailable_response()
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "something went wrong on our side")

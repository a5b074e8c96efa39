"""The one place that turns errors into HTTP statuses and the contract's error JSON."""

from __future__ import annotations

import logging
import math

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shop import errors as shop_errors
from shop.payments.errors import PaymentUnavailable

log = logging.getLogger("farmlive.errors")

_STATUS: list[tuple[type[shop_errors.ShopError], int]] = [
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
        status = status_for(exc)
        headers = {"Retry-After": "1"} if exc.retryable else None
        extra: dict[str, object] = {"retryable": True} if exc.retryable else {}
        return error_response(status, exc.code, exc.message, headers, **extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
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

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "something went wrong on our side")

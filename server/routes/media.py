"""WHIP ingest and WHEP egress (RFC 9725 and the WHEP draft) in front of `stream.Relay`.

- `POST /whip/{sid}`: `Content-Type: application/sdp`, `Authorization: Bearer <stream
  key>` -> `201` with the SDP answer and `Location: /whip/{sid}/{resource}`.
  `DELETE` that location (same bearer) ends the broadcast.
- `POST /whep/{sid}` (no key: sessions are public) -> `201` answer + `Location`;
  `DELETE` ends viewing. Resource ids are 96 random bits, so knowing one is the
  permission to delete it.
- A second publisher while one is live answers `409 publisher_active` unless it asks
  `POST /whip/{sid}?takeover=1`; it replaces the first only once its media flows.
- `PATCH` on a resource answers `405`: the relay gathers all its candidates before it
  answers and takes none trickled (RFC 9725 section 4.3.1 lets a server refuse).
- Errors are the contract's JSON. A session that exists but has no publisher answers
  `404 not_live` to viewers; a full relay answers `503 relay_full` with `Retry-After`,
  and an address with too many unconnected answers `429 rate_limited`.
- Any instance answers: one whose relay doesn't hold the session (`server.relay_registry`,
  through Redis) answers `307` to the one that does, for POST and DELETE alike.
- The 201 carries one `Link: <url>; rel="ice-server"` per STUN/TURN server the client
  may use (`server.ice_links`), TURN credentials made for the session.
- CORS (`server.cors`): every answer, errors included, carries
  `Access-Control-Allow-Origin` for an allowed origin; `OPTIONS` answers preflights on
  the endpoints and on resources.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from server.cors import Cors
from server.ice_links import IceLinks
from server.relay_registry import RelayRegistry
from stream import NotFound, RateLimited, Relay, RelayFull, StreamError, Unauthorized

MAX_SDP_BYTES = 64 * 1024
SDP_MEDIA_TYPE = "application/sdp"

AuthorizePublisher = Callable[[str, str | None], Awaitable[bool]]
SessionExists = Callable[[str], Awaitable[bool]]


class _RequestError(Exception):
    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def _error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


def _stream_error(exc: StreamError) -> JSONResponse:
    headers = None
    if isinstance(exc, (RelayFull, RateLimited)):
        headers = {"Retry-After": str(exc.retry_after)}
    elif isinstance(exc, Unauthorized):
        headers = {"WWW-Authenticate": "Bearer"}
    return _error(exc.status, exc.code, exc.message, headers)


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _require_sdp(request: Request) -> None:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != SDP_MEDIA_TYPE:
        raise _RequestError(
            415,
            "unsupported_media_type",
            f"send the SDP offer as {SDP_MEDIA_TYPE}",
            {"Accept-Post": SDP_MEDIA_TYPE},
        )


async def _read_sdp(request: Request) -> str:
    too_large = _RequestError(
        413, "payload_too_large", f"an SDP offer is at most {MAX_SDP_BYTES} bytes"
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_SDP_BYTES:
        raise too_large
    body = bytearray()
    # Read in chunks so a lying or absent Content-Length can't make us buffer more.
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_SDP_BYTES:
            raise too_large
    try:
        offer = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _RequestError(400, "bad_sdp", "the SDP offer is not UTF-8") from exc
    if not offer.strip():
        raise _RequestError(400, "bad_sdp", "the SDP offer is empty")
    return offer


def _sdp_answer(answer: str, location: str, links: list[str]) -> Response:
    response = Response(
        content=answer,
        status_code=201,
        media_type=SDP_MEDIA_TYPE,
        headers={"Location": location},
    )
    for value in links:
        # One header per server (RFC 9725 section 4.6), as clients parse them.
        response.headers.append("Link", value)
    return response


def _redirect(url: str) -> Response:
    # 307 keeps the method and the body (RFC 9725 section 4.5).
    return Response(status_code=307, headers={"Location": url})


def _no_trickle() -> JSONResponse:
    return _error(
        405,
        "method_not_allowed",
        "trickle ICE is not supported: send all candidates in the offer",
        {"Allow": "DELETE"},
    )


def media_router(
    get_relay: Callable[[], Relay],
    authorize_publisher: AuthorizePublisher,
    session_exists: SessionExists,
    *,
    cors: Cors | None = None,
    ice_links: IceLinks | None = None,
    client_address: Callable[[Request], str] | None = None,
    registry: Callable[[], RelayRegistry | None] | None = None,
) -> APIRouter:
    """The WHIP/WHEP routes; `authorize_publisher(sid, token)` checks a stream key."""
    router = APIRouter(tags=["media"])
    cors = cors or Cors(())
    links = ice_links or IceLinks()

    def address_of(request: Request) -> str:
        if client_address is not None:
            return client_address(request)
        return request.client.host if request.client else ""

    async def existing_session(session_id: str) -> None:
        if not await session_exists(session_id):
            raise NotFound("no such session")

    async def authorized(session_id: str, request: Request) -> None:
        if not await authorize_publisher(session_id, _bearer(request)):
            raise Unauthorized("a valid stream key is required (Authorization: Bearer <key>)")

    async def elsewhere(request: Request, session_id: str, *, claim: bool) -> str | None:
        """The URL to redirect to when another process holds the session's relay."""
        current = registry() if registry is not None else None
        if current is None:
            return None
        if claim:
            holder: str | None = await current.claim(session_id)
        else:
            holder = await current.owner(session_id)
        if holder is None or holder == current.self_url:
            return None
        query = f"?{request.url.query}" if request.url.query else ""
        return f"{holder}{request.url.path}{query}"

    def own_base() -> str:
        current = registry() if registry is not None else None
        return current.self_url if current is not None else ""

    def running_relay() -> Relay:
        relay = get_relay()
        if not relay.running:
            raise _RequestError(503, "unavailable", "the media relay is not running")
        return relay

    async def negotiate(request: Request, session_id: str, kind: str, publisher: bool) -> Response:
        try:
            _require_sdp(request)
            await existing_session(session_id)
            if publisher:
                await authorized(session_id, request)
            offer = await _read_sdp(request)
            relay = running_relay()
            target = await elsewhere(request, session_id, claim=publisher)
            if target is not None:
                return _redirect(target)
            if publisher:
                takeover = request.query_params.get("takeover", "") in ("1", "true")
                resource_id, answer = await relay.publish(session_id, offer, takeover=takeover)
            else:
                resource_id, answer = await relay.view(
                    session_id, offer, address=address_of(request)
                )
        except _RequestError as exc:
            return _error(exc.status, exc.code, exc.message, exc.headers)
        except StreamError as exc:
            return _stream_error(exc)
        # Absolute when this process has a URL of its own: clients redirected here must
        # come back here, whatever path prefix the proxy routes by.
        location = f"{own_base()}/{kind}/{session_id}/{resource_id}"
        return _sdp_answer(answer, location, links.for_session(session_id))

    async def end(request: Request, session_id: str, resource_id: str, publisher: bool) -> Response:
        try:
            if publisher:
                await authorized(session_id, request)
            relay = running_relay()
            target = await elsewhere(request, session_id, claim=False)
            if target is not None:
                return _redirect(target)
            await relay.delete(session_id, resource_id)
        except _RequestError as exc:
            return _error(exc.status, exc.code, exc.message, exc.headers)
        except StreamError as exc:
            return _stream_error(exc)
        return Response(status_code=200)

    @router.post("/whip/{session_id}")
    async def publish_stream(session_id: str, request: Request) -> Response:
        response = await negotiate(request, session_id, "whip", publisher=True)
        return cors.apply(request, response)

    @router.delete("/whip/{session_id}/{resource_id}")
    async def end_stream(session_id: str, resource_id: str, request: Request) -> Response:
        response = await end(request, session_id, resource_id, publisher=True)
        return cors.apply(request, response)

    @router.post("/whep/{session_id}")
    async def watch_stream(session_id: str, request: Request) -> Response:
        response = await negotiate(request, session_id, "whep", publisher=False)
        return cors.apply(request, response)

    @router.delete("/whep/{session_id}/{resource_id}")
    async def stop_watching(session_id: str, resource_id: str, request: Request) -> Response:
        response = await end(request, session_id, resource_id, publisher=False)
        return cors.apply(request, response)

    @router.patch("/whip/{session_id}/{resource_id}")
    @router.patch("/whep/{session_id}/{resource_id}")
    async def trickle(session_id: str, resource_id: str, request: Request) -> Response:
        return cors.apply(request, _no_trickle())

    @router.options("/whip/{session_id}")
    @router.options("/whep/{session_id}")
    async def media_options(session_id: str, request: Request) -> Response:
        response = Response(
            status_code=204, headers={"Accept-Post": SDP_MEDIA_TYPE, "Allow": "OPTIONS, POST"}
        )
        return cors.preflight(request, response)

    @router.options("/whip/{session_id}/{resource_id}")
    @router.options("/whep/{session_id}/{resource_id}")
    async def resource_options(session_id: str, resource_id: str, request: Request) -> Response:
        response = Response(status_code=204, headers={"Allow": "OPTIONS, DELETE, PATCH"})
        return cors.preflight(request, response)

    return router

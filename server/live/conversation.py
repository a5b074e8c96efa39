"""What a viewer says over the live socket: hello, auth (staff), chat.

A chat line goes through, in order: the hello check, text cleaning and banned words
(shop.live.chat), bans and mutes (the hub, so they hold on every instance), the
comment-to-order parser, the chat throttle (which always admits an order), then the
hub: stored, published to everyone, and for an order also a private `order.draft` to
the author and an `intent` for staff.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from server.errors import Unauthenticated
from server.live.fanout import Viewer
from server.live.snapshot import SessionFacts
from shop.accounts import User, require_session_moderation
from shop.chat_orders import Draft, parse_order_message
from shop.errors import Forbidden, InvalidInput, NotFound, ShopError
from shop.live import events
from shop.live.hub import Audience
from shop.live.identity import valid_client_id
from shop.live.records import ChatLine, Intent
from shop.live.restrictions import ban_keys, mute_keys

if TYPE_CHECKING:
    from server.live.room import LiveRoom

log = logging.getLogger("farmlive.live")

BANNED_CODE = 4003


class Closing(Exception):
    """The conversation is over: send an `error` event, then close with `code`."""

    def __init__(self, code: int, reason: str, error: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.error = error


# A staff token -> its account; raises Unauthenticated or NotFound (server.auth's signer
# and the accounts store, wired by the gateway).
SignIn = Callable[[str], Awaitable[User]]


class Conversation:
    def __init__(
        self,
        sign_in: SignIn,
        live: LiveRoom,
        session_id: int,
        viewer: Viewer,
        facts: SessionFacts,
        load_facts: Callable[[], Awaitable[SessionFacts]],
    ) -> None:
        self._sign_in = sign_in
        self.live = live
        self.session_id = session_id
        self.viewer = viewer
        self.facts = facts
        self._load_facts = load_facts

    def reply(self, event: events.Event) -> None:
        self.viewer.sink.send_text(events.encode(event))

    async def handle(self, message: Any) -> None:
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            self.reply(events.error("invalid_message", 'send JSON objects with a "type"'))
            return
        kind = message["type"]
        try:
            if kind == "chat":
                await self.chat(message)
            elif kind == "hello":
                await self.hello(message)
            elif kind == "auth":
                await self.auth(message.get("token"))
            elif kind == "ping":
                self.reply({"type": "pong"})
            else:
                self.reply(events.error("invalid_message", f"unknown message type {kind[:40]!r}"))
        except ShopError as exc:
            extra = {"field": exc.details["field"]} if "field" in exc.details else {}
            self.reply(events.error(exc.code, exc.message, **extra))

    async def hello(self, message: dict[str, Any]) -> None:
        name = self.live.rules.clean_name(message.get("name"))
        client_id = message.get("client_id")
        if client_id is not None:
            if not valid_client_id(client_id):
                raise InvalidInput("client_id is not one this server handed out", field="client_id")
            self.viewer.client_id = client_id
            self.viewer.identity.claim(client_id)  # the old ids still answer for this socket
        if await self._banned():
            raise Closing(BANNED_CODE, "banned from this live session", "banned")
        self.viewer.name = name
        self.reply(events.hello(self.viewer.client_id, name, self.viewer.role))

    async def auth(self, token: object) -> None:
        """Staff sign in on the socket with a first {"type": "auth", "token"} message."""
        if not isinstance(token, str) or not token:
            raise Closing(4001, "unauthenticated: a staff token is required", "unauthenticated")
        try:
            user = await self._sign_in(token)
        except (Unauthenticated, NotFound):
            raise Closing(4001, "the token is invalid or expired", "unauthenticated") from None
        if not user.active:
            raise Closing(4001, "this account is disabled", "unauthenticated")
        try:
            require_session_moderation(user, self.facts.session)
        except Forbidden:
            raise Closing(4003, "you do not moderate this live session", "forbidden") from None
        self.viewer.role = user.role.value
        self.viewer.user_id = user.id
        if self.viewer.name is None:
            self.viewer.name = user.display_name or user.role.value
        self.live.fanout.promote(self.session_id, self.viewer)
        self.reply(events.hello(self.viewer.client_id, self.viewer.name, self.viewer.role))

    async def _banned(self) -> bool:
        keys = ban_keys(self.viewer.identity)
        return await self.live.hub.restricted_until(self.session_id, "ban", keys) is not None

    async def chat(self, message: dict[str, Any]) -> None:
        viewer, live = self.viewer, self.live
        if viewer.name is None:
            self.reply(events.error("hello_first", 'send {"type": "hello", "name": ...} first'))
            return
        text = live.rules.clean_message(message.get("text"))
        if not viewer.staff:
            if await self._banned():
                raise Closing(BANNED_CODE, "banned from this live session", "banned")
            keys = mute_keys(viewer.identity)
            muted = await live.hub.restricted_until(self.session_id, "mute", keys)
            if muted is not None:
                self.reply(events.error("muted", "you are muted in this chat", until=int(muted)))
                return
        facts = await live.sessions.get(self.session_id, self._load_facts)
        if facts.session.banned_words and not viewer.staff:
            live.session_rules(facts.session.banned_words).clean_message(text)
        draft = self._parse(text, facts) if not viewer.staff else None
        now = time.monotonic()
        if not viewer.staff and not live.throttle.admit(
            viewer.chat_bucket, viewer.ip, is_order=draft is not None, now=now
        ):
            retry = round(viewer.chat_bucket.retry_after(now), 1)
            self.reply(events.error("rate_limited", "slow down a little", retry_after=retry))
            return
        line = await live.hub.add_chat(
            self.session_id,
            ChatLine(
                id="",
                name=viewer.name,
                text=live.rules.public_text(text),
                ts=int(time.time() * 1000),
                client_id=viewer.client_id,
                ip=viewer.ip,
                role=viewer.role,
                device=viewer.identity.device,
            ),
        )
        await live.service.publish(self.session_id, events.chat_line(line))
        if draft is not None:
            await self._drafted(draft, line, text)

    def _parse(self, text: str, facts: SessionFacts) -> Draft | None:
        if not facts.session.is_live or not facts.offers:
            return None
        try:
            return parse_order_message(
                text, facts.offers, pinned_offer_id=facts.session.pinned_offer_id
            )
        except Exception:  # a parser bug must not cost the viewer their chat line
            log.exception("comment-to-order parser failed")
            return None

    async def _drafted(self, draft: Draft, line: ChatLine, text: str) -> None:
        self.reply(
            events.order_draft(
                offer_id=draft.offer_id,
                quantity=draft.quantity,
                grams=draft.grams,
                total=draft.total,
                message_id=line.id,
            )
        )
        intent = await self.live.hub.add_intent(
            self.session_id,
            Intent(
                id="",
                message_id=line.id,
                name=line.name,
                client_id=line.client_id,
                text=text,
                offer_id=draft.offer_id,
                quantity=draft.quantity,
                grams=draft.grams,
                total=draft.total,
                ts=line.ts,
            ),
        )
        await self.live.service.publish(self.session_id, events.intent(intent), Audience.STAFF)

"""RedisHub: the live hub across instances, on Redis pub/sub, streams and plain keys.

Key layout for session S (prefix "fl"):
  fl:live:S:chat      stream, capped (XADD MAXLEN ~): the chat history
  fl:live:S:intents   stream, capped: parsed order intents for staff
  fl:live:S:seq       integer: the stock seq (starts at unix ms x 1000, see seq_floor)
  fl:live:S:slot:N    short-lived lock: at most one publisher of N per slot, all instances
  fl:live:S:viewers   hash: instance -> "count:expires_ms"
  fl:live:S:mute:K    unix time the restriction K ends (expires with it); likewise ban
  fl:live:S:stream    the relay's stream status
Channel `fl:live-ch:S:AUDIENCE` carries encoded events; every instance pattern-subscribes
to `fl:live-ch:*` with one connection and one listening task.

Pub/sub is at most once: an instance cut off from Redis misses what was published
meanwhile. Stock events repeat the whole figures, so the next one repairs the counter;
viewers that reconnect get a fresh snapshot.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from shop.live.hub import (
    CHAT_HISTORY,
    CHAT_KEEP,
    INTENTS_KEEP,
    STATE_TTL_S,
    Audience,
    Deliver,
    HubUnavailable,
    seq_floor,
)
from shop.live.records import ChatLine, Intent
from shop.tasks import TaskSet

log = logging.getLogger("farmlive.live")

_STREAM_ID = re.compile(r"^\d{1,20}-\d{1,20}$")

# Start the counter above every value a lost store may have handed out, then count.
_NEXT_SEQ = """
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SET', KEYS[1], ARGV[2]) end
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return value
"""
_CLAIM = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
local left = redis.call('PTTL', KEYS[1])
if left < 0 then return 1 end
return left
"""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisHub:
    def __init__(
        self,
        redis: Redis,
        *,
        key_prefix: str = "fl",
        instance_id: str = "",
        subscribe_timeout_s: float = 2.0,
    ) -> None:
        self._redis = redis
        self._prefix = key_prefix
        self.instance_id = instance_id or uuid.uuid4().hex[:12]
        self._subscribe_timeout = subscribe_timeout_s
        self._pattern = f"{key_prefix}:live-ch:*"
        self._next_seq = redis.register_script(_NEXT_SEQ)
        self._claim = redis.register_script(_CLAIM)
        self._deliver: Deliver | None = None
        self._tasks = TaskSet()
        self._subscribed = asyncio.Event()

    def _key(self, session_id: int, name: str) -> str:
        return f"{self._prefix}:live:{session_id}:{name}"

    # -- pub/sub --------------------------------------------------------------------
    async def start(self, deliver: Deliver) -> None:
        self._deliver = deliver
        if not self._tasks:
            self._tasks.spawn(self._listen(), name="live-hub-redis")
        try:
            await asyncio.wait_for(self._subscribed.wait(), self._subscribe_timeout)
        except TimeoutError:
            log.warning("live hub: Redis is not answering; delivery starts once it does")

    async def stop(self) -> None:
        await self._tasks.close(grace_s=0)  # the listener only waits on Redis
        self._subscribed.clear()

    async def _listen(self) -> None:
        backoff = 0.1
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.psubscribe(self._pattern)
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    kind = _text(message["type"])
                    if kind == "psubscribe":
                        self._subscribed.set()
                        backoff = 0.1
                    elif kind == "pmessage":
                        self._dispatch(_text(message["channel"]), _text(message["data"]))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._subscribed.clear()
                log.warning("live hub: Redis subscription lost (%s); resubscribing", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
            finally:
                with suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _dispatch(self, channel: str, payload: str) -> None:
        _, _, rest = channel.rpartition(":live-ch:")
        session, _, audience = rest.partition(":")
        try:
            session_id, target = int(session), Audience(audience)
        except ValueError:
            return
        if self._deliver is not None:
            try:
                self._deliver(session_id, target, payload)
            except Exception:
                log.exception("a live listener failed")

    async def publish(self, session_id: int, audience: Audience, payload: str) -> None:
        channel = f"{self._prefix}:live-ch:{session_id}:{audience.value}"
        async with self._translate():
            await self._redis.publish(channel, payload)

    @asynccontextmanager
    async def _translate(self) -> AsyncIterator[None]:
        try:
            yield
        except (RedisError, OSError) as exc:
            raise HubUnavailable("the live room store is not answering; retry shortly") from exc

    # -- chat and intents -----------------------------------------------------------
    async def add_chat(self, session_id: int, line: ChatLine) -> ChatLine:
        fields = {
            "name": line.name,
            "text": line.text,
            "ts": str(line.ts),
            "client": line.client_id,
            "ip": line.ip,
            "role": line.role or "",
        }
        key = self._key(session_id, "chat")
        async with self._translate():
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.xadd(key, fields, maxlen=CHAT_KEEP, approximate=True)  # type: ignore[arg-type]
                pipe.expire(key, STATE_TTL_S)
                stream_id, _ = await pipe.execute()
        return ChatLine(
            id=_text(stream_id),
            name=line.name,
            text=line.text,
            ts=line.ts,
            client_id=line.client_id,
            ip=line.ip,
            role=line.role,
        )

    @staticmethod
    def _line(stream_id: Any, fields: Any) -> ChatLine:
        data = {_text(k): _text(v) for k, v in fields.items()}
        return ChatLine(
            id=_text(stream_id),
            name=data.get("name", ""),
            text=data.get("text", ""),
            ts=int(data.get("ts") or 0),
            client_id=data.get("client", ""),
            ip=data.get("ip", ""),
            role=data.get("role") or None,
        )

    async def recent_chat(self, session_id: int, count: int = CHAT_HISTORY) -> list[ChatLine]:
        if count <= 0:
            return []
        async with self._translate():
            rows: Any = await self._redis.xrevrange(self._key(session_id, "chat"), count=count)
        return [self._line(stream_id, fields) for stream_id, fields in reversed(rows)]

    async def find_chat(self, session_id: int, message_id: str) -> ChatLine | None:
        if not _STREAM_ID.match(message_id):
            return None
        async with self._translate():
            rows: Any = await self._redis.xrange(
                self._key(session_id, "chat"), min=message_id, max=message_id, count=1
            )
        return self._line(*rows[0]) if rows else None

    async def delete_chat(self, session_id: int, message_id: str) -> bool:
        if not _STREAM_ID.match(message_id):
            return False
        async with self._translate():
            return bool(await self._redis.xdel(self._key(session_id, "chat"), message_id))

    async def add_intent(self, session_id: int, intent: Intent) -> Intent:
        key = self._key(session_id, "intents")
        data = json.dumps(
            {
                "message_id": intent.message_id,
                "name": intent.name,
                "client_id": intent.client_id,
                "text": intent.text,
                "offer_id": intent.offer_id,
                "quantity": intent.quantity,
                "grams": intent.grams,
                "total": intent.total,
                "ts": intent.ts,
            },
            ensure_ascii=False,
        )
        async with self._translate():
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.xadd(key, {"data": data}, maxlen=INTENTS_KEEP, approximate=True)
                pipe.expire(key, STATE_TTL_S)
                stream_id, _ = await pipe.execute()
        return Intent(**{**json.loads(data), "id": _text(stream_id)})

    async def recent_intents(self, session_id: int, count: int = 100) -> list[Intent]:
        if count <= 0:
            return []
        async with self._translate():
            rows: Any = await self._redis.xrevrange(self._key(session_id, "intents"), count=count)
        items = []
        for stream_id, fields in reversed(rows):
            data = json.loads(_text(fields.get(b"data", fields.get("data", "{}"))))
            items.append(Intent(**{**data, "id": _text(stream_id)}))
        return items

    # -- seq and slots --------------------------------------------------------------
    async def next_seq(self, session_id: int, count: int = 1) -> int:
        async with self._translate():
            value = await self._next_seq(
                keys=[self._key(session_id, "seq")], args=[count, seq_floor(), STATE_TTL_S]
            )
        return int(value)

    async def current_seq(self, session_id: int) -> int:
        return await self.next_seq(session_id, 0)

    async def claim_slot(self, session_id: int, name: str, seconds: float) -> float:
        millis = max(1, int(seconds * 1000))
        async with self._translate():
            left = await self._claim(
                keys=[self._key(session_id, f"slot:{name}")], args=[self.instance_id, millis]
            )
        return int(left) / 1000

    # -- moderation -----------------------------------------------------------------
    async def restrict(self, session_id: int, kind: str, key: str, seconds: float) -> float:
        until = time.time() + seconds
        async with self._translate():
            await self._redis.set(
                self._key(session_id, f"{kind}:{key}"), repr(until), px=max(1, int(seconds * 1000))
            )
        return until

    async def restricted_until(
        self, session_id: int, kind: str, keys: Sequence[str]
    ) -> float | None:
        if not keys:
            return None
        async with self._translate():
            values = await self._redis.mget([self._key(session_id, f"{kind}:{k}") for k in keys])
        now = time.time()
        ends = [float(_text(v)) for v in values if v is not None]
        live = [end for end in ends if end > now]
        return max(live) if live else None

    # -- viewers and stream status --------------------------------------------------
    async def report_viewers(self, counts: Mapping[int, int], ttl_s: float) -> None:
        if not counts:
            return
        expires = int((time.time() + ttl_s) * 1000)
        async with self._translate():
            async with self._redis.pipeline(transaction=False) as pipe:
                for session_id, count in counts.items():
                    key = self._key(session_id, "viewers")
                    if count > 0:
                        pipe.hset(key, self.instance_id, f"{count}:{expires}")
                        pipe.pexpire(key, int(ttl_s * 3000))
                    else:
                        pipe.hdel(key, self.instance_id)
                await pipe.execute()

    async def viewer_counts(self, session_ids: Sequence[int]) -> dict[int, int]:
        if not session_ids:
            return {}
        async with self._translate():
            async with self._redis.pipeline(transaction=False) as pipe:
                for session_id in session_ids:
                    pipe.hgetall(self._key(session_id, "viewers"))
                reports = await pipe.execute()
        now = int(time.time() * 1000)
        totals: dict[int, int] = {}
        for session_id, report in zip(session_ids, reports, strict=True):
            total = 0
            for value in report.values():
                count, _, expires = _text(value).partition(":")
                if int(expires or 0) > now:
                    total += int(count)
            totals[session_id] = total
        return totals

    async def set_stream_status(self, session_id: int, status: str) -> None:
        async with self._translate():
            await self._redis.set(self._key(session_id, "stream"), status, ex=STATE_TTL_S)

    async def stream_status(self, session_id: int) -> str | None:
        async with self._translate():
            value = await self._redis.get(self._key(session_id, "stream"))
        return None if value is None else _text(value)

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except (RedisError, OSError):
            return False

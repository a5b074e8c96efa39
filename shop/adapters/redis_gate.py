"""RedisGate: the inventory gate shared by every instance, one Lua script per operation.

Each operation is one EVALSHA on one lot's keys, so Redis runs it atomically and the
Python side only validates, sends and reads five integers back. All keys of a lot share
the hash tag ``{lot:<id>}``: a script only ever touches one slot, so Redis Cluster works.

Key layout for lot N (prefix "fl"):
    fl:{lot:N}:state  hash  stock, held, sold (grams); its absence means "not loaded"
    fl:{lot:N}:holds  hash  order id -> held grams
    fl:{lot:N}:sales  hash  order id -> sold grams
    fl:{lot:N}:owner  hash  order id -> buyer (held or sold), to give the cap back
    fl:{lot:N}:exp    zset  order id scored by expires_at (holds that expire)
    fl:{lot:N}:used   hash  buyer -> held + sold grams (the per-buyer cap)
    fl:epoch          string  set after a rebuild; gone means Redis lost its data

Redis must run with ``maxmemory-policy noeviction``: an evicted key of a lot would
silently corrupt it, whereas a refused write is just a retryable error.

Time comes from the caller (``now``), like MemoryGate, so both adapters expire holds
identically and tests control the clock; instances must keep their clocks in sync
(NTP), which is plenty for holds measured in minutes.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError, RedisError, ResponseError

from shop.errors import GateUnavailable, InvalidInput, LotNotLoaded, ShopError
from shop.gate import (
    MAX_LOT_ID,
    LotSeed,
    LotState,
    below_committed,
    check_id,
    check_int,
    check_reserve,
    check_seed,
    not_sold,
    order_mismatch,
    over_buyer_cap,
    resolve_now,
    sold_out,
)

KEY_NAMES = ("state", "holds", "sales", "owner", "exp", "used")

# Reply codes: every script answers {code, stock, held, sold, extra}.
OK, NOT_LOADED, SOLD_OUT, OVER_CAP, MISMATCH, NOT_SOLD, BELOW_COMMITTED = range(7)

# "#!lua" (Redis >= 7) makes Redis refuse a script up front when it is out of memory,
# instead of failing it halfway: scripts do not roll back. For the same reason every
# script validates all its arguments before its first write.
_PRELUDE = """#!lua
local K_STATE, K_HOLDS, K_SALES, K_OWNER, K_EXP, K_USED =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local OK, NOT_LOADED, SOLD_OUT, OVER_CAP, MISMATCH, NOT_SOLD, BELOW_COMMITTED = 0, 1, 2, 3, 4, 5, 6
local MAX_GRAMS = 1000000000000

local function bad(i)
  error({err = 'FLBADARG argument ' .. i .. ' is invalid'})
end

-- A decimal integer in low..MAX_GRAMS; no signs, exponents or fractions.
local function int_arg(i, low)
  local s = ARGV[i]
  if s == nil or #s > 13 or not string.find(s, '^%d+$') then bad(i) end
  local n = tonumber(s)
  if n < low or n > MAX_GRAMS then bad(i) end
  return n
end

-- Unix seconds, positive and finite; the raw string is what goes into the zset.
local function time_arg(i)
  local n = tonumber(ARGV[i])
  if n == nil or n ~= n or n <= 0 or n > 1e11 then bad(i) end
  return n
end

local function id_arg(i)
  local s = ARGV[i]
  if s == nil or #s == 0 or #s > 128 then bad(i) end
  return s
end

local function use(buyer, grams)
  if buyer and redis.call('HINCRBY', K_USED, buyer, grams) == 0 then
    redis.call('HDEL', K_USED, buyer)
  end
end

-- Lazy expiry: drop every hold whose expires_at <= now before looking at the lot.
local function purge(now)
  local gone = redis.call('ZRANGEBYSCORE', K_EXP, '-inf', now)
  if #gone == 0 then return end
  local total = 0
  for _, oid in ipairs(gone) do
    local g = tonumber(redis.call('HGET', K_HOLDS, oid))
    if g then
      total = total + g
      use(redis.call('HGET', K_OWNER, oid), -g)
      redis.call('HDEL', K_HOLDS, oid)
      redis.call('HDEL', K_OWNER, oid)
    end
  end
  redis.call('ZREMRANGEBYSCORE', K_EXP, '-inf', now)
  redis.call('HINCRBY', K_STATE, 'held', -total)
end

-- Purges, then returns stock, held, sold; nil when the lot is not loaded (checked
-- first, so that a flushed Redis never gets a half-made lot back).
local function open(now)
  if redis.call('EXISTS', K_STATE) == 0 then return nil end
  purge(now)
  local st = redis.call('HMGET', K_STATE, 'stock', 'held', 'sold')
  return tonumber(st[1]), tonumber(st[2]), tonumber(st[3])
end
"""

_BODIES = {
    # ARGV: now, order_id, grams, buyer, cap ('' = none), expires_at ('' = never)
    "reserve": """
local now, oid, grams, buyer = time_arg(1), id_arg(2), int_arg(3, 1), id_arg(4)
local cap = ARGV[5] ~= '' and int_arg(5, 1) or nil
if ARGV[6] ~= '' and time_arg(6) <= now then bad(6) end
local stock, held, sold = open(ARGV[1])
if not stock then return {NOT_LOADED, 0, 0, 0, 0} end
local prev = redis.call('HGET', K_HOLDS, oid) or redis.call('HGET', K_SALES, oid)
if prev then
  if tonumber(prev) ~= grams or redis.call('HGET', K_OWNER, oid) ~= buyer then
    return {MISMATCH, stock, held, sold, 0}
  end
  return {OK, stock, held, sold, 0}
end
if stock - held - sold < grams then return {SOLD_OUT, stock, held, sold, 0} end
local used = tonumber(redis.call('HGET', K_USED, buyer)) or 0
if cap and used + grams > cap then return {OVER_CAP, stock, held, sold, used} end
redis.call('HSET', K_HOLDS, oid, grams)
redis.call('HSET', K_OWNER, oid, buyer)
if ARGV[6] ~= '' then redis.call('ZADD', K_EXP, ARGV[6], oid) end
redis.call('HINCRBY', K_USED, buyer, grams)
redis.call('HINCRBY', K_STATE, 'held', grams)
return {OK, stock, held + grams, sold, 0}
""",
    # ARGV: now, order_id, grams, buyer ('' = unknown)
    "commit": """
time_arg(1)
local oid, grams = id_arg(2), int_arg(3, 1)
local buyer = ARGV[4] ~= '' and id_arg(4) or nil
local stock, held, sold = open(ARGV[1])
if not stock then return {NOT_LOADED, 0, 0, 0, 0} end
local s = redis.call('HGET', K_SALES, oid)
if s then
  if tonumber(s) ~= grams then return {MISMATCH, stock, held, sold, 0} end
  return {OK, stock, held, sold, 0}
end
local h = redis.call('HGET', K_HOLDS, oid)
if h then
  if tonumber(h) ~= grams then return {MISMATCH, stock, held, sold, 0} end
  redis.call('HDEL', K_HOLDS, oid)
  redis.call('ZREM', K_EXP, oid)
  redis.call('HSET', K_SALES, oid, grams)
  redis.call('HINCRBY', K_STATE, 'held', -grams)
  redis.call('HINCRBY', K_STATE, 'sold', grams)
  return {OK, stock, held - grams, sold + grams, 0}
end
-- No live hold (expired, or never here): a late payment takes what is left, if enough.
if stock - held - sold < grams then return {SOLD_OUT, stock, held, sold, 0} end
redis.call('HSET', K_SALES, oid, grams)
redis.call('HINCRBY', K_STATE, 'sold', grams)
if buyer then
  redis.call('HSET', K_OWNER, oid, buyer)
  use(buyer, grams)
end
return {OK, stock, held, sold + grams, 0}
""",
    # ARGV: now, order_id
    "release": """
time_arg(1)
local oid = id_arg(2)
local stock, held, sold = open(ARGV[1])
if not stock then return {NOT_LOADED, 0, 0, 0, 0} end
local h = tonumber(redis.call('HGET', K_HOLDS, oid))
local s = tonumber(redis.call('HGET', K_SALES, oid))
if h then
  redis.call('HDEL', K_HOLDS, oid)
  redis.call('ZREM', K_EXP, oid)
  redis.call('HINCRBY', K_STATE, 'held', -h)
  held = held - h
elseif s then
  redis.call('HDEL', K_SALES, oid)
  redis.call('HINCRBY', K_STATE, 'sold', -s)
  sold = sold - s
else
  return {OK, stock, held, sold, 0}
end
use(redis.call('HGET', K_OWNER, oid), -(h or s))
redis.call('HDEL', K_OWNER, oid)
return {OK, stock, held, sold, 0}
""",
    # ARGV: now, order_id
    "write_off": """
time_arg(1)
local oid = id_arg(2)
local stock, held, sold = open(ARGV[1])
if not stock then return {NOT_LOADED, 0, 0, 0, 0} end
if redis.call('HEXISTS', K_HOLDS, oid) == 1 then return {NOT_SOLD, stock, held, sold, 0} end
local s = tonumber(redis.call('HGET', K_SALES, oid))
if not s then return {OK, stock, held, sold, 0} end
redis.call('HDEL', K_SALES, oid)
redis.call('HINCRBY', K_STATE, 'sold', -s)
redis.call('HINCRBY', K_STATE, 'stock', -s)
use(redis.call('HGET', K_OWNER, oid), -s)
redis.call('HDEL', K_OWNER, oid)
return {OK, stock - s, held, sold - s, 0}
""",
    # ARGV: now, stock_grams
    "set_stock": """
time_arg(1)
local new = int_arg(2, 0)
local stock, held, sold = open(ARGV[1])
if not stock then return {NOT_LOADED, 0, 0, 0, 0} end
if new < held + sold then return {BELOW_COMMITTED, stock, held, sold, 0} end
redis.call('HSET', K_STATE, 'stock', new)
return {OK, new, held, sold, 0}
""",
    # ARGV: now
    "snapshot": """
time_arg(1)
local stock, held, sold = open(ARGV[1])
if not stock then return {NOT_LOADED, 0, 0, 0, 0} end
return {OK, stock, held, sold, 0}
""",
    # ARGV: stock, n_holds, n_sales, then n_holds x (order_id, grams, buyer, expires_at|'')
    # and n_sales x (order_id, grams, buyer). Validates everything, then replaces the lot.
    "load": """
local stock, nh, ns = int_arg(1, 0), int_arg(2, 0), int_arg(3, 0)
if #ARGV ~= 3 + 4 * nh + 3 * ns then bad(2) end
local seen, total = {}, 0
for i = 4, 3 + 4 * nh + 3 * ns, 1 do
  local hold = i <= 3 + 4 * nh
  local base = hold and (i - 4) % 4 or (i - 4 - 4 * nh) % 3
  if base == 0 then
    local oid = id_arg(i)
    if seen[oid] then bad(i) end
    seen[oid] = true
  elseif base == 1 then
    total = total + int_arg(i, 1)
  elseif base == 2 then
    id_arg(i)
  elseif ARGV[i] ~= '' then
    time_arg(i)
  end
end
if total > stock then bad(1) end
redis.call('DEL', K_STATE, K_HOLDS, K_SALES, K_OWNER, K_EXP, K_USED)
local held = 0
for i = 4, 3 + 4 * nh, 4 do
  local oid, g, buyer = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
  redis.call('HSET', K_HOLDS, oid, g)
  redis.call('HSET', K_OWNER, oid, buyer)
  if ARGV[i + 3] ~= '' then redis.call('ZADD', K_EXP, ARGV[i + 3], oid) end
  use(buyer, g)
  held = held + g
end
for i = 4 + 4 * nh, 3 + 4 * nh + 3 * ns, 3 do
  local oid, g, buyer = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
  redis.call('HSET', K_SALES, oid, g)
  redis.call('HSET', K_OWNER, oid, buyer)
  use(buyer, g)
end
redis.call('HSET', K_STATE, 'stock', stock, 'held', held, 'sold', total - held)
return {OK, stock, held, total - held, 0}
""",
}

# The full Lua source of each operation: public so tests can call a script directly.
SCRIPTS = {name: _PRELUDE + body for name, body in _BODIES.items()}


# Set the epoch unless (if asked) a valid one, written under the current run id, exists.
_SET_EPOCH = """
local current = redis.call('GET', KEYS[1])
if ARGV[2] == '1' and current then
  local run_id = string.match(current, '|(.*)$')
  if run_id == ARGV[3] then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[3])
return 1
"""


@functools.lru_cache(maxsize=4096)
def lot_keys(prefix: str, lot_id: int) -> tuple[str, ...]:
    """The keys of one lot, in the order every script expects them (KEYS[1..6])."""
    return tuple(f"{prefix}:{{lot:{lot_id}}}:{name}" for name in KEY_NAMES)


def _time(value: float | None) -> str | float:
    return "" if value is None else value


class RedisGate:
    """InventoryGate kept in Redis, shared by every instance of the app.

    The gate uses the client it is given and leaves closing it to the caller, unless it
    made the client itself (`from_url`). Every operation is idempotent, so the client may
    safely retry a command whose reply was lost.
    """

    def __init__(self, redis: Redis, *, key_prefix: str = "fl") -> None:
        # A brace in the prefix would move the hash tag away from {lot:N}.
        if not key_prefix or "{" in key_prefix or "}" in key_prefix:
            raise ValueError("key_prefix must be non-empty and free of braces")
        self._redis = redis
        self._prefix = key_prefix
        self._owns_client = False
        self._scripts = {name: redis.register_script(src) for name, src in SCRIPTS.items()}
        self._set_epoch = redis.register_script(_SET_EPOCH)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        key_prefix: str = "fl",
        timeout_seconds: float = 2.0,
        max_connections: int = 64,
    ) -> RedisGate:
        """A gate with its own client: bounded pool, timeouts, one quick retry.

        A burst of orders waits for one of `max_connections` connections instead of
        opening thousands; a dead Redis fails within `timeout_seconds` instead of
        hanging; the single retry replaces a connection that a Redis restart broke.
        """
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=timeout_seconds,
            socket_timeout=timeout_seconds,
            socket_connect_timeout=timeout_seconds,
            retry=Retry(NoBackoff(), 1),
        )
        gate = cls(Redis.from_pool(pool), key_prefix=key_prefix)
        gate._owns_client = True
        return gate

    def keys(self, lot_id: int) -> tuple[str, ...]:
        return lot_keys(self._prefix, check_int("lot_id", lot_id, high=MAX_LOT_ID))

    async def _call(
        self,
        name: str,
        lot_id: int,
        args: Sequence[str | int | float],
        order_id: str = "",
        cap: int = 0,
        stock: int = 0,
    ) -> LotState:
        keys = self.keys(lot_id)
        try:
            reply = await self._scripts[name](keys=keys, args=args)
        except (RedisError, OSError) as exc:
            raise _translate(exc) from exc
        return _state(lot_id, reply, order_id, cap, stock)

    async def load(self, seed: LotSeed) -> LotState:
        check_seed(seed)
        args: list[str | int | float] = [seed.stock_grams, len(seed.holds), len(seed.sales)]
        for h in seed.holds:
            args += (h.order_id, h.grams, h.buyer, _time(h.expires_at))
        for s in seed.sales:
            args += (s.order_id, s.grams, s.buyer)
        return await self._call("load", seed.lot_id, args)

    async def unload(self, lot_id: int) -> None:
        try:
            await self._redis.delete(*self.keys(lot_id))
        except (RedisError, OSError) as exc:
            raise _translate(exc) from exc

    async def reserve(
        self,
        lot_id: int,
        order_id: str,
        grams: int,
        *,
        buyer: str,
        buyer_cap_grams: int | None,
        expires_at: float | None,
        now: float | None = None,
    ) -> LotState:
        at = resolve_now(now)
        check_reserve(lot_id, order_id, grams, buyer, buyer_cap_grams, expires_at, at)
        cap = "" if buyer_cap_grams is None else buyer_cap_grams
        args = (at, order_id, grams, buyer, cap, _time(expires_at))
        return await self._call("reserve", lot_id, args, order_id, buyer_cap_grams or 0)

    async def commit(
        self,
        lot_id: int,
        order_id: str,
        grams: int,
        *,
        buyer: str | None = None,
        now: float | None = None,
    ) -> LotState:
        at = resolve_now(now)
        check_id("order_id", order_id)
        check_int("grams", grams)
        if buyer is not None:
            check_id("buyer", buyer)
        args = (at, order_id, grams, buyer or "")
        return await self._call("commit", lot_id, args, order_id)

    async def release(self, lot_id: int, order_id: str, *, now: float | None = None) -> LotState:
        at = resolve_now(now)
        check_id("order_id", order_id)
        return await self._call("release", lot_id, (at, order_id), order_id)

    async def write_off(self, lot_id: int, order_id: str, *, now: float | None = None) -> LotState:
        at = resolve_now(now)
        check_id("order_id", order_id)
        return await self._call("write_off", lot_id, (at, order_id), order_id)

    async def set_stock(
        self, lot_id: int, stock_grams: int, *, now: float | None = None
    ) -> LotState:
        at = resolve_now(now)
        check_int("stock_grams", stock_grams, low=0)
        return await self._call("set_stock", lot_id, (at, stock_grams), stock=stock_grams)

    async def snapshot(self, lot_id: int, *, now: float | None = None) -> LotState:
        return await self._call("snapshot", lot_id, (resolve_now(now),))

    async def snapshot_many(
        self, lot_ids: Sequence[int], *, now: float | None = None
    ) -> list[LotState]:
        at = resolve_now(now)
        all_keys = [self.keys(lot_id) for lot_id in lot_ids]
        script = self._scripts["snapshot"]
        try:
            for attempt in (1, 2):
                # A plain pipeline of EVALSHA: one round trip. redis-py's script-aware
                # pipeline would add a SCRIPT EXISTS round trip every time instead.
                async with self._redis.pipeline(transaction=False) as pipe:
                    for keys in all_keys:
                        pipe.evalsha(script.sha, len(keys), *keys, at)
                    replies = await pipe.execute(raise_on_error=False)
                if attempt == 1 and any(isinstance(r, NoScriptError) for r in replies):
                    await self._redis.script_load(script.script)
                    continue
                break
        except (RedisError, OSError) as exc:
            raise _translate(exc) from exc
        for reply in replies:
            if isinstance(reply, Exception):
                raise _translate(reply) from reply
        return [_state(lot_id, reply) for lot_id, reply in zip(lot_ids, replies, strict=True)]

    async def epoch(self) -> str | None:
        """The epoch set by the last rebuild, or None if the data is gone or suspect.

        A Redis that restarted counts as suspect even with AOF on (it may have lost its
        last second of writes), so the epoch is stored with the server's run id and only
        believed while that run id is current.
        """
        try:
            value, run_id = await self._epoch_and_run_id()
        except (RedisError, OSError) as exc:
            raise _translate(exc) from exc
        if value is None:
            return None
        epoch, _, stored_run_id = value.partition("|")
        return epoch if stored_run_id == run_id else None

    async def set_epoch(self, value: str, *, if_absent: bool = False) -> bool:
        check_id("epoch", value)
        if "|" in value:
            raise InvalidInput("epoch must not contain '|'", field="epoch")
        try:
            _, run_id = await self._epoch_and_run_id()
            done = await self._set_epoch(
                keys=[f"{self._prefix}:epoch"], args=[value, "1" if if_absent else "0", run_id]
            )
        except (RedisError, OSError) as exc:
            raise _translate(exc) from exc
        return bool(done)

    async def _epoch_and_run_id(self) -> tuple[str | None, str]:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(f"{self._prefix}:epoch")
            pipe.info("server")
            raw, info = await pipe.execute()
        value = raw.decode() if isinstance(raw, bytes) else raw
        return value, str(info["run_id"])

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except (RedisError, OSError):
            return False

    async def close(self) -> None:
        if self._owns_client:
            await self._redis.aclose()


def _state(lot_id: int, reply: Any, order_id: str = "", cap: int = 0, stock: int = 0) -> LotState:
    """The state in a script's reply, or the refusal it encodes (the caller's arguments
    fill in the details the script does not send back)."""
    code, stock_grams, held, sold, extra = reply
    state = LotState(lot_id, stock_grams, held, sold)
    if code == OK:
        return state
    if code == NOT_LOADED:
        raise LotNotLoaded(lot_id=lot_id)
    if code == SOLD_OUT:
        raise sold_out(state)
    if code == OVER_CAP:
        raise over_buyer_cap(lot_id, extra, cap)
    if code == MISMATCH:
        raise order_mismatch(order_id)
    if code == NOT_SOLD:
        raise not_sold(order_id)
    if code == BELOW_COMMITTED:
        raise below_committed(state, stock)
    raise GateUnavailable(f"unexpected reply code {code!r} from the gate script")


def _translate(exc: BaseException) -> ShopError:
    """Map a redis-py failure to the shop's errors (the adapter boundary)."""
    if isinstance(exc, ResponseError) and str(exc).startswith("FLBADARG"):
        # Python validates first, so this means the two validators disagree: a bug.
        return InvalidInput(f"the gate script refused its arguments: {exc}")
    return GateUnavailable(f"redis: {exc.__class__.__name__}: {exc}")

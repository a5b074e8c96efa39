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

from redis.asyncio import Redis
from redis.exceptions import NoScriptError, RedisError, ResponseError

from shop.adapters.redis_client import redis_client
from shop.adapters.redis_gate_scripts import (
    BELOW_COMMITTED,
    KEY_NAMES,
    MISMATCH,
    NOT_LOADED,
    NOT_SOLD,
    OK,
    OVER_CAP,
    SCRIPTS,
    SET_EPOCH,
    SOLD_OUT,
)
from shop.errors import GateUnavailable, InvalidInput, LotNotLoaded, ShopError
from shop.gate import (
    MAX_LOT_ID,
    GateOp,
    GateStep,
    LotSeed,
    LotState,
    below_committed,
    check_id,
    check_int,
    check_reserve,
    check_seed,
    check_step,
    not_sold,
    order_mismatch,
    over_buyer_cap,
    resolve_now,
    sold_out,
)


@functools.lru_cache(maxsize=4096)
def lot_keys(prefix: str, lot_id: int) -> tuple[str, ...]:
    """The keys of one lot, in the order every script expects them (KEYS[1..6])."""
    return tuple(f"{prefix}:{{lot:{lot_id}}}:{name}" for name in KEY_NAMES)


def _time(value: float | None) -> str | float:
    return "" if value is None else value


_OP_CODES = {GateOp.RESERVE: "r", GateOp.COMMIT: "c", GateOp.RELEASE: "x", GateOp.WRITE_OFF: "w"}


def _step_args(step: GateStep) -> tuple[str | int | float, ...]:
    """A step as the batch script's six arguments ('' = none)."""
    cap = "" if step.buyer_cap_grams is None else step.buyer_cap_grams
    grams = step.grams if step.op in (GateOp.RESERVE, GateOp.COMMIT) else ""
    buyer = step.buyer or ""
    return (_OP_CODES[step.op], step.order_id, grams, buyer, cap, _time(step.expires_at))


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
        self._set_epoch = redis.register_script(SET_EPOCH)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        key_prefix: str = "fl",
        timeout_seconds: float = 2.0,
        max_connections: int = 64,
    ) -> RedisGate:
        """A gate with its own client (shop/adapters/redis_client.py)."""
        client = redis_client(url, timeout_s=timeout_seconds, max_connections=max_connections)
        gate = cls(client, key_prefix=key_prefix)
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
        calls = [(self.keys(lot_id), [at]) for lot_id in lot_ids]
        replies = await self._pipelined("snapshot", calls)
        for reply in replies:
            if isinstance(reply, Exception):
                raise _translate(reply) from reply
        return [_state(lot_id, reply) for lot_id, reply in zip(lot_ids, replies, strict=True)]

    async def apply_many(
        self, steps: Sequence[GateStep], *, now: float | None = None
    ) -> list[LotState | ShopError]:
        """One `batch` script call per lot, every lot in one pipelined round trip."""
        at = resolve_now(now)
        out: list[LotState | ShopError | None] = [None] * len(steps)
        by_lot: dict[int, list[int]] = {}
        for i, step in enumerate(steps):
            try:
                check_step(step, at)
            except ShopError as exc:
                out[i] = exc
                continue
            by_lot.setdefault(step.lot_id, []).append(i)
        calls = []
        for lot_id, indexes in by_lot.items():
            args: list[str | int | float] = [at, len(indexes)]
            for i in indexes:
                args += _step_args(steps[i])
            calls.append((self.keys(lot_id), args))
        replies = await self._pipelined("batch", calls) if calls else []
        for (lot_id, indexes), reply in zip(by_lot.items(), replies, strict=True):
            if isinstance(reply, Exception):
                raise _translate(reply) from reply
            for i, one in zip(indexes, reply, strict=True):
                step = steps[i]
                try:
                    out[i] = _state(lot_id, one, step.order_id, step.buyer_cap_grams or 0)
                except ShopError as exc:
                    out[i] = exc
        return [r for r in out if r is not None]

    async def _pipelined(
        self, name: str, calls: Sequence[tuple[Sequence[str], Sequence[str | int | float]]]
    ) -> list[Any]:
        """EVALSHA `name` once per call, all in one round trip (replies may be errors)."""
        script = self._scripts[name]
        try:
            for attempt in (1, 2):
                # A plain pipeline of EVALSHA: one round trip. redis-py's script-aware
                # pipeline would add a SCRIPT EXISTS round trip every time instead.
                async with self._redis.pipeline(transaction=False) as pipe:
                    for keys, args in calls:
                        pipe.evalsha(script.sha, len(keys), *keys, *args)
                    replies: list[Any] = await pipe.execute(raise_on_error=False)
                if attempt == 1 and any(isinstance(r, NoScriptError) for r in replies):
                    await self._redis.script_load(script.script)
                    continue
                return replies
        except (RedisError, OSError) as exc:
            raise _translate(exc) from exc
        return replies

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

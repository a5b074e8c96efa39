"""The Lua side of RedisGate: one script per operation, and `batch` for several at once.

Each operation is a Lua function on one lot's state (`st`: stock, held, sold), shared by
its own script and by `batch`, so a batched step does exactly what the single call does.
Every script validates all its arguments before its first write ("#!lua" makes Redis
refuse a script up front when it is out of memory: scripts do not roll back).
"""

from __future__ import annotations

KEY_NAMES = ("state", "holds", "sales", "owner", "exp", "used")

# Reply codes: every script answers {code, stock, held, sold, extra} (batch: a list of them).
OK, NOT_LOADED, SOLD_OUT, OVER_CAP, MISMATCH, NOT_SOLD, BELOW_COMMITTED = range(7)

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

-- Purges, then returns the lot's {stock, held, sold}; nil when it is not loaded (checked
-- first, so that a flushed Redis never gets a half-made lot back).
local function open(now)
  if redis.call('EXISTS', K_STATE) == 0 then return nil end
  purge(now)
  local st = redis.call('HMGET', K_STATE, 'stock', 'held', 'sold')
  return {stock = tonumber(st[1]), held = tonumber(st[2]), sold = tonumber(st[3])}
end

local function reply(st, code, extra)
  return {code, st.stock, st.held, st.sold, extra or 0}
end

local function op_reserve(st, oid, grams, buyer, cap, exp)
  local prev = redis.call('HGET', K_HOLDS, oid) or redis.call('HGET', K_SALES, oid)
  if prev then
    if tonumber(prev) ~= grams or redis.call('HGET', K_OWNER, oid) ~= buyer then
      return MISMATCH
    end
    return OK
  end
  if st.stock - st.held - st.sold < grams then return SOLD_OUT end
  local used = tonumber(redis.call('HGET', K_USED, buyer)) or 0
  if cap and used + grams > cap then return OVER_CAP, used end
  redis.call('HSET', K_HOLDS, oid, grams)
  redis.call('HSET', K_OWNER, oid, buyer)
  if exp then redis.call('ZADD', K_EXP, exp, oid) end
  redis.call('HINCRBY', K_USED, buyer, grams)
  redis.call('HINCRBY', K_STATE, 'held', grams)
  st.held = st.held + grams
  return OK
end

local function op_commit(st, oid, grams, buyer)
  local s = redis.call('HGET', K_SALES, oid)
  if s then
    if tonumber(s) ~= grams then return MISMATCH end
    return OK
  end
  local h = redis.call('HGET', K_HOLDS, oid)
  if h then
    if tonumber(h) ~= grams then return MISMATCH end
    redis.call('HDEL', K_HOLDS, oid)
    redis.call('ZREM', K_EXP, oid)
    redis.call('HSET', K_SALES, oid, grams)
    redis.call('HINCRBY', K_STATE, 'held', -grams)
    redis.call('HINCRBY', K_STATE, 'sold', grams)
    st.held, st.sold = st.held - grams, st.sold + grams
    return OK
  end
  -- No live hold (expired, or never here): a late payment takes what is left, if enough.
  if st.stock - st.held - st.sold < grams then return SOLD_OUT end
  redis.call('HSET', K_SALES, oid, grams)
  redis.call('HINCRBY', K_STATE, 'sold', grams)
  if buyer then
    redis.call('HSET', K_OWNER, oid, buyer)
    use(buyer, grams)
  end
  st.sold = st.sold + grams
  return OK
end

local function op_release(st, oid)
  local h = tonumber(redis.call('HGET', K_HOLDS, oid))
  local s = tonumber(redis.call('HGET', K_SALES, oid))
  if h then
    redis.call('HDEL', K_HOLDS, oid)
    redis.call('ZREM', K_EXP, oid)
    redis.call('HINCRBY', K_STATE, 'held', -h)
    st.held = st.held - h
  elseif s then
    redis.call('HDEL', K_SALES, oid)
    redis.call('HINCRBY', K_STATE, 'sold', -s)
    st.sold = st.sold - s
  else
    return OK
  end
  use(redis.call('HGET', K_OWNER, oid), -(h or s))
  redis.call('HDEL', K_OWNER, oid)
  return OK
end

local function op_write_off(st, oid)
  if redis.call('HEXISTS', K_HOLDS, oid) == 1 then return NOT_SOLD end
  local s = tonumber(redis.call('HGET', K_SALES, oid))
  if not s then return OK end
  redis.call('HDEL', K_SALES, oid)
  redis.call('HINCRBY', K_STATE, 'sold', -s)
  redis.call('HINCRBY', K_STATE, 'stock', -s)
  use(redis.call('HGET', K_OWNER, oid), -s)
  redis.call('HDEL', K_OWNER, oid)
  st.stock, st.sold = st.stock - s, st.sold - s
  return OK
end
"""

_BODIES = {
    # ARGV: now, order_id, grams, buyer, cap ('' = none), expires_at ('' = never)
    "reserve": """
local now, oid, grams, buyer = time_arg(1), id_arg(2), int_arg(3, 1), id_arg(4)
local cap = ARGV[5] ~= '' and int_arg(5, 1) or nil
if ARGV[6] ~= '' and time_arg(6) <= now then bad(6) end
local st = open(ARGV[1])
if not st then return {NOT_LOADED, 0, 0, 0, 0} end
return reply(st, op_reserve(st, oid, grams, buyer, cap, ARGV[6] ~= '' and ARGV[6] or nil))
""",
    # ARGV: now, order_id, grams, buyer ('' = unknown)
    "commit": """
time_arg(1)
local oid, grams = id_arg(2), int_arg(3, 1)
local buyer = ARGV[4] ~= '' and id_arg(4) or nil
local st = open(ARGV[1])
if not st then return {NOT_LOADED, 0, 0, 0, 0} end
return reply(st, op_commit(st, oid, grams, buyer))
""",
    # ARGV: now, order_id
    "release": """
time_arg(1)
local oid = id_arg(2)
local st = open(ARGV[1])
if not st then return {NOT_LOADED, 0, 0, 0, 0} end
return reply(st, op_release(st, oid))
""",
    # ARGV: now, order_id
    "write_off": """
time_arg(1)
local oid = id_arg(2)
local st = open(ARGV[1])
if not st then return {NOT_LOADED, 0, 0, 0, 0} end
return reply(st, op_write_off(st, oid))
""",
    # ARGV: now, n, then n x (op, order_id, grams, buyer, cap, expires_at), '' = none;
    # op is r(eserve), c(ommit), x (release) or w(rite off). Validates every step first,
    # then runs them in order; answers one reply per step (all NOT_LOADED if not loaded).
    "batch": """
local now, n = time_arg(1), int_arg(2, 0)
if #ARGV ~= 2 + 6 * n then bad(2) end
for i = 3, 2 + 6 * n, 6 do
  local op = ARGV[i]
  id_arg(i + 1)
  if op == 'r' then
    int_arg(i + 2, 1)
    id_arg(i + 3)
    if ARGV[i + 4] ~= '' then int_arg(i + 4, 1) end
    if ARGV[i + 5] ~= '' and time_arg(i + 5) <= now then bad(i + 5) end
  elseif op == 'c' then
    int_arg(i + 2, 1)
    if ARGV[i + 3] ~= '' then id_arg(i + 3) end
  elseif op ~= 'x' and op ~= 'w' then
    bad(i)
  end
end
local st = open(ARGV[1])
local out = {}
for i = 3, 2 + 6 * n, 6 do
  local op, oid = ARGV[i], ARGV[i + 1]
  if not st then
    out[#out + 1] = {NOT_LOADED, 0, 0, 0, 0}
  elseif op == 'r' then
    local cap = ARGV[i + 4] ~= '' and tonumber(ARGV[i + 4]) or nil
    local exp = ARGV[i + 5] ~= '' and ARGV[i + 5] or nil
    out[#out + 1] = reply(st, op_reserve(st, oid, tonumber(ARGV[i + 2]), ARGV[i + 3], cap, exp))
  elseif op == 'c' then
    local buyer = ARGV[i + 3] ~= '' and ARGV[i + 3] or nil
    out[#out + 1] = reply(st, op_commit(st, oid, tonumber(ARGV[i + 2]), buyer))
  elseif op == 'x' then
    out[#out + 1] = reply(st, op_release(st, oid))
  else
    out[#out + 1] = reply(st, op_write_off(st, oid))
  end
end
return out
""",
    # ARGV: now, stock_grams
    "set_stock": """
time_arg(1)
local new = int_arg(2, 0)
local st = open(ARGV[1])
if not st then return {NOT_LOADED, 0, 0, 0, 0} end
if new < st.held + st.sold then return reply(st, BELOW_COMMITTED) end
redis.call('HSET', K_STATE, 'stock', new)
st.stock = new
return reply(st, OK)
""",
    # ARGV: now
    "snapshot": """
time_arg(1)
local st = open(ARGV[1])
if not st then return {NOT_LOADED, 0, 0, 0, 0} end
return reply(st, OK)
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
SET_EPOCH = """
local current = redis.call('GET', KEYS[1])
if ARGV[2] == '1' and current then
  local run_id = string.match(current, '|(.*)$')
  if run_id == ARGV[3] then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[3])
return 1
"""

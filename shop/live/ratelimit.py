"""Token buckets, and the chat throttle that never refuses a comment-to-order line."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rate:
    """`burst` tokens at most, refilled at `per_second`."""

    burst: float
    per_second: float

    def __post_init__(self) -> None:
        if self.burst < 1 or self.per_second <= 0:
            raise ValueError("a rate needs burst >= 1 and per_second > 0")


class TokenBucket:
    """A classic token bucket on a caller-supplied clock (monotonic seconds)."""

    __slots__ = ("_per_second", "_stamp", "_tokens", "burst")

    def __init__(self, rate: Rate, now: float) -> None:
        self.burst = rate.burst
        self._per_second = rate.per_second
        self._tokens = rate.burst
        self._stamp = now

    def _refill(self, now: float) -> None:
        if now > self._stamp:
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self._per_second)
            self._stamp = now

    def take(self, now: float, cost: float = 1.0) -> bool:
        """Spend `cost` tokens if there are enough; False (and nothing spent) otherwise."""
        self._refill(now)
        if self._tokens >= cost:
            self._tokens -= cost
            return True
        return False

    def force(self, now: float, cost: float = 1.0) -> None:
        """Spend `cost` tokens even into debt (for what must pass but still counts)."""
        self._refill(now)
        self._tokens = max(self._tokens - cost, -self.burst)

    def retry_after(self, now: float, cost: float = 1.0) -> float:
        """Seconds until `take(cost)` would succeed."""
        self._refill(now)
        return max(0.0, (cost - self._tokens) / self._per_second)


class BucketMap:
    """One bucket per key (an IP address), the least recently used forgotten past `max_keys`."""

    def __init__(self, rate: Rate, max_keys: int = 50_000) -> None:
        self._rate = rate
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def get(self, key: str, now: float) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self._rate, now)
            if len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        return bucket

    def __len__(self) -> int:
        return len(self._buckets)


class ChatThrottle:
    """Chat admission: a bucket per connection and one per IP address.

    A line that parses as an order is always admitted (buyers must never lose an order
    to a rate limit); it still spends tokens, so order-shaped spam cannot also carry a
    burst of ordinary chat. Flooding as such is stopped earlier, per connection, by the
    gateway's frame limit.
    """

    def __init__(self, per_connection: Rate, per_ip: Rate | None) -> None:
        self._per_connection = per_connection
        self._ips = BucketMap(per_ip) if per_ip is not None else None

    def connection_bucket(self, now: float) -> TokenBucket:
        return TokenBucket(self._per_connection, now)

    def admit(self, bucket: TokenBucket, ip: str, *, is_order: bool, now: float) -> bool:
        ip_bucket = self._ips.get(ip, now) if self._ips is not None and ip else None
        if is_order:
            bucket.force(now)
            if ip_bucket is not None:
                ip_bucket.force(now)
            return True
        # The connection's own bucket first: a flooder drains only its own, not its IP's.
        if not bucket.take(now):
            return False
        if ip_bucket is not None and not ip_bucket.take(now):
            return False
        return True

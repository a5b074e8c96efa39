"""Tests for shop.live.ratelimit: token buckets and the chat throttle that spares orders."""

from __future__ import annotations

import pytest

from shop.live.ratelimit import BucketMap, ChatThrottle, Rate, TokenBucket


def test_bucket_allows_a_burst_then_refills_at_its_rate() -> None:
    """5 at once, then one more per 2 s; waiting never saves more than the burst."""
    bucket = TokenBucket(Rate(burst=5, per_second=0.5), now=0.0)
    assert [bucket.take(0.0) for _ in range(6)] == [True] * 5 + [False]
    assert bucket.retry_after(0.0) == pytest.approx(2.0)
    assert not bucket.take(1.9)
    assert bucket.take(2.0)
    assert sum(bucket.take(1000.0) for _ in range(10)) == 5


def test_clock_going_backwards_grants_nothing() -> None:
    """A smaller `now` than last time neither refills nor breaks the bucket."""
    bucket = TokenBucket(Rate(burst=1, per_second=1), now=10.0)
    assert bucket.take(10.0)
    assert not bucket.take(5.0)
    assert bucket.take(11.0)


def test_rate_must_be_sane() -> None:
    """A zero rate or an empty burst is a configuration error."""
    with pytest.raises(ValueError):
        Rate(burst=0, per_second=1)
    with pytest.raises(ValueError):
        Rate(burst=1, per_second=0)


def test_bucket_map_forgets_the_least_recently_used() -> None:
    """Per-IP buckets stay bounded; a forgotten IP starts again with a full bucket."""
    buckets = BucketMap(Rate(burst=1, per_second=0.001), max_keys=2)
    assert buckets.get("a", 0).take(0)
    assert buckets.get("b", 0).take(0)
    buckets.get("a", 0)  # a is used again: b is now the oldest
    buckets.get("c", 0)
    assert len(buckets) == 2
    assert not buckets.get("a", 0).take(0)
    assert buckets.get("b", 0).take(0)  # forgotten, so full again


def test_throttle_refuses_chat_but_never_an_order() -> None:
    """Past the burst ordinary lines are refused, while order lines always pass."""
    throttle = ChatThrottle(Rate(burst=3, per_second=0.1), per_ip=None)
    bucket = throttle.connection_bucket(0.0)
    assert [throttle.admit(bucket, "1.2.3.4", is_order=False, now=0.0) for _ in range(4)] == [
        True,
        True,
        True,
        False,
    ]
    assert all(throttle.admit(bucket, "1.2.3.4", is_order=True, now=0.0) for _ in range(50))
    # Orders spent tokens into debt: chat stays refused for a while afterwards.
    assert not throttle.admit(bucket, "1.2.3.4", is_order=False, now=20.0)


def test_per_ip_bucket_is_shared_but_not_drained_by_one_flooder() -> None:
    """Connections from one IP share its bucket; a refused connection spends none of it."""
    throttle = ChatThrottle(Rate(burst=2, per_second=0.001), per_ip=Rate(burst=3, per_second=0.001))
    flooder = throttle.connection_bucket(0.0)
    for _ in range(100):
        throttle.admit(flooder, "9.9.9.9", is_order=False, now=0.0)
    others = [throttle.connection_bucket(0.0) for _ in range(3)]
    assert throttle.admit(others[0], "9.9.9.9", is_order=False, now=0.0)
    assert not throttle.admit(others[1], "9.9.9.9", is_order=False, now=0.0)  # IP spent: 2 + 1
    assert throttle.admit(others[2], "8.8.8.8", is_order=False, now=0.0)
    assert throttle.admit(others[1], "9.9.9.9", is_order=True, now=0.0)

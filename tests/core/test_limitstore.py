"""The limiter's embedded storage (core/limitstore.py) through limits' own strategies."""
import threading
import time

import pytest
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter

from delivery_sign.core import limitstore


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def time(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(limitstore, "time", fake)
    return fake


def test_the_moving_window_refuses_past_the_limit_and_frees_hits_as_they_age(clock):
    storage = storage_from_string("local-memory://")
    limiter, limit = MovingWindowRateLimiter(storage), parse("3 per minute")
    for _ in range(2):
        assert limiter.hit(limit, "scope", "a")
        clock.now += 20
    assert limiter.hit(limit, "scope", "a")              # hits at 0, 20, 40 s
    assert not limiter.hit(limit, "scope", "a") and not limiter.test(limit, "scope", "a")
    assert limiter.hit(limit, "scope", "b")              # another key has its own budget
    stats = limiter.get_window_stats(limit, "scope", "a")
    assert stats.remaining == 0 and stats.reset_time == pytest.approx(clock.now - 40 + 60)
    clock.now += 20.5                                    # the first hit is 60.5 s old
    assert limiter.test(limit, "scope", "a") and limiter.hit(limit, "scope", "a")
    assert not limiter.hit(limit, "scope", "a")
    assert not limiter.hit(parse("1 per minute"), "scope", "c", cost=2)


def test_keys_whose_hits_have_all_aged_out_are_dropped_and_a_key_in_use_is_kept(clock):
    storage = storage_from_string("local-memory://")
    limiter, limit = MovingWindowRateLimiter(storage), parse("120 per minute")
    for k in range(1000):
        limiter.hit(limit, "sign-token", f"k{k}")
    clock.now += 50
    limiter.hit(limit, "sign-token", "k0")               # k0 stays in use
    clock.now += 11                                       # the other 999 are 61 s old
    limiter.hit(limit, "sign-token", "new")
    assert storage.keys_held() == 2
    assert limiter.get_window_stats(limit, "sign-token", "k0").remaining == 119
    clock.now += 120
    limiter.hit(limit, "sign-token", "later")
    assert storage.keys_held() == 1
    limiter.clear(limit, "sign-token", "later")
    assert storage.keys_held() == 0 and limiter.hit(limit, "sign-token", "later")


def test_fixed_window_counters_count_expire_and_reset(clock):
    storage = storage_from_string("local-memory://")
    limiter, limit = FixedWindowRateLimiter(storage), parse("2 per minute")
    assert limiter.hit(limit, "s", "a") and limiter.hit(limit, "s", "a")
    assert not limiter.hit(limit, "s", "a")
    assert storage.decr(limit.key_for("s", "a")) == 2   # the refused hit had counted
    clock.now += 61
    assert limiter.hit(limit, "s", "a")
    assert storage.get(limit.key_for("s", "a")) == 1 and storage.reset() == 1
    assert storage.get(limit.key_for("s", "a")) == 0


def test_a_hit_starts_no_thread(monkeypatch):
    """limits' memory:// starts a timer thread on the first hit after its 10 ms timer has
    fired (the pauses here let it fire); this storage starts none."""
    started = []
    monkeypatch.setattr(threading.Thread, "start", lambda thread: started.append(thread))
    limiter = MovingWindowRateLimiter(storage_from_string("local-memory://"))
    limit = parse("120 per minute")
    for k in range(200):
        limiter.hit(limit, "sign-token", f"k{k}")
        if k % 50 == 0:
            time.sleep(0.015)
    assert started == []


def test_the_app_limits_with_it_when_no_redis_is_set(app):
    from delivery_sign.extensions import limiter

    with app.app_context():
        assert isinstance(limiter.limiter.storage, limitstore.LocalMemoryStorage)

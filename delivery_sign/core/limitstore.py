"""The rate limiter's embedded storage (``local-memory://``): one process's counts in memory.

Used when no ``REDIS_URL`` is set (the embedded default). Hand-written because the library's
``memory://`` storage (limits 5.8.0 ``MemoryStorage``) costs more on every hit the more keys
it holds: each hit after its 10 ms timer has fired starts a new ``threading.Timer`` thread,
and that timer walks every key it holds. Our limits are kept per sign token, and a courier
round behind one carrier address is hundreds of tokens at once, so a recipient request's
limiter work grew from 45 µs at 10 keys to 687 µs at 5,000 (``bench/bench_ratelimit.py``;
12-16 µs here at any of those). Here a hit touches only its own
key; whole keys are dropped when their last entry has aged out, from a heap that holds each
key once, a little at a time on the hits that follow. No thread is started.

Moving window (the strategy this service runs, ``RATELIMIT_STRATEGY``) and fixed-window
counters are supported; the semantics are limits' own, which its strategies rely on.
"""
import heapq
import threading
import time
from collections import deque

from limits.storage import MovingWindowSupport, Storage


class LocalMemoryStorage(Storage, MovingWindowSupport):
    STORAGE_SCHEME = ["local-memory"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, deque]] = {}      # key -> (expiry, hit times, oldest first)
        self._counters: dict[str, list] = {}                   # key -> [count, expires at]
        self._deadlines: list[tuple[float, str]] = []          # a heap: (when to look again, key)
        self._scheduled: set[str] = set()                      # the keys in that heap, each once
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self):
        return ValueError

    # -- expiry ------------------------------------------------------------------------
    def _deadline(self, key: str) -> float | None:
        """When ``key`` holds nothing any more (None: it holds nothing now)."""
        if key in self._windows:
            expiry, hits = self._windows[key]
            return hits[-1] + expiry if hits else None
        if key in self._counters:
            return self._counters[key][1]
        return None

    def _schedule(self, key: str, at: float) -> None:
        if key not in self._scheduled:
            self._scheduled.add(key)
            heapq.heappush(self._deadlines, (at, key))

    def _sweep(self, now: float) -> None:
        """Drop the keys whose every entry has aged out; a key still in use is looked at
        again at its new deadline. Each key is in the heap once, so this is O(log n) a key."""
        heap = self._deadlines
        while heap and heap[0][0] <= now:
            _, key = heapq.heappop(heap)
            self._scheduled.discard(key)
            deadline = self._deadline(key)
            if deadline is not None and deadline > now:
                self._schedule(key, deadline)
            else:
                self._windows.pop(key, None)
                self._counters.pop(key, None)

    # -- moving window -----------------------------------------------------------------
    @staticmethod
    def _trim(hits: deque, oldest: float) -> None:
        while hits and hits[0] <= oldest:
            hits.popleft()

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        with self._lock:
            now = time.time()
            self._sweep(now)
            window = self._windows.get(key)
            if window is None:
                window = self._windows[key] = (expiry, deque())
            hits = window[1]
            self._trim(hits, now - expiry)
            if len(hits) + amount > limit:
                return False
            hits.extend([now] * amount)
            self._schedule(key, now + expiry)
            return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """(the oldest hit still in the window, how many hits are in it)."""
        with self._lock:
            now = time.time()
            window = self._windows.get(key)
            if window is None:
                return now, 0
            hits = window[1]
            self._trim(hits, now - expiry)
            return (hits[0], len(hits)) if hits else (now, 0)

    # -- fixed-window counters ---------------------------------------------------------
    def _counter(self, key: str, now: float) -> list | None:
        counter = self._counters.get(key)
        if counter is not None and counter[1] <= now:
            del self._counters[key]
            return None
        return counter

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        with self._lock:
            now = time.time()
            self._sweep(now)
            counter = self._counter(key, now)
            if counter is None:
                counter = self._counters[key] = [0, now + expiry]
                self._schedule(key, counter[1])
            counter[0] += amount
            return counter[0]

    def decr(self, key: str, amount: int = 1) -> int:
        with self._lock:
            counter = self._counter(key, time.time())
            if counter is None:
                return 0
            counter[0] = max(counter[0] - amount, 0)
            return counter[0]

    def get(self, key: str) -> int:
        with self._lock:
            counter = self._counter(key, time.time())
            return counter[0] if counter else 0

    def get_expiry(self, key: str) -> float:
        with self._lock:
            now = time.time()
            counter = self._counter(key, now)
            return counter[1] if counter else now

    # -- housekeeping ------------------------------------------------------------------
    def clear(self, key: str) -> None:
        with self._lock:
            self._windows.pop(key, None)
            self._counters.pop(key, None)

    def reset(self) -> int:
        with self._lock:
            held = len(self._windows) + len(self._counters)
            self._windows.clear()
            self._counters.clear()
            self._deadlines.clear()
            self._scheduled.clear()
            return held

    def check(self) -> bool:
        return True

    def keys_held(self) -> int:
        """How many keys are held (for tests and the bench)."""
        with self._lock:
            return len(self._windows) + len(self._counters)

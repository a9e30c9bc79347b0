"""CPU per rate-limit hit as the number of keys held grows: limits' ``memory://`` storage
beside our ``local-memory://`` (delivery_sign/core/limitstore.py).

Each recipient request makes one moving-window hit under its sign token's key (120 a minute)
and one test; behind a carrier's NAT one worker holds hundreds to thousands of token keys.
The figure is process CPU (every thread, so the library's timer threads count) per request
(hit + test), spread over the keys the way a courier round is: one key after another.

    /work/venv/bin/python bench/bench_ratelimit.py
"""
import os
import sys
import time

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from delivery_sign.core.limitstore import LocalMemoryStorage  # noqa: E402  (registers its scheme)

LIMIT = parse("120 per minute")
OURS = f"{LocalMemoryStorage.STORAGE_SCHEME[0]}://"
REQUESTS = 5_000
PACE = 5   # requests between 11 ms pauses: a worker's pace at the load bench's rate


def per_request_us(uri: str, keys: int) -> float:
    limiter = MovingWindowRateLimiter(storage_from_string(uri))
    for k in range(keys):                     # the keys a worker already holds
        limiter.hit(LIMIT, "sign-token", f"k{k}")
    time.sleep(0.05)
    started = time.process_time()
    for i in range(REQUESTS):
        # The library's 10 ms timer fires in each pause, so the next hit starts another.
        key = f"k{i % keys}"
        limiter.hit(LIMIT, "sign-token", key)
        limiter.test(LIMIT, "sign-token", key)
        if i % PACE == 0:
            time.sleep(0.011)
    return (time.process_time() - started) / REQUESTS * 1e6


def main():
    print(f"CPU per recipient request's limiter work (hit + test), {REQUESTS:,} requests, µs:")
    print(f"  {'keys held':>9}  {'memory:// (limits 5.8)':>22}  {'local-memory:// (ours)':>22}")
    for keys in (10, 1_000, 5_000):
        library = per_request_us("memory://", keys)
        ours = per_request_us(OURS, keys)
        print(f"  {keys:>9,}  {library:>22.1f}  {ours:>22.1f}")


if __name__ == "__main__":
    main()

"""Issue #2 figure: list queries over 1,000,000 waybills through gunicorn, p95 ≤ 30 ms.

Seeds the tenant straight into the tables (bench/seed.py), then times over HTTP:
``?status=&courier=&limit=50``, a cursor page 1,000 pages deep, and ``?q=<number prefix>``.
"""
import os
import sys
import time

import requests

from common import Instance, db_arg, login, summary_ms
from seed import seed

ROUNDS = 200


def run(db, count):
    instance = Instance(db)
    try:
        tenant, password = instance.prepare()
        os.environ.update(instance.env)
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        from delivery_sign import create_app
        from delivery_sign.core.pagination import encode_cursor

        app = create_app()
        couriers = seed(app, tenant, count)
        base = instance.start(workers=1, threads=1)
        headers = login(base, tenant, password)
        session = requests.Session()

        def timed(params_for):
            times = []
            for i in range(ROUNDS):
                started = time.perf_counter()
                response = session.get(base + "/api/v1/waybills", params=params_for(i), headers=headers)
                times.append(time.perf_counter() - started)
                response.raise_for_status()
            return times

        # ids run 1..count, newest first; page 1,000 starts after the 50,000 newest.
        pages_deep = min(1000, count // 100)
        deep = {"limit": 50, "cursor": encode_cursor(count - 50 * pages_deep)}
        cases = {
            "status+courier, limit 50": lambda i: {"status": "signed", "courier": couriers[i % len(couriers)], "limit": 50},
            f"cursor {pages_deep:,} pages deep": lambda i: deep,
            "q=<number prefix>": lambda i: {"q": f"SF{(i * 7919) % (count // 100):08d}", "limit": 50},
        }
        for name, params in cases.items():
            timed(params)  # warm-up
            print(f"[{db:8}] {name:28} {summary_ms(timed(params))}")
        stats = session.get(base + "/api/v1/waybills", params=cases["q=<number prefix>"](3), headers=headers).json()
        print(f"[{db:8}] (a q= page returns {len(stats['items'])} waybills)")
    finally:
        instance.close()


if __name__ == "__main__":
    parser = db_arg()
    parser.add_argument("--count", type=int, default=1_000_000)
    args = parser.parse_args()
    for db in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        run(db, args.count)

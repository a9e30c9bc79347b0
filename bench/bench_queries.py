"""Figures over 1,000,000 waybills (30 days, 20 org units, 500 couriers) through gunicorn.

Issue #2: ``?status=&courier=&limit=50``, a cursor page 1,000 pages deep and
``?q=<number prefix>``, each p95 ≤ 30 ms. Issue #7: ``/reports/summary`` for 30 days by day
and by org unit p50 ≤ 300 ms, the anomaly review list p95 ≤ 50 ms, and an export of
100,000 waybills ≥ 20,000 rows/s with memory growth ≤ 50 MB.
Seeds the tenant straight into the tables (bench/seed.py).
"""
import os
import sys
import time

import requests

from common import Instance, db_arg, login, summary_ms
from seed import seed

ROUNDS = 200


def run(db, count, reports_only=False):
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
        for name, params in ({} if reports_only else cases).items():
            timed(params)  # warm-up
            print(f"[{db:8}] {name:28} {summary_ms(timed(params))}")
        reports(db, base, session, headers, instance)
    finally:
        instance.close()


def reports(db, base, session, headers, instance):
    from common import reset_peak_rss, rss_kib

    for group_by in ("day", "org_unit", "courier"):
        times = []
        for i in range(6):
            started = time.perf_counter()
            session.get(base + "/api/v1/reports/summary", params={"group_by": group_by},
                        headers=headers).raise_for_status()
            if i:
                times.append(time.perf_counter() - started)
        print(f"[{db:8}] /reports/summary 30 days by {group_by:9} {summary_ms(times)}")
    review = {"anomaly": "any", "reconciled": "false", "limit": 50}
    times = []
    for i in range(100):
        started = time.perf_counter()
        session.get(base + "/api/v1/waybills", params=review, headers=headers).raise_for_status()
        times.append(time.perf_counter() - started)
    print(f"[{db:8}] anomaly review list            {summary_ms(times)}")
    worker = instance.worker_pids()[0]
    reset_peak_rss(worker)
    before = rss_kib(worker)
    started = time.perf_counter()
    rows = 0
    with session.get(base + "/api/v1/waybills/export", params={"format": "csv", "status": "signed",
                                                               "created_from": "2000-01-01T00:00:00Z"},
                     headers=headers, stream=True) as response:
        response.raise_for_status()
        for chunk in response.iter_content(64 * 1024):
            rows += chunk.count(b"\n")
            if rows >= 100_000:
                break
    elapsed = time.perf_counter() - started
    peak = rss_kib(worker, "VmHWM")
    print(f"[{db:8}] export CSV: {rows:,} rows in {elapsed:.1f} s = {rows / elapsed:,.0f} rows/s; worker RSS "
          f"{before / 1024:.0f} MB → peak {peak / 1024:.0f} MB (growth {(peak - before) / 1024:.0f} MB)")


if __name__ == "__main__":
    parser = db_arg()
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--reports-only", action="store_true", help="skip the waybill list queries of #2")
    args = parser.parse_args()
    for db in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        run(db, args.count, args.reports_only)

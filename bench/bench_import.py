"""Issue #2 figure: CSV import of 100,000 item rows (≈ 33,000 waybills) through gunicorn.

Targets: ≤ 30 s, and the worker's peak memory growth ≤ 100 MB (VmHWM after the import
minus VmRSS before it).
"""
import os
import tempfile
import time

import requests

from common import Instance, db_arg, login, rss_kib

ROWS = 100_000
HEADER = "运单号,收货人,收货人电话,收货地址,商品编码,商品名称,数量,单位\n"


def write_csv(path, rows):
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(HEADER)
        for i in range(rows):
            number = f"IMP{i // 3:08d}"
            fh.write(f"{number},李娜{i // 3 % 100},13800138000,上海市浦东新区世纪大道{i // 3 % 999}号,"
                     f"SKU-{i % 3},商品{i % 3},{i % 3 + 1},件\n")


def run(db, rows):
    instance = Instance(db)
    path = tempfile.mktemp(suffix=".csv")
    try:
        write_csv(path, rows)
        tenant, password = instance.prepare()
        base = instance.start(workers=1, threads=1)
        headers = login(base, tenant, password)
        worker = instance.worker_pids()[0]
        before = rss_kib(worker)
        started = time.perf_counter()
        with open(path, "rb") as fh:
            response = requests.post(base + "/api/v1/waybills/import", headers=headers,
                                     files={"file": ("waybills.csv", fh, "text/csv")})
        elapsed = time.perf_counter() - started
        response.raise_for_status()
        result = response.json()
        peak = rss_kib(worker, "VmHWM")
        print(f"[{db:8}] import {rows:,} rows ({os.path.getsize(path) / 1e6:.1f} MB): {elapsed:6.1f} s, "
              f"created {result['created']:,}, errors {len(result['errors'])}, "
              f"worker RSS {before / 1024:.0f} MB → peak {peak / 1024:.0f} MB (growth {(peak - before) / 1024:.0f} MB)")
    finally:
        instance.close()
        if os.path.exists(path):
            os.unlink(path)


if __name__ == "__main__":
    parser = db_arg()
    parser.add_argument("--rows", type=int, default=ROWS)
    args = parser.parse_args()
    for db in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        run(db, args.rows)

"""Issue #2 figure: POST /waybills/batch, 500 waybills × 3 item lines, one gunicorn worker.

Target: ≥ 1,500 waybills/s on SQLite, ≥ 1,000/s on PostgreSQL.
"""
import json
import time
import uuid

import requests

from common import Instance, db_arg, login

BATCHES = 20
PER_BATCH = 500


def payload(i, run):
    return {
        "number": f"B{run}{i:08d}",
        "consignee": {"name": "李娜", "phone": "13800138000", "address": "上海市浦东新区世纪大道100号",
                      "location": {"lat": 31.2304, "lng": 121.4737, "coord_system": "gcj02"}},
        "items": [{"sku": f"SKU-{k}", "name": f"商品{k}", "qty": k + 1, "unit": "件"} for k in range(3)],
    }


def run(db):
    instance = Instance(db)
    try:
        tenant, password = instance.prepare()
        base = instance.start(workers=1, threads=1)
        headers = login(base, tenant, password)
        session = requests.Session()
        run_id = uuid.uuid4().hex[:6].upper()
        # One warm-up batch, not counted.
        session.post(base + "/api/v1/waybills/batch", headers=headers,
                     json={"waybills": [payload(i, "W" + run_id) for i in range(PER_BATCH)]}).raise_for_status()
        timings = []
        for b in range(BATCHES):
            body = json.dumps({"waybills": [payload(b * PER_BATCH + i, run_id) for i in range(PER_BATCH)]})
            started = time.perf_counter()
            response = session.post(base + "/api/v1/waybills/batch", data=body,
                                    headers={**headers, "Content-Type": "application/json"})
            timings.append(time.perf_counter() - started)
            response.raise_for_status()
            assert all(r["status"] == "created" for r in response.json()["results"])
        total = sum(timings)
        print(f"[{db:8}] batch of {PER_BATCH}×3 lines: {BATCHES * PER_BATCH / total:8.0f} waybills/s "
              f"(median batch {sorted(timings)[len(timings) // 2] * 1000:.0f} ms)")
    finally:
        instance.close()


if __name__ == "__main__":
    args = db_arg().parse_args()
    for db in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        run(db)

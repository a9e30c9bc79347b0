"""The waybill list page's dump CPU and latency (issue #18 item 4).

Prints, on a scratch SQLite instance, (1) the CPU time of ``WaybillPageSchema().dump`` over a
page of 200 waybills already loaded (every relationship in memory, so only the dump is
timed), and (2) ``GET /api/v1/waybills?limit=200`` p50/p95 through the Flask test client.
The rows are varied on purpose: some with a receipt, a reconciliation, a document,
metadata, anomalies and several item lines, so every nested part of the dump runs.

    /work/venv/bin/python bench/bench_waybill_list.py [--rounds 300]
"""
import argparse
import os
import statistics
import sys
import time

from common import Instance, percentile
from seed import seed

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGE = 200


def enrich(app):
    """Give the seeded waybills the optional parts the seed leaves empty."""
    from delivery_sign.extensions import db
    from delivery_sign.waybills.models import Waybill, WaybillItem

    with app.app_context():
        rows = db.session.query(Waybill).order_by(Waybill.id.desc()).limit(PAGE * 2).all()
        for i, w in enumerate(rows):
            if i % 3 == 0:
                w.extra = {"order": f"PO-{i}", "tags": ["fragile", "cold"], "n": i}
            if w.signed_at is not None:
                w.receipt_public_id = f"rc{i:030d}"
                if i % 2 == 0:
                    w.reconcile_decision, w.reconcile_note = "accepted", "ok"
                    w.reconciled_at, w.reconciled_by = w.signed_at, "admin"
            if i % 5 == 0:
                w.document_key, w.document_sha256, w.document_size = f"doc/{i}", "a" * 64, 12345
                w.external_ref, w.deadline = f"EXT-{i}", w.created_at
            if i % 4 == 0:
                db.session.add_all(WaybillItem(waybill_id=w.id, line_no=n, sku=f"SKU-{n}", name="货物",
                                               qty="2.5", unit="件") for n in (2, 3))
        db.session.commit()


def dump_cpu(app, tenant_slug, rounds):
    from delivery_sign.accounts.models import Tenant
    from delivery_sign.core.auth import Principal
    from delivery_sign.extensions import db
    from delivery_sign.waybills import services
    from delivery_sign.waybills.schemas import WaybillPageSchema

    with app.test_request_context("/api/v1/waybills"):
        tenant = db.session.query(Tenant).filter_by(slug=tenant_slug).one()
        principal = Principal(tenant_id=tenant.id, role="admin", actor="bench")
        page = services.list_waybills(principal, {"limit": PAGE, "cursor": None})
        assert len(page["items"]) == PAGE
        schema = WaybillPageSchema()
        for _ in range(20):
            schema.dump(page)                 # warm-up (and any lazy load) before timing
        # marshmallow's generic dump of the same rows, past core.dump's compiled one (when there is one)
        from marshmallow import Schema

        rows, out_schema = page["items"], schema.fields["items"].inner.schema
        generic = (lambda: Schema.dump(out_schema, rows, many=True)) if hasattr(out_schema, "_compiled_dump") else None
        times, generic_times = [], []
        for _ in range(rounds):             # interleaved, so a busy machine slows both alike
            started = time.process_time()
            schema.dump(page)
            times.append((time.process_time() - started) * 1000)
            if generic is not None:
                started = time.process_time()
                generic()
                generic_times.append((time.process_time() - started) * 1000)
        return times, generic_times


def endpoint(app, tenant_slug, password, rounds):
    client = app.test_client()
    response = client.post("/api/v1/auth/login", json={"tenant": tenant_slug, "username": "admin",
                                                       "password": password})
    headers = {"Authorization": "Bearer " + response.get_json()["token"]}
    for _ in range(10):
        assert client.get(f"/api/v1/waybills?limit={PAGE}", headers=headers).status_code == 200
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        response = client.get(f"/api/v1/waybills?limit={PAGE}", headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200 and len(response.get_json()["items"]) == PAGE
    return times


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--waybills", type=int, default=2000)
    args = parser.parse_args()
    instance = Instance("sqlite")
    try:
        tenant, password = instance.prepare()
        os.environ.update(instance.env)
        sys.path.insert(0, ROOT)
        from delivery_sign import create_app

        app = create_app()
        seed(app, tenant, args.waybills, units=5, couriers=50)
        enrich(app)
        cpu, generic = dump_cpu(app, tenant, args.rounds)
        print(f"dump CPU per {PAGE} rows: median {statistics.median(cpu):6.2f} ms  "
              f"p10 {percentile(cpu, 10):6.2f}  p90 {percentile(cpu, 90):6.2f} ms  (n={len(cpu)})")
        if generic:
            print(f"  marshmallow's generic dump, same rows: median {statistics.median(generic):6.2f} ms  "
                  f"p10 {percentile(generic, 10):6.2f}  p90 {percentile(generic, 90):6.2f} ms")
        wall = endpoint(app, tenant, password, max(50, args.rounds // 3))
        print(f"GET /waybills?limit={PAGE} (test client, SQLite): p50 {percentile(wall, 50):6.2f} ms  "
              f"p95 {percentile(wall, 95):6.2f} ms  (n={len(wall)})")
    finally:
        instance.close()


if __name__ == "__main__":
    main()

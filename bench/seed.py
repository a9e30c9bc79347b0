"""Seed a tenant with many waybills fast, straight into the tables (not through the API).

Used by the query and report benches: N waybills over 30 days, 20 org units, 500
couriers, one item line each, a spread of statuses and some anomalies.
"""
import random
import time
from datetime import datetime, timedelta

from sqlalchemy import select

STATUSES = ["created", "assigned", "out_for_delivery", "signed", "signed", "signed", "partially_signed", "refused",
            "cancelled"]
ANOMALIES = ["outside_geofence", "no_location", "signer_not_consignee", "weak_signature", "late_signature"]
RELATIONS = ["self", "self", "self", "family", "colleague", "guard", "locker"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"


def seed(app, tenant_slug, count, days=30, units=20, couriers=500, chunk=20_000, seed_value=7):
    """Insert ``count`` waybills for the tenant; returns the numbers' prefix and couriers' names."""
    from delivery_sign.accounts import org_units
    from delivery_sign.accounts.models import DocType, Tenant, User
    from delivery_sign.core.auth import hash_password
    from delivery_sign.core.bulk import insert_rows
    from delivery_sign.extensions import db
    from delivery_sign.waybills.models import Waybill, WaybillAnomaly, WaybillItem

    rng = random.Random(seed_value)
    started = time.perf_counter()
    with app.app_context():
        tenant = db.session.execute(select(Tenant).where(Tenant.slug == tenant_slug)).scalar_one()
        doc_type = db.session.execute(select(DocType).where(DocType.tenant_id == tenant.id)).scalars().first()
        unit_ids = []
        for u in range(units):
            unit = org_units.create_org_unit(tenant.id, "bench", code=f"U{u:02d}", name=f"网点{u:02d}", parent_code="HQ")
            unit_ids.append(unit.id)
        password_hash = hash_password("bench-password-1")
        insert_rows(User, [{"tenant_id": tenant.id, "username": f"c{c:03d}", "password_hash": password_hash,
                            "role": "courier", "org_unit_id": unit_ids[c % units], "display_name": f"快递员{c:03d}",
                            "active": True, "created_at": datetime.utcnow()} for c in range(couriers)])
        db.session.commit()
        courier_ids = dict(db.session.execute(
            select(User.username, User.id).where(User.tenant_id == tenant.id, User.role == "courier")).all())
        courier_list = [courier_ids[f"c{c:03d}"] for c in range(couriers)]
        start = datetime.utcnow() - timedelta(days=days)
        span = days * 86400
        next_id = (db.session.execute(select(db.func.max(Waybill.id))).scalar() or 0) + 1
        for offset in range(0, count, chunk):
            n = min(chunk, count - offset)
            waybills, items, anomalies = [], [], []
            for i in range(offset, offset + n):
                created = start + timedelta(seconds=span * i / count)
                status = rng.choice(STATUSES)
                courier = courier_list[rng.randrange(couriers)]
                signed = created + timedelta(minutes=rng.randint(20, 600)) if status in (
                    "signed", "partially_signed", "refused") else None
                wid = next_id + i
                waybills.append({
                    "id": wid, "tenant_id": tenant.id, "number": f"SF{i:010d}", "doc_type_id": doc_type.id,
                    "org_unit_id": unit_ids[courier % units], "courier_id": courier, "status": status,
                    "consignee_name": rng.choice(SURNAMES) + rng.choice("伟娜敏静磊洋勇艳杰军"),
                    "consignee_phone": f"13{rng.randint(0, 999999999):09d}", "consignee_address": "上海市浦东新区世纪大道100号",
                    "consignee_lat": 31.2 + rng.random() / 10, "consignee_lng": 121.4 + rng.random() / 10,
                    "consignee_coord_system": "gcj02", "body_hash": "0" * 64, "created_at": created,
                    "updated_at": created, "assigned_at": created, "signed_at": signed,
                    "signer_relation": rng.choice(RELATIONS) if signed else None,
                    "has_anomalies": bool(signed) and rng.random() < 0.05,
                })
                items.append({"waybill_id": wid, "line_no": 1, "sku": "SKU-1", "name": "纸箱", "qty": 1, "unit": "箱"})
                if waybills[-1]["has_anomalies"]:
                    anomalies.append({"tenant_id": tenant.id, "waybill_id": wid, "code": rng.choice(ANOMALIES),
                                      "created_at": signed})
            insert_rows(Waybill, waybills)
            insert_rows(WaybillItem, items)
            insert_rows(WaybillAnomaly, anomalies)
            db.session.commit()
        # What the worker does every 30 s in a running service.
        from delivery_sign.reports.rollup import fold_all

        fold_started = time.perf_counter()
        folded = fold_all()
        print(f"  folded {folded:,} report change rows in {time.perf_counter() - fold_started:.1f} s")
        if db.engine.dialect.name == "postgresql":
            db.session.execute(db.text("SELECT setval('waybills_id_seq', (SELECT max(id) FROM waybills))"))
            db.session.commit()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(db.text("ANALYZE"))
        else:
            db.session.execute(db.text("ANALYZE"))
            db.session.commit()
    print(f"  seeded {count:,} waybills in {time.perf_counter() - started:.1f} s")
    return [f"c{c:03d}" for c in range(couriers)]

"""Listing, filtering, paging and reading waybills; who sees what."""
from datetime import timedelta

from delivery_sign.core.clock import isoformat, utcnow
from delivery_sign.extensions import db
from delivery_sign.waybills.models import Waybill, WaybillAnomaly
from tests.factories import waybill_payload


def numbers(response):
    assert response.status_code == 200, response.get_json()
    return [w["number"] for w in response.get_json()["items"]]


def test_newest_first_and_cursor_pages(world):
    created = [world.waybill()["number"] for _ in range(7)]
    seen, cursor = [], None
    while True:
        page = world.get("/waybills", query_string={"limit": 3, **({"cursor": cursor} if cursor else {})}).get_json()
        seen += [w["number"] for w in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(created))


def test_bad_cursor_and_limit(world):
    assert world.get("/waybills", query_string={"cursor": "garbage!"}).status_code == 422
    assert world.get("/waybills", query_string={"limit": 201}).status_code == 422
    assert world.get("/waybills", query_string={"limit": 0}).status_code == 422
    assert world.get("/waybills", query_string={"status": "lost"}).status_code == 422


def test_filters(world, app):
    a = world.waybill(courier="courier1", org_unit="EAST-1", number="AAA-0001")
    b = world.waybill(org_unit="WEST", number="AAB-0002", consignee={"name": "王伟", "phone": "13912345678",
                                                                     "address": "成都"})
    world.post("/doc-types", {"code": "cold", "name": "冷链"})
    c = world.waybill(doc_type="cold", number="ZZZ-0003")
    get = lambda **q: set(numbers(world.get("/waybills", query_string=q)))
    assert get(status="assigned") == {a["number"]}
    assert get(status="created,assigned") == {a["number"], b["number"], c["number"]}
    assert get(courier="courier1") == {a["number"]}
    assert get(courier="nobody") == set()
    assert get(org_unit="EAST") == {a["number"]}
    assert get(org_unit="HQ") == {a["number"], b["number"]}
    assert get(doc_type="cold") == {c["number"]}
    assert get(q="AA") == {a["number"], b["number"]}
    assert get(q="AAB") == {b["number"]}
    assert get(q="王") == {b["number"]}
    now = utcnow()
    assert get(created_from=isoformat(now - timedelta(minutes=5)), created_to=isoformat(now + timedelta(minutes=5))) \
        == {a["number"], b["number"], c["number"]}
    assert get(created_from=isoformat(now + timedelta(minutes=5))) == set()
    assert get(reconciled="false") == {a["number"], b["number"], c["number"]}
    assert get(reconciled="true") == set()
    with app.app_context():
        waybill = db.session.query(Waybill).filter_by(tenant_id=world.tenant_id, number=a["number"]).one()
        waybill.signed_at, waybill.has_anomalies = now, True
        db.session.add(WaybillAnomaly(tenant_id=world.tenant_id, waybill_id=waybill.id, code="outside_geofence"))
        db.session.commit()
    assert get(anomaly="any") == {a["number"]}
    assert get(anomaly="outside_geofence") == {a["number"]}
    assert get(anomaly="no_location") == set()
    assert get(signed_from=isoformat(now - timedelta(seconds=1))) == {a["number"]}
    assert world.get(f"/waybills/{a['number']}").get_json()["anomalies"] == ["outside_geofence"]


def test_dispatcher_sees_subtree_courier_sees_own(world):
    east = world.waybill(org_unit="EAST-1", courier="courier1")["number"]
    west = world.waybill(org_unit="WEST")["number"]
    other_courier = world.waybill(org_unit="EAST-1", courier="courier2")["number"]
    assert set(numbers(world.get("/waybills", who="disp_east"))) == {east, other_courier}
    assert set(numbers(world.get("/waybills", who="disp_west"))) == {west}
    assert set(numbers(world.get("/waybills", who="courier1"))) == {east}
    assert world.get(f"/waybills/{west}", who="disp_east").status_code == 404
    assert world.get(f"/waybills/{other_courier}", who="courier1").status_code == 404


def test_reveal_phone_is_audited_and_staff_only(world):
    number = world.waybill(org_unit="EAST-1", courier="courier1")["number"]
    revealed = world.get(f"/waybills/{number}", query_string={"reveal": "phone"}, who="disp_east").get_json()
    assert revealed["consignee"]["phone"] == "13800138000"
    assert world.get(f"/waybills/{number}").get_json()["consignee"]["phone"] == "138****8000"
    assert world.get(f"/waybills/{number}", query_string={"reveal": "phone"}, who="courier1").status_code == 403
    from delivery_sign.core.audit import AuditEvent

    with world.app.app_context():
        events = db.session.query(AuditEvent).filter_by(tenant_id=world.tenant_id, event_type="pii.revealed").all()
        assert [(e.actor, e.subject) for e in events] == [("user:disp_east", f"waybill:{number}")]


def test_phone_never_appears_unmasked_in_lists(world):
    world.waybill()
    text = world.get("/waybills").get_data(as_text=True)
    assert "13800138000" not in text and "138****8000" in text


def test_waybill_json_has_exactly_the_documented_fields(world, client):
    from delivery_sign.waybills.schemas import WaybillOutSchema

    body = world.waybill()
    assert set(body) == set(WaybillOutSchema().fields)
    spec = client.get("/api/v1/openapi.json").get_json()
    assert set(spec["components"]["schemas"]["WaybillOut"]["properties"]) == set(body)


def test_times_outside_2000_to_2099_are_422_not_an_overflow(world):
    response = world.get("/waybills", query_string={"created_from": "0001-01-01T00:00:00+08:00"})
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["code"] == "out_of_range"
    response = world.post("/waybills", waybill_payload(deadline="9999-12-31T23:59:59-08:00"))
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "deadline"


def test_a_listed_waybill_is_what_its_own_view_shows(world, app, door):
    """The list dumps column mappings, the view an entity: the same JSON for every part a
    waybill can have (items, anomalies, a document, a reconciliation, a receipt, metadata,
    no location, no courier, no org unit, a decimal quantity, no SKU)."""
    door.submit()
    world.waybill(courier="courier1", org_unit="EAST-1", metadata={"po": "PO-1", "tags": ["cold"], "n": 3},
                  items=[{"sku": None, "name": "散装大米", "qty": "2.125", "unit": "kg"}])
    plain = world.waybill(consignee={"name": "王伟", "phone": "13912345678", "address": "成都"})
    with app.app_context():
        waybill = db.session.query(Waybill).filter_by(tenant_id=world.tenant_id, number=plain["number"]).one()
        waybill.signed_at, waybill.has_anomalies = utcnow(), True
        waybill.receipt_public_id, waybill.signer_relation = "r" + "0" * 31, "colleague"
        waybill.reconcile_decision, waybill.reconcile_note = "disputed", "箱子破了"
        waybill.reconciled_at, waybill.reconciled_by = utcnow(), "admin"
        waybill.document_key, waybill.document_sha256, waybill.document_size = "doc/x", "a" * 64, 12345
        waybill.deadline, waybill.external_ref, waybill.cancel_reason = utcnow(), "EXT-9", None
        for code in ("outside_geofence", "late_signature"):
            db.session.add(WaybillAnomaly(tenant_id=world.tenant_id, waybill_id=waybill.id, code=code))
        db.session.commit()
    listed = world.get("/waybills", query_string={"limit": 200}).get_json()["items"]
    assert len(listed) >= 3
    assert any(w["anomalies"] for w in listed) and any(w["consignee"]["location"] is None for w in listed)
    assert any(w["courier"] for w in listed) and any(w["document"] for w in listed)
    for item in listed:
        assert item == world.get(f"/waybills/{item['number']}").get_json()

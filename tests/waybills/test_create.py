"""Creating waybills one by one and in batches: validation and idempotency."""
import pytest

from tests.factories import waybill_payload


def test_create_returns_masked_waybill(world):
    payload = waybill_payload(courier="courier1", org_unit="EAST-1", external_ref="ERP-1",
                              metadata={"order": "PO-9"}, deadline="2026-11-28T10:00:00+08:00")
    response = world.post("/waybills", payload)
    assert response.status_code == 201
    body = response.get_json()
    assert body["number"] == payload["number"]
    assert body["status"] == "assigned" and body["courier"] == "courier1" and body["org_unit"] == "EAST-1"
    assert body["doc_type"] == "default"
    assert body["consignee"]["phone"] == "138****8000"
    assert body["consignee"]["location"] == {"lat": 31.2304, "lng": 121.4737, "coord_system": "gcj02"}
    assert body["items"][1] == {"sku": "CHR-01", "name": "餐椅", "qty": 4, "unit": "把"}
    assert body["deadline"] == "2026-11-28T02:00:00.000Z"
    assert body["metadata"] == {"order": "PO-9"} and body["external_ref"] == "ERP-1"
    assert body["receipt"] is None and body["anomalies"] == [] and body["reconciliation"] is None


def test_same_body_again_is_200_different_body_is_409(world):
    payload = waybill_payload()
    assert world.post("/waybills", payload).status_code == 201
    again = world.post("/waybills", payload)
    assert again.status_code == 200 and again.get_json()["number"] == payload["number"]
    changed = dict(payload, items=[{"name": "别的东西", "qty": 2}])
    conflict = world.post("/waybills", changed)
    assert conflict.status_code == 409
    assert conflict.mimetype == "application/problem+json"


def test_idempotency_ignores_key_order_and_equivalent_numbers(world):
    payload = waybill_payload()
    world.post("/waybills", payload)
    reordered = {k: payload[k] for k in reversed(list(payload))}
    reordered["items"] = [dict(reversed(list(i.items()))) for i in payload["items"]]
    reordered["items"][0]["qty"] = 1.0
    assert world.post("/waybills", reordered).status_code == 200


@pytest.mark.parametrize("change, field, code", [
    ({"number": "ab"}, "number", "format"),
    ({"number": "SF 123"}, "number", "format"),
    ({"items": []}, "items", "length"),
    ({"items": [{"name": "x", "qty": 1}] * 201}, "items", "length"),
    ({"items": [{"name": "x", "qty": 0}]}, "items.0.qty", "range"),
    ({"items": [{"name": "x", "qty": -2}]}, "items.0.qty", "range"),
    ({"items": [{"name": "x", "qty": 1.2345}]}, "items.0.qty", "precision"),
    ({"items": [{"name": "x", "qty": "NaN"}]}, "items.0.qty", "range"),
    ({"items": [{"name": "x", "qty": True}]}, "items.0.qty", "invalid_type"),
    ({"items": [{"qty": 1}]}, "items.0.name", "required"),
    ({"consignee": {"name": "a", "phone": "1380013800", "address": "x"}}, "consignee.phone", "phone_invalid"),
    ({"consignee": {"name": "a", "phone": "13800138000", "address": "x",
                    "location": {"lat": 200, "lng": 121, "coord_system": "wgs84"}}}, "consignee.location.lat", "range"),
    ({"consignee": {"name": "a", "phone": "13800138000", "address": "x",
                    "location": {"lat": 31, "lng": 121, "coord_system": "mars"}}}, "consignee.location.coord_system",
     "one_of"),
    ({"consignee": {"name": "a", "phone": "13800138000", "address": "x",
                    "location": {"lat": "31", "lng": 121}}}, "consignee.location.lat", "invalid_type"),
    ({"doc_type": "nope"}, "doc_type", "not_found"),
    ({"org_unit": "NOPE"}, "org_unit", "not_found"),
    ({"courier": "disp_east"}, "courier", "not_found"),
    ({"metadata": {"blob": "x" * 5000}}, "metadata", "too_large"),
    ({"surprise": 1}, "surprise", "unknown_field"),
])
def test_invalid_waybills_are_422_with_codes(world, change, field, code):
    response = world.post("/waybills", waybill_payload(**change))
    assert response.status_code == 422, response.get_json()
    errors = {(e["field"], e["code"]) for e in response.get_json()["errors"]}
    assert (field, code) in errors, errors


def test_landline_phone_is_accepted(world):
    body = world.waybill(consignee={"name": "门卫", "phone": "021-68881234", "address": "上海"})
    assert body["consignee"]["phone"] == "021*****1234"


def test_batch_reports_each_waybill(world):
    good, dup = waybill_payload(), waybill_payload()
    world.post("/waybills", dup)
    response = world.post("/waybills/batch", {"waybills": [good, dup, waybill_payload(number="x"), "junk",
                                                           dict(dup, items=[{"name": "y", "qty": 1}])]})
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert [r["status"] for r in results] == ["created", "exists", "error", "error", "error"]
    assert results[2]["errors"][0]["field"] == "number"
    assert results[4]["errors"][0]["code"] == "conflict"
    assert world.get(f"/waybills/{good['number']}").status_code == 200


def test_batch_limits(world):
    assert world.post("/waybills/batch", {"waybills": []}).status_code == 422
    too_many = world.post("/waybills/batch", {"waybills": [waybill_payload() for _ in range(1001)]})
    assert too_many.status_code == 422


def test_duplicate_numbers_inside_one_batch(world):
    payload = waybill_payload()
    results = world.post("/waybills/batch", {"waybills": [payload, payload]}).get_json()["results"]
    assert [r["status"] for r in results] == ["created", "exists"]


def test_dispatcher_creates_in_own_subtree_only(world):
    own = world.post("/waybills", waybill_payload(org_unit="EAST-1"), who="disp_east")
    assert own.status_code == 201
    default = world.post("/waybills", waybill_payload(), who="disp_east").get_json()
    assert default["org_unit"] == "EAST"
    outside = world.post("/waybills", waybill_payload(org_unit="WEST"), who="disp_east")
    assert outside.status_code == 422


def test_couriers_cannot_create(world):
    assert world.post("/waybills", waybill_payload(), who="courier1").status_code == 403


def test_api_key_creates(world):
    assert world.post("/waybills", waybill_payload(), who="api").status_code == 201


def test_a_unique_violation_in_bulk_insert_is_409_not_500(world, app, monkeypatch):
    """Two requests racing on one number: the loser's insert fails on the unique index."""
    from delivery_sign.waybills import services

    payload = waybill_payload()
    assert world.post("/waybills", payload).status_code == 201
    # Pretend the lookup missed it, as it does when the other request has not committed yet.
    monkeypatch.setattr(services, "_stored_hashes", lambda tenant_id, numbers: {})
    response = world.post("/waybills", dict(payload, items=[{"name": "x", "qty": 1}]))
    assert response.status_code == 409 and response.mimetype == "application/problem+json"

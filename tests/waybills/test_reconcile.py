"""Reconciliation: a dispatcher's verdict on each sign-off, one by one or in bulk."""
from delivery_sign.core.audit import AuditEvent
from delivery_sign.extensions import db


def test_accept_and_dispute(door, world):
    door.submit()
    accepted = world.post(f"/waybills/{door.number}/reconcile", {"decision": "accepted"}, who="disp_east")
    assert accepted.status_code == 200
    recon = accepted.get_json()["reconciliation"]
    assert recon["decision"] == "accepted" and recon["by"] == "user:disp_east" and recon["at"].endswith("Z")
    assert world.post(f"/waybills/{door.number}/reconcile", {"decision": "disputed"}).status_code == 422
    disputed = world.post(f"/waybills/{door.number}/reconcile", {"decision": "disputed", "note": "少了一把椅子"})
    assert disputed.get_json()["reconciliation"]["note"] == "少了一把椅子"
    listed = world.get("/waybills", query_string={"reconciled": "true"}).get_json()["items"]
    assert [w["number"] for w in listed] == [door.number]
    with world.app.app_context():
        events = db.session.query(AuditEvent).filter_by(tenant_id=world.tenant_id, event_type="waybill.reconciled")
        assert [e.data["decision"] for e in events.order_by(AuditEvent.seq)] == ["accepted", "disputed"]


def test_only_signed_off_waybills_and_only_staff(world, door):
    assert world.post(f"/waybills/{door.number}/reconcile", {"decision": "accepted"}).status_code == 409
    door.submit()
    assert world.post(f"/waybills/{door.number}/reconcile", {"decision": "accepted"}, who="courier1").status_code == 403
    assert world.post(f"/waybills/{door.number}/reconcile", {"decision": "accepted"}, who="disp_west").status_code == 404
    assert world.post(f"/waybills/{door.number}/reconcile", {"decision": "maybe"}).status_code == 422


def test_bulk_reconcile(world, make_door):
    doors = [make_door() for _ in range(3)]
    for d in doors[:2]:
        d.submit()
    numbers = [d.number for d in doors] + ["NOPE-0000"]
    results = world.post("/waybills/reconcile", {"numbers": numbers, "decision": "accepted"}).get_json()["results"]
    assert [r["status"] for r in results] == ["reconciled", "reconciled", "error", "error"]
    assert "out_for_delivery" in results[2]["error"]
    states = {n: world.get(f"/waybills/{n}").get_json()["reconciliation"] for n in numbers[:3]}
    assert states[numbers[0]]["decision"] == "accepted" and states[numbers[2]] is None
    assert world.get("/audit/verify").get_json()["ok"] is True

"""The audit chain: every change is an event, and tampering is found."""
import threading

from sqlalchemy import text

from delivery_sign.core.audit import AuditEvent
from delivery_sign.extensions import db
from tests.factories import waybill_payload


def _events(world):
    with world.app.app_context():
        return [(e.seq, e.event_type, e.subject) for e in
                db.session.query(AuditEvent).filter_by(tenant_id=world.tenant_id).order_by(AuditEvent.seq)]


def test_changes_are_recorded_in_order(world):
    number = world.waybill()["number"]
    world.post(f"/waybills/{number}/assign", {"courier": "courier1"})
    world.post(f"/waybills/{number}/cancel", {"reason": "x"})
    events = _events(world)
    assert [seq for seq, _, _ in events] == list(range(1, len(events) + 1))
    assert [t for _, t, s in events if s == f"waybill:{number}"] == \
        ["waybill.created", "waybill.assigned", "waybill.cancelled"]
    assert world.get("/audit/verify").get_json() == {"ok": True, "events": len(events), "first_bad_seq": None}


def test_failed_requests_leave_no_events(world):
    before = len(_events(world))
    world.post("/waybills", waybill_payload(number="x"))
    world.post("/waybills/NOPE-1/cancel", {"reason": "x"})
    assert len(_events(world)) == before


def _tamper(world, sql, **params):
    with world.app.app_context():
        db.session.execute(text(sql), {"tenant": world.tenant_id, **params})
        db.session.commit()


def test_edited_event_is_found(world):
    world.waybill()
    world.waybill()
    _tamper(world, "UPDATE audit_events SET actor = 'user:mallory' WHERE tenant_id = :tenant AND seq = 3")
    assert world.get("/audit/verify").get_json() == {"ok": False, "events": 3, "first_bad_seq": 3}


def test_removed_event_is_found(world):
    for _ in range(3):
        world.waybill()
    _tamper(world, "DELETE FROM audit_events WHERE tenant_id = :tenant AND seq = 2")
    assert world.get("/audit/verify").get_json()["first_bad_seq"] == 2


def test_removed_last_event_is_found(world):
    world.waybill()
    last = len(_events(world))
    _tamper(world, "DELETE FROM audit_events WHERE tenant_id = :tenant AND seq = :seq", seq=last)
    assert world.get("/audit/verify").get_json() == {"ok": False, "events": last - 1, "first_bad_seq": last}


def test_inserted_event_is_found(world):
    world.waybill()
    _tamper(world, "UPDATE audit_events SET seq = seq + 1 WHERE tenant_id = :tenant AND seq >= 2 "
                   "AND seq = (SELECT MAX(seq) FROM audit_events WHERE tenant_id = :tenant)")
    result = world.get("/audit/verify").get_json()
    assert result["ok"] is False


def test_chains_are_per_tenant(world, other_world):
    world.waybill()
    _tamper(world, "UPDATE audit_events SET data = '{}' WHERE tenant_id = :tenant AND seq = 1")
    assert world.get("/audit/verify").get_json()["ok"] is False
    assert other_world.get("/audit/verify").get_json()["ok"] is True


def test_concurrent_writers_leave_no_gaps(app, world):
    """Eight threads create waybills at once through the real request path."""
    errors = []

    def create(n):
        client = app.test_client()
        for _ in range(5):
            response = client.post("/api/v1/waybills", json=waybill_payload(), headers=world.auth())
            if response.status_code != 201:
                errors.append(response.get_json())

    threads = [threading.Thread(target=create, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    seqs = [seq for seq, _, _ in _events(world)]
    assert seqs == list(range(1, len(seqs) + 1))
    assert world.get("/audit/verify").get_json()["ok"] is True

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
    assert _verdict(world) == {"ok": True, "events": len(events), "first_bad_seq": None}


def test_failed_requests_leave_no_events(world):
    before = len(_events(world))
    world.post("/waybills", waybill_payload(number="x"))
    world.post("/waybills/NOPE-1/cancel", {"reason": "x"})
    assert len(_events(world)) == before


def _verdict(world):
    """The chain part of /audit/verify's answer."""
    result = world.get("/audit/verify").get_json()
    return {key: result[key] for key in ("ok", "events", "first_bad_seq")}


def _tamper(world, sql, **params):
    with world.app.app_context():
        db.session.execute(text(sql), {"tenant": world.tenant_id, **params})
        db.session.commit()


def test_edited_event_is_found(world):
    world.waybill()
    world.waybill()
    _tamper(world, "UPDATE audit_events SET actor = 'user:mallory' WHERE tenant_id = :tenant AND seq = 3")
    assert _verdict(world) == {"ok": False, "events": 3, "first_bad_seq": 3}


def test_removed_event_is_found(world):
    for _ in range(3):
        world.waybill()
    _tamper(world, "DELETE FROM audit_events WHERE tenant_id = :tenant AND seq = 2")
    assert world.get("/audit/verify").get_json()["first_bad_seq"] == 2


def test_removed_last_event_is_found(world):
    world.waybill()
    last = len(_events(world))
    _tamper(world, "DELETE FROM audit_events WHERE tenant_id = :tenant AND seq = :seq", seq=last)
    assert _verdict(world) == {"ok": False, "events": last - 1, "first_bad_seq": last}


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


# --- issue 15.6: a keyed chain, and receipts checked against it ----------------------------

def _recompute_plain_sha256(world, from_seq):
    """What a database editor can do without the key: recompute the old plain chain from
    ``from_seq`` on, and update the head to match."""
    from delivery_sign.core.audit import AuditHead, _event_body, chain_hash

    with world.app.app_context():
        events = db.session.query(AuditEvent).filter_by(tenant_id=world.tenant_id).order_by(AuditEvent.seq).all()
        prev = events[from_seq - 2].hash if from_seq > 1 else "0" * 64
        for event in events[from_seq - 1:]:
            event.prev_hash, event.alg = prev, None
            event.hash = prev = chain_hash(prev, _event_body(event), alg=None)
        db.session.get(AuditHead, world.tenant_id).hash = prev
        db.session.commit()


def test_new_events_are_keyed(world):
    world.waybill()
    with world.app.app_context():
        algs = {e.alg for e in db.session.query(AuditEvent).filter_by(tenant_id=world.tenant_id)}
    assert algs == {"hmac-sha256-v1"}


def test_edit_and_recompute_the_plain_chain_is_still_caught(world):
    for _ in range(3):
        world.waybill()
    _tamper(world, "UPDATE audit_events SET actor = 'user:mallory' WHERE tenant_id = :tenant AND seq = 2")
    _recompute_plain_sha256(world, 2)
    assert _verdict(world) == {"ok": False, "events": 2, "first_bad_seq": 2}


def test_recomputing_with_another_key_is_caught(world, app):
    # An attacker who guesses a key (here: the SHA-256 of the edited rows under a wrong key)
    # still fails: the verifier only knows the configured key.
    import hashlib
    import hmac

    from delivery_sign.core.audit import AuditHead, _event_body, canonical_json

    world.waybill()
    world.waybill()
    with app.app_context():
        events = db.session.query(AuditEvent).filter_by(tenant_id=world.tenant_id).order_by(AuditEvent.seq).all()
        events[1].actor, prev = "user:mallory", events[0].hash
        for event in events[1:]:
            event.prev_hash = prev
            event.hash = prev = hmac.new(b"guessed", prev.encode() + canonical_json(_event_body(event)),
                                         hashlib.sha256).hexdigest()
        db.session.get(AuditHead, world.tenant_id).hash = prev
        db.session.commit()
    assert _verdict(world)["first_bad_seq"] == 2


def test_the_key_comes_from_audit_key_else_secret_key(app):
    from delivery_sign.core.audit import audit_key

    with app.app_context():
        derived = audit_key()
        assert derived != app.config["SECRET_KEY"].encode() and len(derived) == 32
        app.config["AUDIT_KEY"] = "an operator's key"
        try:
            assert audit_key() == b"an operator's key"
        finally:
            app.config["AUDIT_KEY"] = None


def _signed_receipt(door):
    response = door.submit()
    assert response.status_code == 201, response.get_json()
    return response.get_json()["receipt_id"]


def test_verify_rehashes_receipts(door):
    receipt_id = _signed_receipt(door)
    result = door.world.get("/audit/verify").get_json()
    assert result["ok"] is True and result["receipts"] == 1 and result["bad_receipts"] == []
    assert door.world.get(f"/receipts/{receipt_id}").status_code == 200


def test_edited_evidence_is_caught(door, app):
    import json

    receipt_id = _signed_receipt(door)
    with app.app_context():
        evidence = db.session.execute(text("SELECT evidence FROM receipts WHERE public_id = :id"),
                                      {"id": receipt_id}).scalar_one()
        evidence = json.loads(evidence) if isinstance(evidence, str) else evidence
        evidence["signer"]["name"] = "王伪造"
        db.session.execute(text("UPDATE receipts SET evidence = :ev, signer_name = '王伪造' WHERE public_id = :id"),
                           {"ev": json.dumps(evidence, ensure_ascii=False), "id": receipt_id})
        db.session.commit()
    result = door.world.get("/audit/verify").get_json()
    assert result["ok"] is False and result["bad_receipts"] == [receipt_id]
    assert result["first_bad_seq"] is None   # the chain itself is intact: the receipt check found it


def test_edited_evidence_with_its_hash_recomputed_is_caught(door, app):
    import hashlib
    import json

    from delivery_sign.core.audit import canonical_json
    from delivery_sign.receipts.models import Receipt

    receipt_id = _signed_receipt(door)
    with app.app_context():
        receipt = db.session.query(Receipt).filter_by(public_id=receipt_id).one()
        evidence = json.loads(json.dumps(receipt.evidence))
        evidence["signer"]["name"] = "王伪造"
        receipt.evidence, receipt.signer_name = evidence, "王伪造"
        receipt.evidence_hash = hashlib.sha256(canonical_json(evidence)).hexdigest()
        db.session.commit()
    assert door.world.get("/audit/verify").get_json()["bad_receipts"] == [receipt_id]


def test_signer_column_edited_alone_is_caught(door):
    receipt_id = _signed_receipt(door)
    _tamper(door.world, "UPDATE receipts SET signer_name = '王伪造' WHERE tenant_id = :tenant")
    result = door.world.get("/audit/verify").get_json()
    assert result["ok"] is False and result["bad_receipts"] == [receipt_id]


# --- issue 16: the append in one statement on PostgreSQL, guarded by the head it read ---------

def test_a_batch_of_any_size_extends_the_chain(app, world):
    """One event, a batch that fits the one-statement append, and one past it (COPY on PostgreSQL)."""
    from delivery_sign.core import audit

    with app.app_context():
        for size in (1, 3, audit.CTE_MAX_EVENTS, audit.CTE_MAX_EVENTS + 5):
            rows = audit.record_many(world.tenant_id, [("test.batch", "system", f"batch:{size}", {"i": i, "名": "王"})
                                                       for i in range(size)])
            assert [row["seq"] for row in rows] == list(range(rows[0]["seq"], rows[0]["seq"] + size))
            db.session.commit()
        head = db.session.get(audit.AuditHead, world.tenant_id)
        assert head.seq == db.session.query(AuditEvent).filter_by(tenant_id=world.tenant_id).count()
        assert head.hash == rows[-1]["hash"]
        stored = db.session.query(AuditEvent).filter_by(tenant_id=world.tenant_id, seq=rows[-1]["seq"]).one()
        assert stored.data == {"i": size - 1, "名": "王"} and stored.hash == rows[-1]["hash"]
        db.session.rollback()
    assert _verdict(world)["ok"] is True


def test_an_append_from_a_stale_head_writes_nothing(app, world, monkeypatch):
    """The advance is guarded by the head the hashes were computed from: were the head
    ever not the one read (a bug in the locking), the append fails instead of forking the chain."""
    import pytest

    from delivery_sign.core import audit

    world.waybill()
    before = _events(world)
    real = audit._lock_head
    monkeypatch.setattr(audit, "_lock_head", lambda connection, tenant_id: (real(connection, tenant_id)[0] - 1,
                                                                               "f" * 64))
    with app.app_context():
        for size in (1, audit.CTE_MAX_EVENTS + 1):
            with pytest.raises(RuntimeError, match="moved"):
                audit.record_many(world.tenant_id, [("test.stale", "system", "x", {})] * size)
            db.session.rollback()
    monkeypatch.setattr(audit, "_lock_head", real)
    assert _events(world) == before
    assert _verdict(world)["ok"] is True


# --- issue 16 item 4: a write and the event that records it, one statement on PostgreSQL ----

def _address_update(returning: bool):
    from sqlalchemy import bindparam, update

    from delivery_sign.waybills.models import Waybill

    table = Waybill.__table__
    statement = (update(table).where(table.c.tenant_id == bindparam("waybill_tenant"),
                                     table.c.number == bindparam("waybill_number"))
                 .values(consignee_address=bindparam("address")))
    return statement.returning(table.c.id) if returning else statement


def test_a_write_rides_with_the_event_that_records_it(app, world):
    """``record_with``: the caller's UPDATE and the events land together, the UPDATE's
    RETURNING value comes back, and on PostgreSQL the two are one statement. (The values
    are not named as waybill columns: SQLAlchemy would add those to the UPDATE's SET.)"""
    from sqlalchemy import event, select

    from delivery_sign.core import audit
    from delivery_sign.waybills.models import Waybill

    numbers = [world.waybill()["number"], world.waybill()["number"]]
    sent = []
    with app.app_context():
        engine = db.engine
        postgres = engine.dialect.name == "postgresql"
        listener = lambda conn, cursor, sql, *args: sent.append(sql.split()[0].upper())  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            returned, rows = audit.record_with(
                _address_update(True), {"waybill_tenant": world.tenant_id, "waybill_number": numbers[0], "address": "一号门"},
                world.tenant_id, [("test.moved", "system", f"waybill:{numbers[0]}", {"to": "一号门"}),
                                  ("test.noted", "system", f"waybill:{numbers[0]}", {})])
            nothing, more = audit.record_with(
                _address_update(False), {"waybill_tenant": world.tenant_id, "waybill_number": numbers[1], "address": "二号门"},
                world.tenant_id, [("test.moved", "system", f"waybill:{numbers[1]}", {"to": "二号门"})])
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        db.session.commit()
        addresses = dict(db.session.execute(select(Waybill.number, Waybill.consignee_address)
                                            .where(Waybill.number.in_(numbers))).all())
        ids = dict(db.session.execute(select(Waybill.number, Waybill.id).where(Waybill.number.in_(numbers))).all())
    assert returned == ids[numbers[0]] and nothing is None
    assert addresses == {numbers[0]: "一号门", numbers[1]: "二号门"}
    assert [row["seq"] for row in rows + more] == list(range(rows[0]["seq"], rows[0]["seq"] + 3))
    # each append: the head read under its lock, then the write and the events in one
    # statement on PostgreSQL; on SQLite the write, the head's advance, the events' INSERT
    writes = [word for word in sent if word in ("UPDATE", "INSERT", "WITH")]
    assert writes == (["WITH", "WITH"] if postgres else ["UPDATE", "UPDATE", "INSERT"] * 2), sent
    assert [t for _, t, s in _events(world) if s in {f"waybill:{n}" for n in numbers}][-3:] == \
        ["test.moved", "test.noted", "test.moved"]
    assert _verdict(world)["ok"] is True


def test_a_write_named_as_the_appends_own_parameters_is_refused_before_anything_is_sent(app, world):
    """A caller's value named ``tenant_id`` (a head column: SQLAlchemy would add it to the
    head's SET) or ``seq_0`` (an event's) is a programming error, refused on either database."""
    import pytest
    from sqlalchemy import bindparam, update

    from delivery_sign.core import audit
    from delivery_sign.waybills.models import Waybill

    number = world.waybill()["number"]
    before = _events(world)
    table = Waybill.__table__
    statement = update(table).where(table.c.number == bindparam("waybill_number")).values(consignee_address="x")
    with app.app_context():
        for name in ("tenant_id", "seq_0", "new_hash"):
            with pytest.raises(ValueError, match=name):
                audit.record_with(statement, {"waybill_number": number, name: 1}, world.tenant_id,
                                  [("test.refused", "system", f"waybill:{number}", {})])
        db.session.rollback()
        assert db.session.execute(text("SELECT consignee_address FROM waybills WHERE number = :n"),
                                  {"n": number}).scalar_one() != "x"
    assert _events(world) == before


def test_a_write_riding_on_a_stale_head_is_not_kept(app, world, monkeypatch):
    """When the guarded advance fails (see the stale-head test above), the caller's write
    that rode with it fails with it: the append raises, and the rollback leaves neither."""
    import pytest

    from delivery_sign.core import audit

    number = world.waybill()["number"]
    before = _events(world)
    real = audit._lock_head
    monkeypatch.setattr(audit, "_lock_head", lambda connection, tenant_id: (real(connection, tenant_id)[0] - 1,
                                                                               "f" * 64))
    with app.app_context():
        with pytest.raises(RuntimeError, match="moved"):
            audit.record_with(_address_update(True), {"waybill_tenant": world.tenant_id, "waybill_number": number,
                                                      "address": "三号门"},
                              world.tenant_id, [("test.stale", "system", f"waybill:{number}", {})])
        db.session.rollback()
        assert db.session.execute(text("SELECT consignee_address FROM waybills WHERE number = :n"),
                                  {"n": number}).scalar_one() != "三号门"
    monkeypatch.setattr(audit, "_lock_head", real)
    assert _events(world) == before
    assert _verdict(world)["ok"] is True

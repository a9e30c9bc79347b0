"""Issue 15.6: chains written before keying still verify after the upgrade, and cannot be
downgraded: the plain SHA-256 window ends where the migration found each head."""
import hashlib

from flask_migrate import upgrade
from sqlalchemy import text

from delivery_sign.extensions import db
from tests import conftest


def _plain(prev, body):
    from delivery_sign.core.audit import canonical_json

    return hashlib.sha256(prev.encode("ascii") + canonical_json(body)).hexdigest()


def _write_legacy_chain(tenant_id, count):
    """Events as the releases before keying wrote them (plain SHA-256, no alg column yet)."""
    from delivery_sign.core.clock import isoformat, utcnow

    prev, now = "0" * 64, utcnow().replace(microsecond=0)
    for seq in range(1, count + 1):
        body = {"seq": seq, "tenant_id": tenant_id, "type": "waybill.created", "actor": "user:admin",
                "subject": f"waybill:OLD{seq}", "data": {}, "created_at": isoformat(now)}
        digest = _plain(prev, body)
        db.session.execute(text(
            "INSERT INTO audit_events (tenant_id, seq, event_type, actor, subject, data, created_at, prev_hash, hash) "
            "VALUES (:t, :seq, 'waybill.created', 'user:admin', :subject, '{}', :at, :prev, :hash)"),
            {"t": tenant_id, "seq": seq, "subject": f"waybill:OLD{seq}", "at": now, "prev": prev, "hash": digest})
        prev = digest
    db.session.execute(text("INSERT INTO audit_heads (tenant_id, seq, hash) VALUES (:t, :seq, :hash)"),
                       {"t": tenant_id, "seq": count, "hash": prev})


def test_an_old_chain_verifies_after_upgrade_and_cannot_be_downgraded(old_database, tmp_path):
    from delivery_sign.accounts.models import Tenant
    from delivery_sign.core import audit

    with conftest.app_at_revision(old_database, tmp_path, "a1d4c0e70008") as (app, tenant_id):
        _write_legacy_chain(tenant_id, 4)
        db.session.commit()
        db.session.remove()

        upgrade()
        assert audit.verify_chain(tenant_id)["ok"] is True
        audit.record(tenant_id, "waybill.created", "user:admin", "waybill:NEW1", {})
        db.session.commit()
        assert audit.verify_chain(tenant_id) == {"ok": True, "events": 5, "first_bad_seq": None}
        assert db.session.get(Tenant, tenant_id) is not None

        # Downgrade the keyed event to plain SHA-256: outside the legacy window, caught.
        event = db.session.query(audit.AuditEvent).filter_by(tenant_id=tenant_id, seq=5).one()
        forged = _plain(event.prev_hash, audit._event_body(event))
        db.session.execute(text("UPDATE audit_events SET alg = NULL, hash = :h WHERE tenant_id = :t AND seq = 5"),
                           {"h": forged, "t": tenant_id})
        db.session.execute(text("UPDATE audit_heads SET hash = :h WHERE tenant_id = :t"), {"h": forged, "t": tenant_id})
        db.session.commit()
        assert audit.verify_chain(tenant_id)["first_bad_seq"] == 5

        # Widening the window to cover it needs the key: a changed legacy_until is ignored.
        db.session.execute(text("UPDATE audit_heads SET legacy_until = 5 WHERE tenant_id = :t"), {"t": tenant_id})
        db.session.commit()
        assert audit.verify_chain(tenant_id)["ok"] is False

        # An edit inside the old window is still caught as before.
        db.session.execute(text("UPDATE audit_heads SET legacy_until = 4 WHERE tenant_id = :t"), {"t": tenant_id})
        db.session.execute(text("UPDATE audit_events SET actor = 'user:mallory' WHERE tenant_id = :t AND seq = 2"),
                           {"t": tenant_id})
        db.session.commit()
        assert audit.verify_chain(tenant_id)["first_bad_seq"] == 2

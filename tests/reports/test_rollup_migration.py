"""Migration a1d4c0e70008 fills the roll-up from waybills that existed before it."""
from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text

from delivery_sign.extensions import db
from delivery_sign.reports import rollup
from delivery_sign.reports.models import ReportCount, ReportMinutes
from delivery_sign.waybills.models import Waybill

from ..factories import Door, World


def _cells():
    counts = db.session.execute(select(ReportCount.tenant_id, ReportCount.org_unit_id, ReportCount.doc_type_id,
                                       ReportCount.signer_relation, ReportCount.created_day, ReportCount.signed_day,
                                       ReportCount.status, ReportCount.n, ReportCount.anomalous)).all()
    minutes = db.session.execute(select(ReportMinutes.tenant_id, ReportMinutes.org_unit_id, ReportMinutes.created_day,
                                        ReportMinutes.signed_day, ReportMinutes.minutes, ReportMinutes.n)).all()
    return sorted(map(tuple, counts), key=repr), sorted(map(tuple, minutes), key=repr)


def test_upgrade_backfills_the_rollup_and_the_anomaly_flag(fresh_app, signature, photo_jpeg):
    with fresh_app.app_context():
        upgrade()
    world = World.create(fresh_app, fresh_app.test_client())
    for unit in ("WEST", "EAST", "EAST-1"):
        world.waybill(org_unit=unit)
    door = Door(world, signature, photo_jpeg)
    assert door.submit().status_code == 201
    with fresh_app.app_context():
        signed_id = db.session.execute(select(Waybill.id).where(Waybill.number == door.number)).scalar_one()
        db.session.execute(text("INSERT INTO waybill_anomalies (tenant_id, waybill_id, code, created_at) "
                                "VALUES (:t, :w, 'no_location', CURRENT_TIMESTAMP)"),
                           {"t": world.tenant_id, "w": signed_id})
        db.session.commit()
        downgrade(revision="f7b0a2d10007")
        upgrade()
        assert db.session.execute(select(Waybill.has_anomalies).where(Waybill.id == signed_id)).scalar_one()
        backfilled = _cells()
        assert sum(row[7] for row in backfilled[0]) == 4 and sum(row[8] for row in backfilled[0]) == 1
        assert sum(row[5] for row in backfilled[1]) == 1
        rollup.rebuild()
        db.session.commit()
        assert _cells() == backfilled
        db.session.remove()

"""Issue 16: jobs written before c16t00000001 get their lane from the migration and are
claimed by that lane afterwards; the downgrade takes the column and the index away."""
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from delivery_sign.extensions import db
from tests import conftest


def test_existing_jobs_get_their_lane_and_are_claimed_by_it(old_database, tmp_path):
    from delivery_sign.core import jobs

    with conftest.app_at_revision(old_database, tmp_path, "c16r00000001") as (app, tenant_id):
        for kind in ("webhook.deliver", "receipt.render_pdf"):
            db.session.execute(text(
                "INSERT INTO jobs (tenant_id, kind, payload, status, attempts, max_attempts, run_after, "
                "created_at) VALUES (:t, :kind, '{}', 'pending', 0, 5, :at, :at)"),
                {"t": tenant_id, "kind": kind, "at": "2026-11-01 00:00:00"})
        db.session.commit()
        db.session.remove()

        upgrade()
        lanes = dict(db.session.execute(text("SELECT kind, lane FROM jobs WHERE tenant_id = :t"),
                                        {"t": tenant_id}).all())
        assert lanes == {"webhook.deliver": "webhooks", "receipt.render_pdf": "default"}
        claimed = {}
        for lane in ("webhooks", "default"):
            _, rows = jobs.claim("w", limit=5, lease_s=60, tenant_id=tenant_id, lane=lane)
            claimed[lane] = [row.kind for row in rows]
        db.session.rollback()
        assert claimed == {"webhooks": ["webhook.deliver"], "default": ["receipt.render_pdf"]}
        db.session.remove()

        downgrade(revision="c16r00000001")
        inspector = inspect(db.engine)
        assert "lane" not in {c["name"] for c in inspector.get_columns("jobs")}
        assert "ix_jobs_claim" not in {i["name"] for i in inspector.get_indexes("jobs")}
        assert db.session.execute(text("SELECT count(*) FROM jobs")).scalar_one() == 2

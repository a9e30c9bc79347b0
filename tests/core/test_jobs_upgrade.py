"""Issue 16: jobs written before c16t00000001 get their lane from the migration and are
claimed by that lane afterwards; the downgrade takes the column and the index away."""
import os

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from delivery_sign import create_app
from delivery_sign.extensions import db
from tests import conftest


@pytest.fixture
def old_database(tmp_path):
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    fresh, base, name = conftest._fresh_postgres(url)
    yield fresh
    conftest._drop_postgres(base, name)


def test_existing_jobs_get_their_lane_and_are_claimed_by_it(old_database, tmp_path):
    from delivery_sign.core import jobs

    app = create_app(conftest.test_config(old_database, tmp_path))
    try:
        with app.app_context():
            upgrade(revision="c16r00000001")
            db.session.execute(text("INSERT INTO tenants (slug, name, created_at) VALUES ('old', '旧', :at)"),
                               {"at": "2026-11-01 00:00:00"})
            tenant_id = db.session.execute(text("SELECT id FROM tenants WHERE slug = 'old'")).scalar_one()
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
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()

"""Receipt fixtures: a signed-off door whose PDF the job rendered, a key of someone else."""
import pytest

from delivery_sign.core import jobs


def drain(world):
    """Run the tenant's due jobs, as the worker would."""
    return jobs.run_due(world.app, tenant_id=world.tenant_id)


@pytest.fixture
def signed(world, door):
    """``(receipt_id, pdf bytes)`` of a sign-off with two photos, after the PDF job ran."""
    photo_ids = [door.upload().get_json()["photo_id"], door.upload(kind="scene").get_json()["photo_id"]]
    receipt_id = door.submit(door.body(photo_ids=photo_ids)).get_json()["receipt_id"]
    drain(world)
    response = world.get(f"/receipts/{receipt_id}/pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    return receipt_id, response.data, photo_ids


def assert_no_transaction_open(app):
    """Called from inside a job's slow part: its session holds no transaction, so on SQLite
    another connection takes the write lock at once (a sign-off is not kept waiting)."""
    import sqlite3

    from sqlalchemy.engine import make_url

    from delivery_sign.extensions import db

    assert not db.session().in_transaction()
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite":
        other = sqlite3.connect(url.database, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")   # "database is locked" if the job held the lock
            other.execute("ROLLBACK")
        finally:
            other.close()

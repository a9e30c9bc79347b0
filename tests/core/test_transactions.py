"""One commit per request: errors roll back, unless the Problem keeps its transaction."""
import pytest
from sqlalchemy import select

from delivery_sign import create_app
from delivery_sign.core.errors import Problem
from delivery_sign.core.transactions import reading
from delivery_sign.core.sms.backends import SmsMessage
from delivery_sign.extensions import db

from .. import conftest


@pytest.fixture
def probe_app(app, database_url, tmp_path):
    """An app on the migrated test database with one route that writes a row, then fails."""
    probe = create_app(conftest.test_config(database_url, tmp_path))

    @probe.post("/api/v1/test-probe/<int:tenant_id>/<text>")
    def write_then_fail(tenant_id, text):
        db.session.add(SmsMessage(tenant_id=tenant_id, phone="13800000000", text=text))
        if text == "ok":
            return {"written": True}, 201
        raise Problem("it failed", status=400, keep_transaction=text == "kept")

    yield probe
    with probe.app_context():
        db.session.remove()
        db.engine.dispose()


def _texts(probe, tenant_id):
    with probe.app_context():
        return sorted(db.session.execute(select(SmsMessage.text).where(SmsMessage.tenant_id == tenant_id)).scalars())


@pytest.mark.parametrize("text, status, saved", [("ok", 201, True), ("rolled", 400, False), ("kept", 400, True)])
def test_an_error_rolls_back_unless_the_problem_keeps_the_transaction(probe_app, world, text, status, saved):
    response = probe_app.test_client().post(f"/api/v1/test-probe/{world.tenant_id}/{text}")
    assert response.status_code == status
    assert _texts(probe_app, world.tenant_id) == ([text] if saved else [])


def test_a_kept_transaction_does_not_leak_into_the_next_request(probe_app, world):
    client = probe_app.test_client()
    assert client.post(f"/api/v1/test-probe/{world.tenant_id}/kept").status_code == 400
    assert client.post(f"/api/v1/test-probe/{world.tenant_id}/rolled").status_code == 400
    assert _texts(probe_app, world.tenant_id) == ["kept"]


def _dbapi_in_transaction(connection) -> bool:
    raw = connection.connection.dbapi_connection
    if connection.dialect.name == "postgresql":
        from psycopg.pq import TransactionStatus
        return raw.info.transaction_status != TransactionStatus.IDLE
    return raw.in_transaction


def test_reads_in_reading_run_outside_a_transaction_and_see_what_was_committed(app, world):
    with app.test_request_context(method="POST"):
        db.session.add(SmsMessage(tenant_id=world.tenant_id, phone="13800000000", text="committed"))
        db.session.commit()
        with reading():
            texts = db.session.execute(
                select(SmsMessage.text).where(SmsMessage.tenant_id == world.tenant_id)).scalars().all()
            assert not _dbapi_in_transaction(db.session.connection())
        assert texts == ["committed"]
        # After reading() the request's own write transaction starts as before.
        db.session.add(SmsMessage(tenant_id=world.tenant_id, phone="13800000000", text="after"))
        db.session.flush()
        assert _dbapi_in_transaction(db.session.connection())
        db.session.rollback()


def test_a_write_inside_reading_is_refused_and_nothing_is_written(app, world):
    with app.test_request_context(method="POST"):
        with pytest.raises(RuntimeError, match="a write inside core.transactions.reading"):
            with reading():
                db.session.add(SmsMessage(tenant_id=world.tenant_id, phone="13800000000", text="stray"))
                db.session.flush()
        db.session.rollback()
    assert _texts(app, world.tenant_id) == []

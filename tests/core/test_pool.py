"""PostgreSQL connections are pinged at checkout only after sitting idle (core/pool.py)."""
import time

import psycopg
import pytest
from sqlalchemy import create_engine, exc, text

from delivery_sign.config import _engine_options
from delivery_sign.core.pool import ping_when_idle
from delivery_sign.extensions import db


@pytest.fixture
def engine(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("the idle ping is for PostgreSQL's pool")
    engine = create_engine(database_url, **{**_engine_options(database_url, {}), "pool_size": 1, "max_overflow": 0})
    pings = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection):
        pings.append(dbapi_connection)
        return ping(dbapi_connection)

    engine.dialect.do_ping = counted
    engine.pings = pings
    yield engine
    engine.dispose()


def _backend_pid(engine):
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _terminate(database_url, pid):
    with psycopg.connect(database_url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0] is True
        for _ in range(100):   # the backend exits a moment after it is told to
            if admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()[0] == 0:
                return
            time.sleep(0.01)


def test_a_connection_in_use_a_moment_ago_is_not_pinged_an_idle_one_is(engine):
    ping_when_idle(engine, 0.3)
    first = _backend_pid(engine)        # a new connection: nothing to ping
    assert _backend_pid(engine) == first   # checked in a moment ago
    assert engine.pings == []
    time.sleep(0.35)
    assert _backend_pid(engine) == first
    assert len(engine.pings) == 1


def test_an_idle_connection_the_server_dropped_is_replaced_before_use(engine, database_url):
    ping_when_idle(engine, 0.0)
    first = _backend_pid(engine)
    _terminate(database_url, first)
    second = _backend_pid(engine)   # the ping fails, the pool connects again: no error
    assert second != first
    assert len(engine.pings) == 1


def test_without_the_ping_the_dropped_connection_fails_its_statement(engine, database_url):
    """What the ping is for: the same dead connection, handed out unpinged (idle for less
    than the setting), fails the statement it is given, and the pool is renewed after."""
    ping_when_idle(engine, 60.0)
    first = _backend_pid(engine)
    _terminate(database_url, first)
    with pytest.raises(exc.OperationalError):
        _backend_pid(engine)
    assert _backend_pid(engine) != first
    assert engine.pings == []


def test_the_app_pings_idle_connections_instead_of_every_checkout(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the idle ping is for PostgreSQL's pool")
        assert app.config["DB_PING_AFTER_IDLE_S"] == 1.0
        assert db.engine.pool._pre_ping is False
        pings = []
        ping = db.engine.dialect.do_ping
        db.engine.dialect.do_ping = lambda dbapi_connection: pings.append(1) or ping(dbapi_connection)
        try:
            db.session.execute(text("SELECT 1"))   # pinged if it sat idle since an earlier test
            db.session.rollback()
            pings.clear()
            for _ in range(3):   # checked out again at once: no ping
                db.session.execute(text("SELECT 1"))
                db.session.rollback()
            assert pings == []
        finally:
            del db.engine.dialect.do_ping

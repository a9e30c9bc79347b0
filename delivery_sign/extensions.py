"""Extensions created at import time and bound to an app in ``create_app``."""
from flask import current_app, g, has_app_context, has_request_context, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import BigInteger, Integer, MetaData, event, exc
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool

from .core import limitstore  # noqa: F401  (registers the limiter's local-memory:// storage)
from .core import write_queue
from .core.schema import ProblemSchema

# Named constraints keep Alembic revisions stable on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Row ids of high-volume tables: 64-bit on PostgreSQL, SQLite's rowid alias there.
BigId = BigInteger().with_variant(Integer, "sqlite")

class ProblemApi(Api):
    """flask-smorest, with error responses documented as ``application/problem+json``."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self):
        self.DEFAULT_RESPONSE_CONTENT_TYPE = "application/problem+json"
        try:
            super()._register_responses()
        finally:
            del self.DEFAULT_RESPONSE_CONTENT_TYPE


db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrate = Migrate(compare_type=True, render_as_batch=True)
api = ProblemApi()
limiter = Limiter(key_func=get_remote_address, default_limits=[])

_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection, connection_record):
    if type(dbapi_connection).__module__ != "sqlite3":
        return
    # We issue BEGIN ourselves (below), so the driver must not.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(conn):
    if conn.dialect.name != "sqlite":
        return
    # core/transactions.reading(): no BEGIN, each read its own statement (as PostgreSQL's
    # autocommit there); _refuse_writes_while_reading keeps writes out.
    if has_app_context() and g.get("reading_only"):
        return
    # A deferred SQLite transaction that reads and then writes fails with SQLITE_BUSY
    # when another writer committed in between; taking the write lock at BEGIN makes
    # writers queue for it instead (core/write_queue). Reads (GET) stay deferred and never wait.
    if has_request_context() and request.method in _SAFE_METHODS and not _writes_on_read():
        conn.exec_driver_sql("BEGIN")
        return
    write_queue.take(conn.info, conn.engine.url.database or ":memory:")
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        write_queue.give_back(conn.info)
        raise


@event.listens_for(Engine, "commit")
def _sqlite_on_commit(conn):
    """The next writer's turn comes once this COMMIT is done, not while it runs (SQLite's
    lock would still be held, and the next writer would sleep in SQLite's busy handler).
    So a writer holding the queue commits here; SQLAlchemy's own commit after this event
    then finds no transaction and does nothing."""
    if not _holds_turn(conn):
        return
    try:
        conn.connection.dbapi_connection.commit()
    except conn.dialect.loaded_dbapi.Error as error:
        # Still the writer: the rollback that follows a failed commit hands over.
        raise exc.OperationalError("COMMIT", None, error) from error
    write_queue.give_back(conn.info)


@event.listens_for(Engine, "rollback")
def _sqlite_on_rollback(conn):
    if _holds_turn(conn):
        try:
            conn.connection.dbapi_connection.rollback()
        finally:
            write_queue.give_back(conn.info)


def _holds_turn(conn) -> bool:
    """Whether this connection holds its process's turn to write (an invalidated one has
    no ``info`` to read: the pool gives its turn back, _hand_over_when_released)."""
    return conn.dialect.name == "sqlite" and not conn.invalidated and write_queue.holds(conn.info)


@event.listens_for(Pool, "checkin")
@event.listens_for(Pool, "invalidate")
@event.listens_for(Pool, "detach")
def _hand_over_when_released(dbapi_connection, connection_record, *_):
    """A connection back in the pool, invalidated or detached from it holds no turn (its
    transaction's end may not have reached the events above)."""
    if connection_record is not None:
        write_queue.give_back(connection_record.info)


_WRITE_VERBS = ("INSERT", "UPDATE", "DELETE", "WITH", "COPY", "CREATE", "DROP", "ALTER")


@event.listens_for(Engine, "before_cursor_execute")
def _refuse_writes_while_reading(conn, cursor, statement, parameters, context, executemany):
    """Reads in ``reading()`` run outside a transaction: a write there would commit on its
    own at once, so it is refused instead (a bug in the caller, never the user's)."""
    if has_app_context() and g.get("reading_only") and statement.lstrip()[:6].upper().startswith(_WRITE_VERBS):
        raise RuntimeError(f"a write inside core.transactions.reading(): {statement.split()[0]}")


def writes_on_read(view):
    """Mark a GET view that writes (e.g. the first view of a sign link records it), so its
    SQLite transaction takes the write lock up front like any POST."""
    view._writes_on_read = True
    return view


def _writes_on_read():
    view = current_app.view_functions.get(request.endpoint)
    return getattr(view, "_writes_on_read", False)

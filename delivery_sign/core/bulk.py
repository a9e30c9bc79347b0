"""Bulk INSERT of many plain rows inside the current transaction, and history deleted in batches.

PostgreSQL gets ``COPY … FROM STDIN`` (one stream, no per-row statements, nothing for the
driver to parse); other databases an executemany INSERT. Used where one request writes
thousands of rows: waybill batches and imports, and their audit events.
``delete_in_batches`` is the other end: the worker's purge of finished jobs and of the
webhook delivery log, a short transaction per batch.
"""
import functools
import time

import psycopg
from sqlalchemy import JSON, insert, inspect, text
from sqlalchemy.exc import DBAPIError

from ..extensions import db
from .json_columns import dumps


def insert_rows_returning_ids(model, rows: list[dict]) -> list[int]:
    """Insert rows and return their new ids, in order.

    PostgreSQL: the ids are drawn from the table's sequence in one query and the rows go
    by COPY — a 500-row multi-VALUES INSERT … RETURNING spends more time having its 12,000
    placeholders parsed by the driver than the database spends inserting.
    """
    if not rows:
        return []
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        return db.session.execute(
            insert(model).returning(model.id, sort_by_parameter_order=True), rows
        ).scalars().all()
    table = model.__table__.name
    ids = db.session.execute(
        text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
        {"table": table, "n": len(rows)},
    ).scalars().all()
    insert_rows(model, [dict(row, id=row_id) for row, row_id in zip(rows, ids)])
    return ids


def insert_rows(model, rows: list[dict]) -> None:
    if not rows:
        return
    # What the caller changed is written first, as the ORM statement's autoflush did (a
    # no-op on a clean session).
    db.session.flush()
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        statement, renamed = _insert_of(model)
        if renamed:
            rows = [{renamed.get(key, key): value for key, value in row.items()} for row in rows]
        # A Core executemany on the session's connection: the ORM's bulk path around the
        # same statement cost more than the statement (issue 16).
        connection.execute(statement, rows)
        return
    table = model.__table__
    # Rows are keyed by attribute name (``extra``), COPY wants column names (``metadata``).
    columns = [(prop.key, prop.columns[0]) for prop in inspect(model).column_attrs if prop.key in rows[0]]
    # COPY runs no Python-side column default (``created_at=utcnow``, a version number): fill
    # them in as an INSERT through SQLAlchemy would.
    defaults = {prop.key: _default(prop.columns[0]) for prop in inspect(model).column_attrs
                if prop.key not in rows[0] and _has_python_default(prop.columns[0])}
    if defaults:
        rows = [{**defaults, **row} for row in rows]
        columns += [(key, inspect(model).column_attrs[key].columns[0]) for key in defaults]
    json_keys = {key for key, column in columns if isinstance(column.type, JSON)}
    names = ", ".join(connection.dialect.identifier_preparer.quote(column.name) for _, column in columns)
    statement = f"COPY {table.name} ({names}) FROM STDIN"
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        with cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([_json(row[key]) if key in json_keys else row[key] for key, _ in columns])
    except psycopg.Error as exc:
        # The same exception classes as any statement through SQLAlchemy (IntegrityError, …).
        raise DBAPIError.instance(statement, None, exc, psycopg.Error) from exc
    finally:
        cursor.close()


@functools.cache
def _insert_of(model):
    """The table's INSERT, built once per model (its cache key computed once, not per
    request), and the attribute names that are not their column's key (``extra``)."""
    renamed = {prop.key: prop.columns[0].key for prop in inspect(model).column_attrs
               if prop.key != prop.columns[0].key}
    return model.__table__.insert(), renamed


def _has_python_default(column) -> bool:
    default = column.default
    return default is not None and not column.primary_key and (default.is_scalar or default.is_callable)


def _default(column):
    default = column.default
    return default.arg(None) if default.is_callable else default.arg


def _json(value):
    return None if value is None else dumps(value)


def delete_in_batches(statement, params: dict, *, batch: int, batches: int | None = None,
                      budget_s: float | None = None) -> int:
    """Run a DELETE of at most ``:batch`` rows until one deletes fewer, committing each (no
    lock is held for the whole purge; on SQLite the write lock is free between batches).
    Stops too after ``batches`` DELETEs or once ``budget_s`` seconds are spent, so a backlog
    never holds the caller for long; what is left waits for the next run. Returns the rows
    deleted."""
    deadline = None if budget_s is None else time.monotonic() + budget_s
    deleted = done = 0
    while batches is None or done < batches:
        count = db.session.connection().execute(statement, {**params, "batch": batch}).rowcount
        db.session.commit()
        deleted, done = deleted + count, done + 1
        if count < batch or (deadline is not None and time.monotonic() >= deadline):
            break
    return deleted

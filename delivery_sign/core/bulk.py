"""Bulk INSERT of many plain rows inside the current transaction.

PostgreSQL gets ``COPY … FROM STDIN`` (one stream, no per-row statements, nothing for the
driver to parse); other databases an executemany INSERT. Used where one request writes
thousands of rows: waybill batches and imports, and their audit events.
"""
import json

from sqlalchemy import JSON, insert

from ..extensions import db


def insert_rows(model, rows: list[dict]) -> None:
    if not rows:
        return
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        db.session.execute(insert(model), rows)
        return
    table = model.__table__
    columns = [c for c in table.columns if c.key in rows[0]]
    json_keys = {c.key for c in columns if isinstance(c.type, JSON)}
    names = ", ".join(connection.dialect.identifier_preparer.quote(c.name) for c in columns)
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([json.dumps(row[c.key], ensure_ascii=False) if c.key in json_keys else row[c.key]
                                for c in columns])
    finally:
        cursor.close()

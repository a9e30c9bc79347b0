"""``column IN (thousands of integers)`` as one bound parameter.

A duplicate-photo probe asks for ~2,800 hash chunks at once. Rendering that as an IN list
costs more CPU than the lookup itself, so the keys travel as one array: PostgreSQL
``= ANY(:keys)``, SQLite ``IN (SELECT value FROM json_each(:keys))``.
"""
import json

from sqlalchemy import BigInteger, any_, bindparam, column, func, select
from sqlalchemy.dialects.postgresql import ARRAY


def in_many(session, col, keys: list[int]):
    if session.connection().dialect.name == "postgresql":
        return col == any_(bindparam("many_keys", list(keys), type_=ARRAY(BigInteger)))
    rows = select(column("value")).select_from(func.json_each(bindparam("many_keys", json.dumps(list(keys)))))
    return col.in_(rows.scalar_subquery())

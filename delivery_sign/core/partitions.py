"""Partitions of the append-only tables on PostgreSQL (issue 16.5).

By month: ``audit_events`` and ``signature_fingerprints`` are partitioned by month of
``created_at`` (migration c16k00000001): the primary key there is ``(id, created_at)`` and
each unique constraint gains ``created_at``, as PostgreSQL requires of a partitioned table.
The partitions are named ``<table>_pYYYYMM``; ``<table>_pdefault`` catches a row of a month
nobody made a partition for, so an insert never fails for want of one. The worker makes
this month's and the next ``MONTHS_AHEAD`` months' partitions ahead (``ensure_partitions``,
hourly); a month that did land in the default partition is moved into its own partition
when that is made.

By tenant: ``photo_hash_chunks`` is hash-partitioned by ``tenant_id`` into
``TENANT_PARTITIONS`` fixed partitions ``<table>_hNN`` (migration c16u00000001; the migration
makes them all, the worker none), primary key ``(tenant_id, id)``. The duplicate-photo probe
must look at every photo of the tenant, however old: in month partitions its 1,108 index
keys were probed in every month kept (at 5M receipts over four months 17,140 buffers, p95
27 ms), in tenant partitions once, in the one partition its ``tenant_id`` names (p95
4.4–5.6 ms, bench/bench_pg_size.py).
The chunk rows go with their photo (``receipts.photos.delete_photos``), not by month.

SQLite keeps plain tables: every function here does nothing there.

Hand-written: PostgreSQL's declarative partitioning has no creation-ahead of its own and
pg_partman is an extension this deployment does not require; the work is a few DDL
statements a month.
"""
import re
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, text

from .clock import utcnow
from .jobs import every

# Table partitioned by month -> its partition key column.
PARTITIONED = {"audit_events": "created_at", "signature_fingerprints": "created_at"}
# Table hash-partitioned by tenant -> its partition count (fixed: changing it is a rebuild).
TENANT_PARTITIONS = {"photo_hash_chunks": 16}
MONTHS_AHEAD = 3
ENSURE_EVERY_S = 3600
# Any constant works; it names "making partitions" among PostgreSQL advisory locks.
_LOCK_ID = 0x64735F70  # "ds_p"
_CHILD = re.compile(r"^(?P<parent>[a-z_]+)_(?:p(?:\d{6}|default)|h\d{2})$")


# How far past this machine's clock a stored row's created_at may be: another web machine's
# clock, within reason. Nothing newer is written, so nothing newer is looked for.
CLOCK_LEEWAY = timedelta(days=1)


def newest_written() -> datetime:
    """A time no row of a partitioned table is newer than. A lookup bound by it
    (``created_at < newest_written()``) is planned without the months made ahead: they are
    empty, yet an index probe into each still walks its index: the replay lookup's band keys
    (as the duplicate-photo probe's 1,108 keys did in the three months ahead, ≈ 6,600 buffer
    hits a photo, until its table was partitioned by tenant; issue 16). Partition pruning leaves the default partition in; it is empty
    while the worker keeps the months made."""
    return utcnow() + CLOCK_LEEWAY


def written_by_newest(column):
    """``column < :newest``, the bound a request-path lookup of a partitioned table carries;
    bind ``newest_written()`` as ``newest``."""
    return column < bindparam("newest", type_=column.type)


def month_start(value: date | datetime, months: int = 0) -> date:
    """The first day of the month ``months`` after ``value``'s month."""
    index = value.year * 12 + value.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def partition_name(table: str, month: date) -> str:
    return f"{table}_p{month:%Y%m}"


def default_partition(connection, table: str) -> None:
    connection.execute(text(f"CREATE TABLE IF NOT EXISTS {table}_pdefault PARTITION OF {table} DEFAULT"))


def create_month(connection, table: str, month: date, column: str | None = None) -> bool:
    """Make ``table``'s partition for ``month`` unless it exists; True if made. ``column``:
    the partition key, when the table is not (or no longer) in ``PARTITIONED`` (a migration).

    Rows of that month already in the default partition move into the new one (PostgreSQL
    refuses to make a partition whose rows the default partition holds).
    """
    name = partition_name(table, month)
    if connection.execute(text("SELECT to_regclass(:name)"), {"name": name}).scalar() is not None:
        return False
    column = column or PARTITIONED[table]
    lower, upper = month_start(month), month_start(month, 1)
    bounds = {"lower": lower, "upper": upper}
    default = f"{table}_pdefault"
    has_default = connection.execute(text("SELECT to_regclass(:name)"), {"name": default}).scalar() is not None
    if has_default:
        connection.execute(text(
            f"CREATE TEMP TABLE _partition_moved ON COMMIT DROP AS WITH moved AS ("
            f"DELETE FROM {default} WHERE {column} >= :lower AND {column} < :upper RETURNING *) "
            f"SELECT * FROM moved"), bounds)
    connection.execute(text(
        f"CREATE TABLE {name} PARTITION OF {table} FOR VALUES FROM ('{lower}') TO ('{upper}')"))
    if has_default:
        connection.execute(text(f"INSERT INTO {table} SELECT * FROM _partition_moved"))
        connection.execute(text("DROP TABLE _partition_moved"))
    return True


def create_months_from(connection, table: str, column: str, source: str) -> None:
    """``table``'s month partitions from the month of the oldest ``column`` in ``source``
    (this month when it has no rows) to ``MONTHS_AHEAD`` months from now, and its default
    partition: what a rebuild by month makes before it copies ``source``'s rows."""
    oldest = connection.execute(text(f"SELECT min({column}) FROM {source}")).scalar()
    now = utcnow()
    month = month_start(oldest or now)
    while month <= month_start(now, MONTHS_AHEAD):
        create_month(connection, table, month, column)
        month = month_start(month, 1)
    default_partition(connection, table)


def create_tenant_partitions(connection, table: str, count: int) -> None:
    """``table``'s ``count`` hash partitions by tenant, ``<table>_h00`` onwards."""
    for remainder in range(count):
        connection.execute(text(f"CREATE TABLE {table}_h{remainder:02d} PARTITION OF {table} "
                                f"FOR VALUES WITH (MODULUS {count}, REMAINDER {remainder})"))


def table_definition(connection, table: str):
    """The table's constraints ((name, kind, definition) for ALTER TABLE … ADD; kind as
    ``pg_constraint.contype``) and its other indexes (as CREATE INDEX)."""
    constraints = connection.execute(text(
        "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = CAST(:t AS regclass) ORDER BY contype DESC, conname"), {"t": table}).all()
    indexes = connection.execute(text(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = CAST(:t AS regclass) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) ORDER BY c.relname"),
        {"t": table}).scalars().all()
    return constraints, indexes


def rebuild(connection, table: str, *, partition_by: str | None, make_partitions=None, constraint=None) -> None:
    """Rebuild ``table`` with its rows kept (the partitioning migrations): the old table is
    renamed, a new one of the same columns and defaults takes its name (``partition_by``,
    e.g. ``"RANGE (created_at)"``; None: a plain table) with the partitions
    ``make_partitions(connection)`` makes, the rows are copied, the id sequence passes to
    the new table, the old one (and its partitions) is dropped, and its constraints and
    indexes are made again under their names, taken from the catalogue before the rename.
    ``constraint(kind, definition)``: a constraint's definition as the new table needs it
    (a partitioned table's primary and unique keys carry its partition key), None to leave
    it out. The copy rewrites the table once: on a large database, a maintenance window."""
    constraints, indexes = table_definition(connection, table)
    sequence = connection.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table}).scalar()
    connection.execute(text(f"ALTER TABLE {table} RENAME TO {table}__old"))
    partitioned = f" PARTITION BY {partition_by}" if partition_by else ""
    connection.execute(text(f"CREATE TABLE {table} (LIKE {table}__old INCLUDING DEFAULTS){partitioned}"))
    if make_partitions is not None:
        make_partitions(connection)
    connection.execute(text(f"INSERT INTO {table} SELECT * FROM {table}__old"))
    connection.execute(text(f"ALTER SEQUENCE {sequence} OWNED BY {table}.id"))
    connection.execute(text(f"DROP TABLE {table}__old"))
    for name, kind, definition in constraints:
        if constraint is not None:
            definition = constraint(kind, definition)
        if definition is not None:
            connection.execute(text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))
    for definition in indexes:
        connection.execute(text(definition.replace(f" ON ONLY public.{table} ", f" ON public.{table} ")))


def is_partitioned(connection, table: str) -> bool:
    return connection.execute(text(
        "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
        "WHERE c.relname = :table AND pg_table_is_visible(c.oid))"), {"table": table}).scalar()


def ensure_partitions(connection, *, now: datetime | None = None, ahead: int = MONTHS_AHEAD) -> list[str]:
    """This month's and the next ``ahead`` months' partitions of every partitioned table;
    returns the names made. Safe with several workers at once (one advisory lock)."""
    if connection.dialect.name != "postgresql":
        return []
    connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
    now = now or utcnow()
    made = []
    for table in PARTITIONED:
        if not is_partitioned(connection, table):
            continue          # a database still before the partitioning migration
        for offset in range(ahead + 1):
            month = month_start(now, offset)
            if create_month(connection, table, month):
                made.append(partition_name(table, month))
    return made


@every(ENSURE_EVERY_S)
def ensure_partitions_ahead() -> None:
    from ..extensions import db

    ensure_partitions(db.session.connection())


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic's filter: what partitioning adds on PostgreSQL is not a schema difference.

    The partitions themselves are not tables of the models, and a unique constraint of a
    partitioned table carries the partition key after the model's columns.
    """
    if type_ == "table":
        match = _CHILD.match(name or "")
        return not (reflected and match and match.group("parent") in {*PARTITIONED, *TENANT_PARTITIONS})
    if type_ == "unique_constraint" and compare_to is not None:
        table = obj.table.name
        if table in PARTITIONED:
            ours, theirs = ([c.name for c in obj.columns], [c.name for c in compare_to.columns])
            model, database = (theirs, ours) if reflected else (ours, theirs)
            if database == model + [PARTITIONED[table]]:
                return False
    return True

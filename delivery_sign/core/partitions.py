"""Monthly range partitions of the append-only tables on PostgreSQL (issue 16.5).

``audit_events``, ``signature_fingerprints`` and ``photo_hash_chunks`` are partitioned by
month of ``created_at`` (migration c16k00000001): the primary key there is
``(id, created_at)`` and each unique constraint gains ``created_at``, as PostgreSQL requires
of a partitioned table. The partitions are named ``<table>_pYYYYMM``; ``<table>_pdefault``
catches a row of a month nobody made a partition for, so an insert never fails for want
of one. The worker makes this month's and the next ``MONTHS_AHEAD`` months' partitions
ahead (``ensure_partitions``, hourly); a month that did land in the default partition is
moved into its own partition when that is made. SQLite keeps plain tables: every function
here does nothing there.

Hand-written: PostgreSQL's declarative partitioning has no creation-ahead of its own and
pg_partman is an extension this deployment does not require; the work is a few DDL
statements a month.
"""
import re
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, text

from .clock import utcnow
from .jobs import every

# Partitioned table -> its partition key column.
PARTITIONED = {"audit_events": "created_at", "signature_fingerprints": "created_at",
               "photo_hash_chunks": "created_at"}
MONTHS_AHEAD = 3
ENSURE_EVERY_S = 3600
# Any constant works; it names "making partitions" among PostgreSQL advisory locks.
_LOCK_ID = 0x64735F70  # "ds_p"
_CHILD = re.compile(r"^(?P<parent>[a-z_]+)_p(?:\d{6}|default)$")


# How far past this machine's clock a stored row's created_at may be: another web machine's
# clock, within reason. Nothing newer is written, so nothing newer is looked for.
CLOCK_LEEWAY = timedelta(days=1)


def newest_written() -> datetime:
    """A time no row of a partitioned table is newer than. A lookup bound by it
    (``created_at < newest_written()``) is planned without the months made ahead: they are
    empty, yet an index probe into each still walks its index, as the duplicate-photo probe's
    1,108 keys did in the three months ahead (≈ 6,600 buffer hits, 1-4 ms of PostgreSQL's
    CPU a photo, issue 16). Partition pruning leaves the default partition in; it is empty
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


def create_month(connection, table: str, month: date) -> bool:
    """Make ``table``'s partition for ``month`` unless it exists; True if made.

    Rows of that month already in the default partition move into the new one (PostgreSQL
    refuses to make a partition whose rows the default partition holds).
    """
    name = partition_name(table, month)
    if connection.execute(text("SELECT to_regclass(:name)"), {"name": name}).scalar() is not None:
        return False
    column = PARTITIONED[table]
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
        return not (reflected and match and match.group("parent") in PARTITIONED)
    if type_ == "unique_constraint" and compare_to is not None:
        table = obj.table.name
        if table in PARTITIONED:
            ours, theirs = ([c.name for c in obj.columns], [c.name for c in compare_to.columns])
            model, database = (theirs, ours) if reflected else (ours, theirs)
            if database == model + [PARTITIONED[table]]:
                return False
    return True

"""month partitions of the append-only tables on PostgreSQL

Issue 16.5: ``audit_events``, ``signature_fingerprints`` and ``photo_hash_chunks`` become
range-partitioned by month of ``created_at`` on PostgreSQL (core/partitions.py). The two
tables without a time of their own get ``created_at`` on both databases, filled from their
receipt's and photo's; SQLite keeps plain tables otherwise.

On PostgreSQL each table is rebuilt with its rows kept: the old table is renamed, a
partitioned one of the same columns and defaults takes its name with a partition for every
month from its oldest row to ``MONTHS_AHEAD`` months from now plus a default partition, the
rows are copied, the id sequence passes to the new table, the old one is dropped, and the
old table's constraints and indexes are made again under their names (taken from the
catalogue before the rename) — the primary key and unique ones with ``created_at`` last, as
PostgreSQL requires. No foreign key points at these tables. The copy rewrites each table
once: on a large database run it in a maintenance window (docs/DEPLOY.md, Growth).
The downgrade rebuilds plain tables the same way, constraints without ``created_at``.

Revision ID: c16k00000001
Revises: b17e000000a1
Create Date: 2026-12-02 01:50:00

"""
import re

from alembic import op
import sqlalchemy as sa

from delivery_sign.core import partitions

# revision identifiers, used by Alembic.
revision = 'c16k00000001'
down_revision = 'b17e000000a1'
branch_labels = None
depends_on = None

# table -> (the parent table its rows take their time from, the column pointing at it)
_TIMED_BY = {'signature_fingerprints': ('receipts', 'receipt_id'), 'photo_hash_chunks': ('photos', 'photo_id')}


def _definition(connection, table):
    """The table's constraints (as ALTER TABLE … ADD) and other indexes (as CREATE INDEX)."""
    constraints = connection.execute(sa.text(
        "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = CAST(:t AS regclass) ORDER BY contype DESC, conname"), {'t': table}).all()
    indexes = connection.execute(sa.text(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = CAST(:t AS regclass) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) ORDER BY c.relname"),
        {'t': table}).scalars().all()
    return constraints, indexes


def _with_key(definition, column):
    return re.sub(r"\)$", f", {column})", definition, count=1)


def _without_key(definition, column):
    return definition.replace(f", {column})", ")")


def _rebuild(connection, table, partitioned):
    column = partitions.PARTITIONED[table]
    constraints, indexes = _definition(connection, table)
    sequence = connection.execute(sa.text("SELECT pg_get_serial_sequence(:t, 'id')"), {'t': table}).scalar()
    op.execute(f"ALTER TABLE {table} RENAME TO {table}__old")
    partition_by = f" PARTITION BY RANGE ({column})" if partitioned else ""
    op.execute(f"CREATE TABLE {table} (LIKE {table}__old INCLUDING DEFAULTS){partition_by}")
    if partitioned:
        oldest = connection.execute(sa.text(f"SELECT min({column}) FROM {table}__old")).scalar()
        now = partitions.utcnow()
        month = partitions.month_start(oldest or now)
        while month <= partitions.month_start(now, partitions.MONTHS_AHEAD):
            partitions.create_month(connection, table, month)
            month = partitions.month_start(month, 1)
        partitions.default_partition(connection, table)
    op.execute(f"INSERT INTO {table} SELECT * FROM {table}__old")
    op.execute(f"ALTER SEQUENCE {sequence} OWNED BY {table}.id")
    op.execute(f"DROP TABLE {table}__old")
    for name, kind, definition in constraints:
        if kind in ('p', 'u'):
            definition = _with_key(definition, column) if partitioned else _without_key(definition, column)
        op.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for definition in indexes:
        op.execute(definition.replace(f" ON ONLY public.{table} ", f" ON public.{table} "))


def upgrade():
    connection = op.get_bind()
    for table, (parent, reference) in _TIMED_BY.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('created_at', sa.DateTime(), nullable=True))
        op.execute(f"UPDATE {table} SET created_at = (SELECT {parent}.created_at FROM {parent} "
                   f"WHERE {parent}.id = {table}.{reference})")
        op.execute(f"UPDATE {table} SET created_at = CURRENT_TIMESTAMP WHERE created_at IS NULL")
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('created_at', existing_type=sa.DateTime(), nullable=False)
    if connection.dialect.name != 'postgresql':
        return
    for table in partitions.PARTITIONED:
        _rebuild(connection, table, partitioned=True)


def downgrade():
    connection = op.get_bind()
    if connection.dialect.name == 'postgresql':
        for table in partitions.PARTITIONED:
            _rebuild(connection, table, partitioned=False)
    for table in _TIMED_BY:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('created_at')

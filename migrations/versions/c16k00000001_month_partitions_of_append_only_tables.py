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
# The tables this revision partitions by month, and their partition key: its own list, not
# core.partitions.PARTITIONED (photo_hash_chunks left that list with c16u00000001).
_TABLES = {'audit_events': 'created_at', 'signature_fingerprints': 'created_at', 'photo_hash_chunks': 'created_at'}


def _with_key(definition, column):
    return re.sub(r"\)$", f", {column})", definition, count=1)


def _without_key(definition, column):
    return definition.replace(f", {column})", ")")


def _rebuild(connection, table, partitioned):
    column = _TABLES[table]

    def months(connection):
        partitions.create_months_from(connection, table, column, f"{table}__old")

    def key(kind, definition):
        if kind not in ('p', 'u'):
            return definition
        return _with_key(definition, column) if partitioned else _without_key(definition, column)

    partitions.rebuild(connection, table, partition_by=f"RANGE ({column})" if partitioned else None,
                       make_partitions=months if partitioned else None, constraint=key)


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
    for table in _TABLES:
        _rebuild(connection, table, partitioned=True)


def downgrade():
    connection = op.get_bind()
    if connection.dialect.name == 'postgresql':
        for table in _TABLES:
            _rebuild(connection, table, partitioned=False)
    for table in _TIMED_BY:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('created_at')

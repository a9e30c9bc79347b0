"""photo hash chunks partitioned by tenant, without a foreign key to photos

Issue 16.5: the duplicate-photo probe has to look at every photo of the tenant, however
old, and in month partitions (c16k00000001) it probed its 1,108 index keys in every month
kept: at 5M receipts over four months 17,140 buffers a probe, p95 27 ms against a target of
10 (bench/bench_pg_size.py). On PostgreSQL ``photo_hash_chunks`` is now hash-partitioned by
``tenant_id`` into ``core.partitions.TENANT_PARTITIONS`` fixed partitions
(``photo_hash_chunks_h00`` …), primary key ``(tenant_id, id)``; the probe reads the one
partition its tenant names. The table is rebuilt with its rows (``partitions.rebuild``): on
a large database run it in a maintenance window. The worker makes no partitions of it.

On both databases the foreign key ``photo_id`` → ``photos.id`` (ON DELETE CASCADE) goes.
Nothing indexes ``photo_id``, so the cascade of a photo's delete read the whole chunk table
(2.1 s a photo at 5M receipts, for the orphan sweep), and each chunk row's insert looked its
photo up again (four key checks an upload). ``receipts.photos`` is the one place that
writes and deletes chunk rows; it deletes them with their photo, by their keys.

The downgrade makes month partitions again (PostgreSQL, primary key ``(id, created_at)``)
and the foreign key.

Revision ID: c16u00000001
Revises: c16t00000001
Create Date: 2026-12-07 17:30:00

"""
from alembic import op

from delivery_sign.core import partitions

# revision identifiers, used by Alembic.
revision = 'c16u00000001'
down_revision = 'c16t00000001'
branch_labels = None
depends_on = None

_TABLE = 'photo_hash_chunks'
_FOREIGN_KEY = 'fk_photo_hash_chunks_photo_id_photos'
# Fixed here, as the partitions this revision made: a later change of the count is a rebuild of its own.
_PARTITIONS = 16


def upgrade():
    connection = op.get_bind()
    with op.batch_alter_table(_TABLE, schema=None) as batch_op:
        batch_op.drop_constraint(_FOREIGN_KEY, type_='foreignkey')
    if connection.dialect.name != 'postgresql':
        return
    partitions.rebuild(
        connection, _TABLE, partition_by='HASH (tenant_id)',
        make_partitions=lambda c: partitions.create_tenant_partitions(c, _TABLE, _PARTITIONS),
        constraint=lambda kind, definition: 'PRIMARY KEY (tenant_id, id)' if kind == 'p' else definition)


def downgrade():
    connection = op.get_bind()
    if connection.dialect.name == 'postgresql':
        partitions.rebuild(
            connection, _TABLE, partition_by='RANGE (created_at)',
            make_partitions=lambda c: partitions.create_months_from(c, _TABLE, 'created_at', f'{_TABLE}__old'),
            constraint=lambda kind, definition: 'PRIMARY KEY (id, created_at)' if kind == 'p' else definition)
    with op.batch_alter_table(_TABLE, schema=None) as batch_op:
        batch_op.create_foreign_key(_FOREIGN_KEY, 'photos', ['photo_id'], ['id'], ondelete='CASCADE')

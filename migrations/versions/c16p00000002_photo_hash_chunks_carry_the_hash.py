"""photo hash chunks carry the photo's whole hash

Issue 16.5: the duplicate-photo probe measures the Hamming distance on the chunk rows it
finds (PostgreSQL: ``bit_count``), so only a real match reads ``photos``. Each
``photo_hash_chunks`` row gets ``phash`` (the photo's 64-bit hash as a signed BIGINT, as
``photos.phash``), filled from its photo; the lookup index becomes ``(tenant_id, chunk)``
with ``phash`` and ``photo_id`` included on PostgreSQL (an index-only scan answers the
probe) and a plain ``(tenant_id, chunk)`` index on SQLite, which has no INCLUDE.

The backfill is one UPDATE joined to ``photos`` (every chunk row has its photo: the foreign
key cascades). On PostgreSQL the table is month-partitioned (c16k00000001); the ADD COLUMN
is a catalogue change, the UPDATE rewrites each partition's rows once, and the index is
built on every partition: on a large database run it in a maintenance window
(docs/DEPLOY.md, Growth). The downgrade drops the column and makes the old index again.

Revision ID: c16p00000002
Revises: c16k00000001
Create Date: 2026-12-02 11:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c16p00000002'
down_revision = 'c16k00000001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('photo_hash_chunks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phash', sa.BigInteger(), nullable=True))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("UPDATE photo_hash_chunks AS c SET phash = p.phash FROM photos AS p WHERE p.id = c.photo_id")
    else:
        op.execute("UPDATE photo_hash_chunks SET phash = "
                   "(SELECT photos.phash FROM photos WHERE photos.id = photo_hash_chunks.photo_id)")
    with op.batch_alter_table('photo_hash_chunks', schema=None) as batch_op:
        batch_op.drop_index('ix_photo_hash_chunks_lookup')
        batch_op.alter_column('phash', existing_type=sa.BigInteger(), nullable=False)
    with op.batch_alter_table('photo_hash_chunks', schema=None) as batch_op:
        batch_op.create_index('ix_photo_hash_chunks_lookup', ['tenant_id', 'chunk'], unique=False,
                              postgresql_include=['phash', 'photo_id'])


def downgrade():
    with op.batch_alter_table('photo_hash_chunks', schema=None) as batch_op:
        batch_op.drop_index('ix_photo_hash_chunks_lookup')
    with op.batch_alter_table('photo_hash_chunks', schema=None) as batch_op:
        batch_op.drop_column('phash')
    with op.batch_alter_table('photo_hash_chunks', schema=None) as batch_op:
        batch_op.create_index('ix_photo_hash_chunks_lookup', ['tenant_id', 'chunk', 'photo_id'], unique=False)

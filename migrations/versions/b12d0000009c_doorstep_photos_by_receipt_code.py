"""doorstep: who took each photo, client-declared EXIF, receipt codes, three policy fields

``photos``: ``taken_by`` (courier | recipient; every existing photo was the recipient's),
``taken_by_user`` (the username), ``client_exif``, ``removed_at``. ``receipts.receipt_code``
with a unique (tenant, code) index; receipts made before have no code (they were never told
one, so none is invented for them). Columns and indexes only, so SQLite changes both tables
in place, with their rows and the rows that reference them.

Existing doc types get ``photos_by: recipient``, ``photo_upload: original`` and
``photo_quality: warn`` — today's behaviour — not the new defaults: a doc type that asks
for photos would otherwise refuse every recipient until the couriers' app is updated, and
whether originals are kept as evidence is the tenant's decision, not a deploy's. New doc
types get the new defaults (courier, resized, warn). Sign links keep the policy they were
made with; the code reads a missing key as today's behaviour.

Revision ID: b12d0000009c
Revises: b15a0000009b
Create Date: 2026-12-01 22:30:00.000000

"""
import json

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b12d0000009c'
down_revision = 'b15a0000009b'
branch_labels = None
depends_on = None

LEGACY = {"photos_by": "recipient", "photo_upload": "original", "photo_quality": "warn"}


def upgrade():
    # Columns and indexes only: SQLite adds these in place. A batch rebuild of ``receipts``
    # or ``photos`` would drop tables that other rows reference.
    with op.batch_alter_table('photos', schema=None) as batch_op:
        batch_op.add_column(sa.Column('taken_by', sa.String(length=10), server_default='recipient', nullable=False))
        batch_op.add_column(sa.Column('taken_by_user', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('client_exif', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('removed_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('receipt_code', sa.String(length=8), nullable=True))
        batch_op.create_index('uq_receipts_tenant_code', ['tenant_id', 'receipt_code'], unique=True)

    doc_types = sa.table('doc_types', sa.column('id', sa.Integer), sa.column('policy', sa.JSON))
    conn = op.get_bind()
    for row in conn.execute(sa.select(doc_types.c.id, doc_types.c.policy)).all():
        policy = row.policy if isinstance(row.policy, dict) else json.loads(row.policy)
        merged = {**LEGACY, **policy}
        if merged != policy:
            conn.execute(doc_types.update().where(doc_types.c.id == row.id).values(policy=merged))


def _drop_column(table, column):
    # SQLite ≥ 3.35 drops a plain column in place; Alembic's batch mode would rebuild the table.
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(f'ALTER TABLE {table} DROP COLUMN {column}')
    else:
        op.drop_column(table, column)


def downgrade():
    doc_types = sa.table('doc_types', sa.column('id', sa.Integer), sa.column('policy', sa.JSON))
    conn = op.get_bind()
    for row in conn.execute(sa.select(doc_types.c.id, doc_types.c.policy)).all():
        policy = row.policy if isinstance(row.policy, dict) else json.loads(row.policy)
        trimmed = {k: v for k, v in policy.items() if k not in LEGACY}
        if trimmed != policy:
            conn.execute(doc_types.update().where(doc_types.c.id == row.id).values(policy=trimmed))
    op.drop_index('uq_receipts_tenant_code', table_name='receipts')
    _drop_column('receipts', 'receipt_code')
    for column in ('removed_at', 'client_exif', 'taken_by_user', 'taken_by'):
        _drop_column('photos', column)

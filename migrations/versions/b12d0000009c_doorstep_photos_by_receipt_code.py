"""doorstep: who took each photo, client-declared EXIF, receipt codes, three policy fields

``photos``: ``taken_by`` (courier | recipient; every existing photo was the recipient's),
``taken_by_user_id``, ``client_exif``, ``removed_at``. ``receipts.receipt_code`` with a
unique (tenant, code) constraint; receipts made before have no code (they were never told
one, so none is invented for them).

Existing doc types get ``photos_by: recipient``, ``photo_upload: original`` and
``photo_quality: warn`` — today's behaviour — not the new defaults: a doc type that asks
for photos would otherwise refuse every recipient until the couriers' app is updated, and
whether originals are kept as evidence is the tenant's decision, not a deploy's. New doc
types get the new defaults (courier, resized, warn). Sign links keep the policy they were
made with; the code reads a missing key as today's behaviour.

Revision ID: b12d0000009c
Revises: a1d4c0e70008
Create Date: 2026-12-01 22:30:00.000000

"""
import json

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b12d0000009c'
down_revision = 'a1d4c0e70008'
branch_labels = None
depends_on = None

LEGACY = {"photos_by": "recipient", "photo_upload": "original", "photo_quality": "warn"}


def upgrade():
    with op.batch_alter_table('photos', schema=None) as batch_op:
        batch_op.add_column(sa.Column('taken_by', sa.String(length=10), server_default='recipient', nullable=False))
        batch_op.add_column(sa.Column('taken_by_user_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('client_exif', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('removed_at', sa.DateTime(), nullable=True))
        batch_op.create_foreign_key('fk_photos_taken_by_user_id_users', 'users', ['taken_by_user_id'], ['id'])
    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('receipt_code', sa.String(length=8), nullable=True))
        batch_op.create_unique_constraint('uq_receipts_tenant_code', ['tenant_id', 'receipt_code'])

    doc_types = sa.table('doc_types', sa.column('id', sa.Integer), sa.column('policy', sa.JSON))
    conn = op.get_bind()
    for row in conn.execute(sa.select(doc_types.c.id, doc_types.c.policy)).all():
        policy = row.policy if isinstance(row.policy, dict) else json.loads(row.policy)
        merged = {**LEGACY, **policy}
        if merged != policy:
            conn.execute(doc_types.update().where(doc_types.c.id == row.id).values(policy=merged))


def downgrade():
    doc_types = sa.table('doc_types', sa.column('id', sa.Integer), sa.column('policy', sa.JSON))
    conn = op.get_bind()
    for row in conn.execute(sa.select(doc_types.c.id, doc_types.c.policy)).all():
        policy = row.policy if isinstance(row.policy, dict) else json.loads(row.policy)
        trimmed = {k: v for k, v in policy.items() if k not in LEGACY}
        if trimmed != policy:
            conn.execute(doc_types.update().where(doc_types.c.id == row.id).values(policy=trimmed))
    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.drop_constraint('uq_receipts_tenant_code', type_='unique')
        batch_op.drop_column('receipt_code')
    with op.batch_alter_table('photos', schema=None) as batch_op:
        batch_op.drop_constraint('fk_photos_taken_by_user_id_users', type_='foreignkey')
        batch_op.drop_column('removed_at')
        batch_op.drop_column('client_exif')
        batch_op.drop_column('taken_by_user_id')
        batch_op.drop_column('taken_by')

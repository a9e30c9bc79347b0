"""signature fingerprints carry their version

Issue 21: fingerprint version 2 follows the pen through time and survives re-sampling.
Existing rows are version 1 (server default, a cheap ADD COLUMN; old code keeps
working), except rows that version-2 code wrote before a downgrade, which get their
fingerprint's first byte (versions below 10). Their recompute from the stored strokes is not done here, where it would hold
the table for the whole migration: it enqueues the first job of the re-index chain
(receipts/fingerprints.py), which converts them in batches of receipts while the
submit's lookup uses the old and the new band keys. The downgrade drops the column; rows already
re-indexed then carry version-2 fingerprints, which the version-1 code never matches
(is_replay compares the version byte), so a downgrade loses replay detection against
them but breaks nothing.

Revision ID: b21r0000009d
Revises: b14c0000009f
Create Date: 2026-12-01 22:20:00

"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b21r0000009d'
down_revision = 'b14c0000009f'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('signature_fingerprints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.SmallInteger(), server_default='1', nullable=False))
        batch_op.create_index('ix_signature_fingerprints_version', ['version', 'tenant_id', 'receipt_id'], unique=False)
    # Rows written by version-2 code before a downgrade and this upgrade again: the
    # fingerprint's first byte is its version (a scan that writes only those rows).
    first_byte = ("get_byte(fingerprint, 0)" if op.get_bind().dialect.name == "postgresql"
                  else "CAST(hex(substr(fingerprint, 1, 1)) AS INTEGER)")
    op.execute(f"UPDATE signature_fingerprints SET version = {first_byte} WHERE {first_byte} <> 1")
    # The first job of the re-index chain, with the dedupe key and payload that
    # receipts.fingerprints.ensure_reindex gives it (the columns jobs has at a1d4c0e70008).
    first = op.get_bind().execute(sa.text(
        "SELECT tenant_id, receipt_id FROM signature_fingerprints WHERE version = 1 "
        "ORDER BY tenant_id, receipt_id LIMIT 1")).first()
    if first is not None:
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        jobs = sa.table('jobs', sa.column('kind', sa.String), sa.column('payload', sa.JSON),
                        sa.column('status', sa.String), sa.column('attempts', sa.Integer),
                        sa.column('max_attempts', sa.Integer), sa.column('run_after', sa.DateTime),
                        sa.column('created_at', sa.DateTime), sa.column('dedupe_key', sa.String))
        tenant, after = first[0], first[1] - 1
        op.bulk_insert(jobs, [{
            'kind': 'fingerprints.reindex', 'payload': {'tenant': tenant, 'after': after}, 'status': 'pending',
            'attempts': 0, 'max_attempts': 10, 'run_after': now, 'created_at': now,
            'dedupe_key': f'fingerprints-reindex:v2:{tenant}:{after}'}])


def downgrade():
    with op.batch_alter_table('signature_fingerprints', schema=None) as batch_op:
        batch_op.drop_index('ix_signature_fingerprints_version')
        batch_op.drop_column('version')

"""indexes for the purge of the webhook delivery log

Issue 16: finished jobs and the webhook delivery log are history, deleted by the worker
after their keep days (``JOB_DONE_KEEP_DAYS``/``JOB_DEAD_KEEP_DAYS``, ``WEBHOOK_HISTORY_DAYS``)
so the tables hold days of sign-offs, not all of them. The jobs purge walks the existing
``ix_jobs_due`` (status, run_after); deliveries and events are found by ``created_at``,
indexed here. Only indexes: old code keeps working. Building them holds writes to the
two tables until done: on a large database run it in a maintenance window (docs/DEPLOY.md).

Revision ID: c16r00000001
Revises: c25s00000001
Create Date: 2026-12-03 15:40:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c16r00000001'
down_revision = 'c25s00000001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('webhook_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_events_created_at'), ['created_at'], unique=False)
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_deliveries_created_at'), ['created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_deliveries_created_at'))
    with op.batch_alter_table('webhook_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_events_created_at'))

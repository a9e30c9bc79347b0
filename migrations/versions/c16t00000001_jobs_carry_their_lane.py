"""jobs carry their lane; the claim's index

Issue 16: a claim found the tenants waiting by aggregating every due row of its lane,
675 ms a claim with 300,000 due (bench/bench_claim.py), so a worker catching up after an
outage spent its time counting. Each job now stores the lane of its kind's handler
(``default`` unless a handler names another: ``webhook.deliver`` runs in ``webhooks``, the
only other lane when this revision was written), and ``ix_jobs_claim`` (status, tenant_id,
lane, run_after) lets the claim step from tenant to tenant and read each one's first due
job from the index. Existing rows are given their lane here. Old code ignores the column;
its server default makes a row old code writes ``default``, so a ``webhook.deliver``
written by an old web process during the rollout runs in the default lane, once, as
before. The downgrade drops both.

Revision ID: c16t00000001
Revises: c16r00000001
Create Date: 2026-12-03 16:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c16t00000001'
down_revision = 'c16r00000001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lane', sa.String(length=20), server_default='default', nullable=False))
    op.execute("UPDATE jobs SET lane = 'webhooks' WHERE kind = 'webhook.deliver'")
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_claim', ['status', 'tenant_id', 'lane', 'run_after'], unique=False)


def downgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_claim')
        batch_op.drop_column('lane')

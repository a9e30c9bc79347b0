"""consent answers remember when their IP was masked

The retention purge masks a consent answer's IP (``answer_client.ip``) once the doc type's
``retention_days.ip`` have passed, or at the consignee's erasure; ``answer_ip_purged_at``
says it was done, and the index finds the answers still due without reading the others.
A nullable ADD COLUMN: old code keeps working (it never reads the column). Answers written
before this revision are NULL, so the next purge masks those past their days. The
downgrade drops the column; the masked IPs stay masked.

Revision ID: c25s00000001
Revises: c16p00000002
Create Date: 2026-12-02 11:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c25s00000001'
down_revision = 'c16p00000002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('consent_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answer_ip_purged_at', sa.DateTime(), nullable=True))
        batch_op.create_index('ix_consent_requests_ip_due', ['tenant_id', 'answer_ip_purged_at', 'answered_at'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('consent_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_consent_requests_ip_due')
        batch_op.drop_column('answer_ip_purged_at')

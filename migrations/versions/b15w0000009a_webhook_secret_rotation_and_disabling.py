"""webhook secret rotation and disabling

Five nullable columns on webhook_subscriptions (cheap ADD COLUMN; old code ignores
them): the previous secret and when it stops signing after a rotation, when the
subscription started failing, and when and why it was disabled (410 or five days of
failures).

Revision ID: b15w0000009a
Revises: b12d0000009c
Create Date: 2026-12-01 22:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b15w0000009a'
down_revision = 'b12d0000009c'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('webhook_subscriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('previous_secret_encrypted', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('previous_secret_expires_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('failing_since', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('disabled_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('disabled_reason', sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table('webhook_subscriptions', schema=None) as batch_op:
        batch_op.drop_column('disabled_reason')
        batch_op.drop_column('disabled_at')
        batch_op.drop_column('failing_since')
        batch_op.drop_column('previous_secret_expires_at')
        batch_op.drop_column('previous_secret_encrypted')

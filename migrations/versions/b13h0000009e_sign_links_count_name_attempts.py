"""sign_links count the submits whose handwriting did not read as the name (issue 13)

Revision ID: b13h0000009e
Revises: b21r0000009d
Create Date: 2026-12-01 22:45:00

"""
import sqlalchemy as sa
from alembic import op

revision = "b13h0000009e"
down_revision = "b21r0000009d"
branch_labels = None
depends_on = None


def upgrade():
    # A NOT NULL column with a server default: existing links start at 0 attempts, and
    # code deployed before this revision (which never writes it) keeps working.
    op.add_column("sign_links", sa.Column("name_attempts", sa.Integer(), nullable=False, server_default="0"))


def downgrade():
    # Plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35): a batch copy of sign_links would
    # have to drop the table, which the foreign keys of receipts, photos and codes refuse.
    op.drop_column("sign_links", "name_attempts")

"""tenant time zone and language

Two columns on tenants with server defaults (cheap ADD COLUMN; every existing tenant
gets Asia/Shanghai and zh, what exports and PDFs assumed so far; old code ignores them):
the IANA zone that exports, receipt PDFs and the verification page show times in, and
the language exports use when the request names none.

Revision ID: b17e000000a1
Revises: b19p000000a2
Create Date: 2026-12-01 23:15:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b17e000000a1'
down_revision = 'b19p000000a2'
branch_labels = None
depends_on = None


# Plain ALTER TABLE, not batch mode: on SQLite a batch would copy and drop ``tenants``,
# which every other table references (foreign keys are on); SQLite >= 3.35 adds and drops
# a column in place, as PostgreSQL does.
def upgrade():
    op.add_column('tenants', sa.Column('timezone', sa.String(length=64), nullable=False,
                                       server_default='Asia/Shanghai'))
    op.add_column('tenants', sa.Column('language', sa.String(length=5), nullable=False, server_default='zh'))


def downgrade():
    op.drop_column('tenants', 'language')
    op.drop_column('tenants', 'timezone')

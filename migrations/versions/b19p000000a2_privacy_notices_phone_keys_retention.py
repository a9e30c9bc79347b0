"""privacy: notices, keyed phone index, purge marker (issue 19)

``privacy_notices`` (one row per version of a tenant's notice). ``waybills.consignee_phone_key``
and ``receipts.signer_phone_key``: HMAC-SHA256 of the phone's digits under a key derived from
``SECRET_KEY`` (HKDF, purpose ``phone-index``, as ``core.crypto.derived_key``), indexed with the
tenant, so a request by phone number is an index probe. Existing waybills are keyed here;
signers' phones were never stored whole, so old receipts have no key. ``receipts.raw_purged_at``,
``receipts.expired_at`` and ``photos.original_purged_at`` mark what retention has purged. Columns and indexes only: SQLite adds
them in place.

Revision ID: b19p000000a2
Revises: b13h0000009e
Create Date: 2026-12-01 23:30:00

"""
import hashlib
import hmac
import re

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b19p000000a2'
down_revision = 'b13h0000009e'
branch_labels = None
depends_on = None


def _phone_key_fn():
    # Written out so this revision means the same forever (core.masking.phone_key today).
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    from flask import current_app

    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"delivery_sign.crypto.v1",
               info=b"phone-index").derive(current_app.config["SECRET_KEY"].encode())

    def phone_key(phone):
        digits = re.sub(r"\D", "", phone or "")
        if len(digits) == 13 and digits.startswith("86"):
            digits = digits[2:]
        return hmac.new(key, digits.encode("ascii"), hashlib.sha256).hexdigest() if digits else None

    return phone_key


def upgrade():
    op.create_table(
        'privacy_notices',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by', sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_privacy_notices_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_notices')),
        sa.UniqueConstraint('tenant_id', 'version', name=op.f('uq_privacy_notices_tenant_id_version')),
    )
    with op.batch_alter_table('waybills', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consignee_phone_key', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_waybills_tenant_phone_key', ['tenant_id', 'consignee_phone_key'], unique=False)
    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signer_phone_key', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('raw_purged_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('expired_at', sa.DateTime(), nullable=True))
        batch_op.create_index('ix_receipts_tenant_signer_phone_key', ['tenant_id', 'signer_phone_key'], unique=False)
    with op.batch_alter_table('photos', schema=None) as batch_op:
        batch_op.add_column(sa.Column('original_purged_at', sa.DateTime(), nullable=True))

    waybills = sa.table('waybills', sa.column('id', sa.BigInteger), sa.column('consignee_phone', sa.String),
                        sa.column('consignee_phone_key', sa.String))
    conn = op.get_bind()
    rows = conn.execute(sa.select(waybills.c.id, waybills.c.consignee_phone)).all()
    if rows:
        phone_key = _phone_key_fn()
        for row in rows:
            conn.execute(waybills.update().where(waybills.c.id == row.id)
                         .values(consignee_phone_key=phone_key(row.consignee_phone)))


def _drop_column(table, column):
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(f'ALTER TABLE {table} DROP COLUMN {column}')
    else:
        op.drop_column(table, column)


def downgrade():
    _drop_column('photos', 'original_purged_at')
    op.drop_index('ix_receipts_tenant_signer_phone_key', table_name='receipts')
    _drop_column('receipts', 'expired_at')
    _drop_column('receipts', 'raw_purged_at')
    _drop_column('receipts', 'signer_phone_key')
    op.drop_index('ix_waybills_tenant_phone_key', table_name='waybills')
    _drop_column('waybills', 'consignee_phone_key')
    op.drop_table('privacy_notices')

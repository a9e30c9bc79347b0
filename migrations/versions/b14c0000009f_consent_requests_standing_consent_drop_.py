"""consent requests, standing consent, drop and assisted links (issue 14)

consent_requests (one SMS question per waybill, one answer), standing_consents (per
tenant, HMAC of the consignee phone and of the address) and consent_drops (a drop's place
and the kind of consent it relied on, for the reports). sign_links gain ``purpose``
(``sign``, or ``drop`` for the hidden link a consented drop's photos and receipt hang
off), ``assisted`` and whose phone the verified code went to; otp_codes say where each
code went (masked). Every new column is nullable or has a server default, so the code
deployed before this revision keeps working against it. ``waybills`` is not touched
(its report triggers stay as they are); ``dropped`` is a new value of its status string.

Revision ID: b14c0000009f
Revises: b15w0000009a
Create Date: 2026-12-01 22:19:35.721463

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b14c0000009f'
down_revision = 'b15w0000009a'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('consent_requests',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('waybill_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('places', sa.JSON(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('sent_to_masked', sa.String(length=20), nullable=False),
    sa.Column('created_by', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.Column('choice', sa.String(length=12), nullable=True),
    sa.Column('place', sa.String(length=100), nullable=True),
    sa.Column('day', sa.Date(), nullable=True),
    sa.Column('standing', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('answer_client', sa.JSON(), nullable=True),
    sa.Column('answer_audit_seq', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_consent_requests_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['waybill_id'], ['waybills.id'], name=op.f('fk_consent_requests_waybill_id_waybills'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_requests')),
    sa.UniqueConstraint('public_id', name=op.f('uq_consent_requests_public_id')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_consent_requests_token_hash'))
    )
    with op.batch_alter_table('consent_requests', schema=None) as batch_op:
        batch_op.create_index('ix_consent_requests_tenant_waybill', ['tenant_id', 'waybill_id', 'id'], unique=False)

    op.create_table('standing_consents',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('phone_hash', sa.String(length=64), nullable=False),
    sa.Column('address_hash', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('choice', sa.String(length=12), nullable=False),
    sa.Column('place', sa.String(length=100), nullable=True),
    sa.Column('request_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['request_id'], ['consent_requests.id'], name=op.f('fk_standing_consents_request_id_consent_requests')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_standing_consents_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_standing_consents')),
    sa.UniqueConstraint('public_id', name=op.f('uq_standing_consents_public_id'))
    )
    with op.batch_alter_table('standing_consents', schema=None) as batch_op:
        batch_op.create_index('ix_standing_consents_lookup', ['tenant_id', 'phone_hash', 'address_hash', 'id'], unique=False)

    op.create_table('consent_drops',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('waybill_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('receipt_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('place', sa.String(length=12), nullable=False),
    sa.Column('consent', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['receipt_id'], ['receipts.id'], name=op.f('fk_consent_drops_receipt_id_receipts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_consent_drops_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['waybill_id'], ['waybills.id'], name=op.f('fk_consent_drops_waybill_id_waybills'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_drops')),
    sa.UniqueConstraint('waybill_id', name=op.f('uq_consent_drops_waybill_id'))
    )
    with op.batch_alter_table('consent_drops', schema=None) as batch_op:
        batch_op.create_index('ix_consent_drops_tenant_created', ['tenant_id', 'created_at'], unique=False)

    # Plain ALTER TABLE … ADD COLUMN, not a batch copy: recreating sign_links on SQLite would
    # DROP a table that photos and receipts reference.
    op.add_column('otp_codes', sa.Column('sent_to', sa.String(length=20), nullable=True))
    op.add_column('otp_codes', sa.Column('to_consignee', sa.Boolean(), nullable=True))
    op.add_column('sign_links', sa.Column('purpose', sa.String(length=10), server_default='sign', nullable=False))
    op.add_column('sign_links', sa.Column('assisted', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('sign_links', sa.Column('otp_verified_whose', sa.String(length=10), nullable=True))
    op.add_column('sign_links', sa.Column('otp_verified_to', sa.String(length=20), nullable=True))


def downgrade():
    # Plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35, PostgreSQL): a batch copy of
    # sign_links would DROP a table other tables reference, which SQLite's foreign keys refuse.
    for table, column in (("sign_links", "otp_verified_to"), ("sign_links", "otp_verified_whose"),
                          ("sign_links", "assisted"), ("sign_links", "purpose"),
                          ("otp_codes", "to_consignee"), ("otp_codes", "sent_to")):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")

    with op.batch_alter_table('consent_drops', schema=None) as batch_op:
        batch_op.drop_index('ix_consent_drops_tenant_created')
    op.drop_table('consent_drops')

    with op.batch_alter_table('standing_consents', schema=None) as batch_op:
        batch_op.drop_index('ix_standing_consents_lookup')

    op.drop_table('standing_consents')
    with op.batch_alter_table('consent_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_consent_requests_tenant_waybill')

    op.drop_table('consent_requests')

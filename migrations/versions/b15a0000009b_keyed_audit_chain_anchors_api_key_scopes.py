"""keyed audit chain, chain anchors, API key scopes (issue 15.6, 15.15)

- ``audit_events.alg``: NULL for the events already written (plain SHA-256, left as they
  are: copies handed out may quote their hashes, and re-keying would also launder any edit
  made before this upgrade); new events are ``hmac-sha256-v1``.
- ``audit_heads.legacy_until`` / ``legacy_mac``: each existing head's seq becomes the end of
  its tenant's plain-SHA-256 window, bound to the audit key by an HMAC, so nobody without
  the key can later widen the window and pass a recomputed plain chain off as old.
- ``audit_anchors``: RFC 3161 timestamps of chain heads.
- ``api_keys.scopes``: NULL keeps the full access every existing key had.

The key is computed here as core/audit.py computes it (``AUDIT_KEY``, else HMAC-SHA256 of
the label under ``SECRET_KEY``), written out so this revision means the same forever. It
needs the app's config, which ``flask db upgrade`` and AUTO_MIGRATE provide.

Revision ID: b15a0000009b
Revises: a1d4c0e70008
Create Date: 2026-12-01 22:30:00.000000

"""
import hashlib
import hmac

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b15a0000009b'
down_revision = 'a1d4c0e70008'
branch_labels = None
depends_on = None

KEY_LABEL = b"delivery_sign audit chain key v1"


def _audit_key() -> bytes:
    from flask import current_app

    config = current_app.config
    if config.get("AUDIT_KEY"):
        return config["AUDIT_KEY"].encode("utf-8")
    return hmac.new(config["SECRET_KEY"].encode("utf-8"), KEY_LABEL, hashlib.sha256).digest()


def upgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('alg', sa.String(length=20), nullable=True))
    with op.batch_alter_table('audit_heads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('legacy_until', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('legacy_mac', sa.String(length=64), nullable=True))
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scopes', sa.JSON(), nullable=True))
    op.create_table(
        'audit_anchors',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.Column('anchored_at', sa.DateTime(), nullable=False),
        sa.Column('tsa_url', sa.String(length=500), nullable=False),
        sa.Column('token', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_audit_anchors_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_anchors')),
    )
    with op.batch_alter_table('audit_anchors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_anchors_tenant_id'), ['tenant_id'], unique=False)

    conn = op.get_bind()
    heads = conn.execute(sa.text("SELECT tenant_id, seq FROM audit_heads WHERE seq > 0")).all()
    if heads:
        key = _audit_key()
        for tenant_id, seq in heads:
            mac = hmac.new(key, f"legacy:{tenant_id}:{seq}".encode("ascii"), hashlib.sha256).hexdigest()
            conn.execute(sa.text("UPDATE audit_heads SET legacy_until = :seq, legacy_mac = :mac "
                                 "WHERE tenant_id = :tenant"), {"seq": seq, "mac": mac, "tenant": tenant_id})


def downgrade():
    # Keyed events do not verify as plain SHA-256 after a downgrade; the chain is then
    # reported broken from the first keyed event, which is the truth for the old code.
    with op.batch_alter_table('audit_anchors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_anchors_tenant_id'))
    op.drop_table('audit_anchors')
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_column('scopes')
    with op.batch_alter_table('audit_heads', schema=None) as batch_op:
        batch_op.drop_column('legacy_mac')
        batch_op.drop_column('legacy_until')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('alg')

"""report roll-up kept by triggers

``waybills.has_anomalies`` (backfilled from waybill_anomalies) and a partial index of the
waybills still to review (anomalous, not reconciled); the roll-up tables
report_counts and report_minutes, filled from the existing waybills; report_changes and
the triggers on waybills that write into it (see delivery_sign/reports/models.py).

SQLite: row triggers. PostgreSQL: statement triggers with transition tables, so a batch
or a COPY of thousands of waybills adds one grouped insert, not thousands. The SQL is
written out here (not imported from the app) so this revision means the same forever.
A later SQLite batch migration that recreates ``waybills`` must create the triggers again.

Revision ID: a1d4c0e70008
Revises: f7b0a2d10007
Create Date: 2026-11-27 17:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a1d4c0e70008'
down_revision = 'f7b0a2d10007'
branch_labels = None
depends_on = None

# (below, step) of the minute buckets; reports/rollup.py BUCKETS says the same.
BUCKETS = ((30, 1), (120, 5), (480, 15), (2880, 60), (None, 1440))
CELL = "tenant_id, org_unit_id, doc_type_id, signer_relation, created_day, signed_day"
CHANGE_COLUMNS = f"{CELL}, status, minutes, n, anomalous"


def _bucket(m):
    whens = " ".join(f"WHEN {m} < {below} THEN {m}" + ("" if step == 1 else f" - {m} % {step}")
                     for below, step in BUCKETS if below is not None)
    return f"CASE {whens} ELSE {m} - {m} % {BUCKETS[-1][1]} END"


def _expressions(dialect, row):
    """SQL for a waybill row's cell: China days, bucketed minutes, the anomaly flag."""
    start = f"coalesce({row}out_for_delivery_at, {row}assigned_at, {row}created_at)"
    if dialect == "postgresql":
        day = "(({}{} + interval '8 hours')::date)".format
        minutes = f"floor(extract(epoch from ({row}signed_at - {start})) / 60)::integer"
        anomalous = f"{row}has_anomalies::integer"
    else:
        day = "date({}{}, '+8 hours')".format
        minutes = f"CAST((julianday({row}signed_at) - julianday({start})) * 1440 AS INTEGER)"
        anomalous = f"{row}has_anomalies"
    return {
        "cell": f"{row}tenant_id, {row}org_unit_id, {row}doc_type_id, {row}signer_relation, "
                f"{day(row, 'created_at')}, {day(row, 'signed_at')}",
        "status": f"{row}status",
        "minutes": _bucket(f"({minutes})"),
        "anomalous": anomalous,
    }


def _backfill(dialect):
    e = _expressions(dialect, "")
    anomalous = "CASE WHEN has_anomalies THEN 1 ELSE 0 END"
    op.execute(f"INSERT INTO report_counts ({CELL}, status, n, anomalous) "
               f"SELECT {e['cell']}, status, count(*), sum({anomalous}) FROM waybills GROUP BY 1, 2, 3, 4, 5, 6, 7")
    op.execute(f"INSERT INTO report_minutes ({CELL}, minutes, n) "
               f"SELECT {e['cell']}, {e['minutes']}, count(*) FROM waybills WHERE signed_at IS NOT NULL "
               "GROUP BY 1, 2, 3, 4, 5, 6, 7")


WATCHED = ("tenant_id", "org_unit_id", "doc_type_id", "signer_relation", "status", "created_at", "assigned_at",
           "out_for_delivery_at", "signed_at", "has_anomalies")


def _sqlite_triggers():
    new, old = _expressions("sqlite", "NEW."), _expressions("sqlite", "OLD.")

    def change(e, sign):
        return (f"INSERT INTO report_changes ({CHANGE_COLUMNS}) "
                f"VALUES ({e['cell']}, {e['status']}, {e['minutes']}, {sign}1, {sign}{e['anomalous']});")

    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in WATCHED)
    op.execute(f"CREATE TRIGGER waybills_report_insert AFTER INSERT ON waybills BEGIN {change(new, '')} END")
    op.execute(f"CREATE TRIGGER waybills_report_update AFTER UPDATE OF {', '.join(WATCHED)} ON waybills "
               f"WHEN {changed} BEGIN {change(old, '-')} {change(new, '')} END")
    op.execute(f"CREATE TRIGGER waybills_report_delete AFTER DELETE ON waybills BEGIN {change(old, '-')} END")


def _postgresql_triggers():
    e = _expressions("postgresql", "r.")

    def rows(table, sign):
        return (f"SELECT {e['cell']}, {e['status']}, {e['minutes']} AS minutes, {sign}1 AS n, "
                f"{sign}{e['anomalous']} AS anomalous FROM {table} r")

    def insert(source):
        return (f"INSERT INTO report_changes ({CHANGE_COLUMNS}) SELECT {CELL}, status, minutes, sum(n), "
                f"sum(anomalous) FROM ({source}) c(tenant_id, org_unit_id, doc_type_id, signer_relation, "
                "created_day, signed_day, status, minutes, n, anomalous) "
                f"GROUP BY {CELL}, status, minutes HAVING sum(n) <> 0 OR sum(anomalous) <> 0;")

    op.execute(f"""
CREATE FUNCTION report_changes_from_waybills() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {insert(rows('new_rows', ''))}
  ELSIF TG_OP = 'UPDATE' THEN
    {insert(rows('old_rows', '-') + ' UNION ALL ' + rows('new_rows', ''))}
  ELSE
    {insert(rows('old_rows', '-'))}
  END IF;
  RETURN NULL;
END $$""")
    for event, referencing in (("INSERT", "NEW TABLE AS new_rows"),
                               ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
                               ("DELETE", "OLD TABLE AS old_rows")):
        op.execute(f"CREATE TRIGGER waybills_report_{event.lower()} AFTER {event} ON waybills "
                   f"REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION report_changes_from_waybills()")


def _cell_table(name, *columns):
    op.create_table(
        name,
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        *columns,
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('org_unit_id', sa.Integer(), nullable=True),
        sa.Column('doc_type_id', sa.Integer(), nullable=False),
        sa.Column('signer_relation', sa.String(length=20), nullable=True),
        sa.Column('created_day', sa.Date(), nullable=False),
        sa.Column('signed_day', sa.Date(), nullable=True),
        sa.Column('n', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['doc_type_id'], ['doc_types.id'], name=op.f(f'fk_{name}_doc_type_id_doc_types')),
        sa.ForeignKeyConstraint(['org_unit_id'], ['org_units.id'], name=op.f(f'fk_{name}_org_unit_id_org_units')),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f(f'fk_{name}_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('id', name=op.f(f'pk_{name}')),
    )


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        # Nobody writes waybills between the backfill and the triggers.
        op.execute("LOCK TABLE waybills IN SHARE MODE")
    _cell_table('report_changes', sa.Column('status', sa.String(length=20), nullable=False),
                sa.Column('anomalous', sa.BigInteger(), nullable=False),
                sa.Column('minutes', sa.Integer(), nullable=True))
    op.create_index('ix_report_changes_tenant', 'report_changes', ['tenant_id'], unique=False)
    _cell_table('report_counts', sa.Column('status', sa.String(length=20), nullable=False),
                sa.Column('anomalous', sa.BigInteger(), nullable=False))
    _cell_table('report_minutes', sa.Column('minutes', sa.Integer(), nullable=False))
    for table in ('report_counts', 'report_minutes'):
        for day in ('created', 'signed'):
            op.create_index(f'ix_{table}_{day}', table, ['tenant_id', f'{day}_day'], unique=False)

    # Not in batch mode: ADD COLUMN in place on SQLite too (recreating waybills would trip
    # the foreign keys that point at it).
    op.add_column('waybills', sa.Column('has_anomalies', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_index('ix_waybills_tenant_to_review', 'waybills', ['tenant_id', 'id'], unique=False,
                    postgresql_where=sa.text('has_anomalies AND reconciled_at IS NULL'),
                    sqlite_where=sa.text('has_anomalies AND reconciled_at IS NULL'))
    op.execute("UPDATE waybills SET has_anomalies = TRUE "
               "WHERE id IN (SELECT waybill_id FROM waybill_anomalies)")
    _backfill(dialect)
    if dialect == "postgresql":
        _postgresql_triggers()
    else:
        _sqlite_triggers()


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER waybills_report_{event} ON waybills")
        op.execute("DROP FUNCTION report_changes_from_waybills()")
    else:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER waybills_report_{event}")
    op.drop_index('ix_waybills_tenant_to_review', table_name='waybills')
    op.drop_column('waybills', 'has_anomalies')
    for table in ('report_minutes', 'report_counts', 'report_changes'):
        op.drop_table(table)     # their indexes go with them

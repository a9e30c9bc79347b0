"""Issue 16.5: month partitions of the append-only tables (migration c16k00000001).

On a database with sign-offs in it: the upgrade keeps every row and files it under its
month (PostgreSQL), new rows land in this month's partition, the worker's periodic task
makes the months ahead and moves a month that fell into the default partition, and the
downgrade gives plain tables with the rows still there. SQLite keeps plain tables.
"""
import re
from datetime import datetime

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import event, inspect, text

from delivery_sign.core import audit, jobs, partitions
from delivery_sign.core.clock import utcnow
from delivery_sign.extensions import db

from ..factories import Door, World
from ..revisions import before, schema_diff

REVISION = "c16k00000001"
SEPTEMBER = datetime(2026, 9, 15, 10, 0, 0)
# What that revision partitioned by month; photo_hash_chunks is by tenant since c16u00000001.
MONTHLY_AT_REVISION = ("audit_events", "signature_fingerprints", "photo_hash_chunks")


def _counts(tenant_id):
    return {table: db.session.execute(text(f"SELECT count(*) FROM {table} WHERE tenant_id = :t"),
                                      {"t": tenant_id}).scalar_one() for table in MONTHLY_AT_REVISION}


def _homes(table, tenant_id):
    """Which partition holds the tenant's rows of ``table``: {partition: rows}."""
    return dict(db.session.execute(text(
        f"SELECT tableoid::regclass::text, count(*) FROM {table} WHERE tenant_id = :t GROUP BY 1"),
        {"t": tenant_id}).all())


def _postgresql():
    return db.engine.dialect.name == "postgresql"


def _partitioned(table):
    return _postgresql() and partitions.is_partitioned(db.session.connection(), table)


def test_month_helpers():
    assert partitions.month_start(datetime(2026, 12, 31, 23, 59)).isoformat() == "2026-12-01"
    assert partitions.month_start(datetime(2026, 12, 2), 3).isoformat() == "2027-03-01"
    assert partitions.month_start(datetime(2027, 1, 5), -1).isoformat() == "2026-12-01"
    assert partitions.partition_name("audit_events", partitions.month_start(SEPTEMBER)) == "audit_events_p202609"


def test_the_worker_makes_partitions_ahead():
    assert partitions.ensure_partitions_ahead in [task.fn for task in jobs._PERIODIC]


def test_upgrade_and_downgrade_with_sign_offs_in_place(fresh_app, signature, photo_jpeg):
    with fresh_app.app_context():
        upgrade()
    world = World.create(fresh_app, fresh_app.test_client())
    assert Door(world, signature, photo_jpeg).submit().status_code == 201
    tenant = world.tenant_id
    with fresh_app.app_context():
        downgrade(revision=before(REVISION))
        # At the previous head: a receipt (and so its fingerprints) and an audit event of September.
        db.session.execute(text("UPDATE receipts SET created_at = :at WHERE tenant_id = :t"), {"at": SEPTEMBER, "t": tenant})
        db.session.execute(text("UPDATE audit_events SET created_at = :at WHERE tenant_id = :t AND seq = 1"),
                           {"at": SEPTEMBER, "t": tenant})
        db.session.commit()
        counts = _counts(tenant)
        assert all(counts.values()), counts
        db.session.remove()

        upgrade()
        assert _counts(tenant) == counts
        # The tables that had no time of their own take their receipt's and photo's.
        assert db.session.execute(text(
            "SELECT count(*) FROM signature_fingerprints f JOIN receipts r ON r.id = f.receipt_id "
            "WHERE f.tenant_id = :t AND f.created_at = r.created_at"), {"t": tenant}).scalar_one() \
            == counts["signature_fingerprints"]
        assert db.session.execute(text(
            "SELECT count(*) FROM photo_hash_chunks c JOIN photos p ON p.id = c.photo_id "
            "WHERE c.tenant_id = :t AND c.created_at = p.created_at"), {"t": tenant}).scalar_one() \
            == counts["photo_hash_chunks"]
        this_month = partitions.month_start(utcnow())
        if _postgresql():
            assert all(_partitioned(table) for table in MONTHLY_AT_REVISION)
            assert _homes("audit_events", tenant) == {
                "audit_events_p202609": 1, partitions.partition_name("audit_events", this_month): counts["audit_events"] - 1}
            assert _homes("signature_fingerprints", tenant) == {"signature_fingerprints_p202609": counts["signature_fingerprints"]}
        else:
            names = inspect(db.session.connection()).get_table_names()
            assert not [name for name in names if name.startswith("audit_events_p")]

        # New rows land in this month's partition, under ids the old sequence goes on giving.
        last_id = db.session.execute(text("SELECT max(id) FROM audit_events")).scalar_one()
        event = audit.record(tenant, "waybill.created", "user:admin", "waybill:PART1", {})
        db.session.commit()
        new_id = db.session.execute(text("SELECT id FROM audit_events WHERE tenant_id = :t AND seq = :seq"),
                                    {"t": tenant, "seq": event["seq"]}).scalar_one()
        assert new_id > last_id
        if _postgresql():
            home = db.session.execute(text("SELECT tableoid::regclass::text FROM audit_events WHERE id = :id"),
                                      {"id": new_id}).scalar_one()
            assert home == partitions.partition_name("audit_events", this_month)
        db.session.remove()
        assert schema_diff() == []

        if _postgresql():
            _worker_makes_months(tenant)

        downgrade(revision=before(REVISION))
        assert not any(_partitioned(table) for table in MONTHLY_AT_REVISION)
        counts["audit_events"] += 1
        assert _counts(tenant) == counts
        assert "created_at" not in {c["name"] for c in inspect(db.session.connection()).get_columns("photo_hash_chunks")}
        db.session.remove()
        upgrade()
        assert _counts(tenant) == counts
        db.session.remove()


def _worker_makes_months(tenant):
    ahead = partitions.month_start(utcnow(), partitions.MONTHS_AHEAD)
    last = partitions.partition_name("audit_events", ahead)
    db.session.execute(text(f"DROP TABLE {last}"))
    db.session.commit()
    partitions.ensure_partitions_ahead()
    db.session.commit()
    assert db.session.execute(text("SELECT to_regclass(:n)"), {"n": last}).scalar() == last

    # A row of a month nobody made yet lands in the default partition, and moves into
    # its own partition when the worker gets there.
    later = partitions.month_start(utcnow(), 8)
    db.session.execute(text(
        "INSERT INTO audit_events (tenant_id, seq, event_type, actor, subject, data, created_at, prev_hash, hash) "
        "VALUES (:t, 0, 'test', 'test', 'test:later', '{}', :at, '', '')"), {"t": tenant, "at": later})
    assert _homes("audit_events", tenant).get("audit_events_pdefault") == 1
    made = partitions.ensure_partitions(db.session.connection(), now=datetime.combine(later, datetime.min.time()), ahead=1)
    assert partitions.partition_name("audit_events", later) in made
    assert "audit_events_pdefault" not in _homes("audit_events", tenant)
    assert _homes("audit_events", tenant)[partitions.partition_name("audit_events", later)] == 1
    assert partitions.ensure_partitions(db.session.connection(), now=datetime.combine(later, datetime.min.time()), ahead=1) == []
    db.session.execute(text("DELETE FROM audit_events WHERE subject = 'test:later'"))
    db.session.commit()


def test_the_replay_lookup_leaves_the_months_ahead_out(app):
    """The replay lookup is bound by ``newest_written``, so PostgreSQL plans it without the
    (empty) months made ahead, each of which it would otherwise probe key by key."""
    from delivery_sign.receipts import fingerprints

    with app.app_context():
        if not _postgresql():
            pytest.skip("SQLite keeps plain tables; the bound is only a filter there")
        partitions.ensure_partitions(db.session.connection())
        now = utcnow()
        ahead = [partitions.month_start(now, months) for months in range(2, partitions.MONTHS_AHEAD + 1)]
        plan = "\n".join(row[0] for row in _explained(fingerprints._CANDIDATES, {
            "tenant_id": 1, "keys": [1, 2, 3], "newest": partitions.newest_written()}))
        assert partitions.partition_name("signature_fingerprints", partitions.month_start(now)) in plan
        for month in ahead:
            assert partitions.partition_name("signature_fingerprints", month) not in plan, plan
        db.session.rollback()


def test_the_duplicate_photo_probe_reads_its_tenants_partition_only(app):
    """photo_hash_chunks is partitioned by tenant (c16u00000001): the probe of every upload
    reads one partition, whatever the months its photos were taken in."""
    from delivery_sign.receipts import photos

    with app.app_context():
        if not _postgresql():
            pytest.skip("SQLite keeps plain tables")
        count = partitions.TENANT_PARTITIONS["photo_hash_chunks"]
        assert db.session.execute(text(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'photo_hash_chunks'::regclass")).scalar_one() == count
        for tenant_id in (1, 2, 3):
            plan = "\n".join(row[0] for row in _explained(photos._probe_pg(), {
                "probe_hash": 12345, "tenant_id": tenant_id, "link_id": 1}))
            assert len(set(re.findall(r"photo_hash_chunks_h\d\d", plan))) == 1, plan
        db.session.rollback()


def _explained(statement, params):
    """PostgreSQL's plan of ``statement`` as the app sends it (its bound and expanded values)."""
    connection = db.session.connection()

    def explain(conn, cursor, sql, parameters, context, executemany):
        return f"EXPLAIN {sql}", parameters

    event.listen(connection, "before_cursor_execute", explain, retval=True)
    try:
        return connection.execute(statement, params).all()
    finally:
        event.remove(connection, "before_cursor_execute", explain)

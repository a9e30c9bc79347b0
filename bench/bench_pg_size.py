"""PostgreSQL at size (issue 16.5): lookups over millions of receipts, month-partitioned.

Seeds a scratch PostgreSQL database (dropped afterwards) at the migration head, server-side
with ``INSERT … SELECT … FROM generate_series`` (triggers and foreign-key checks off, the
secondary indexes and unreferenced keys dropped while seeding and built once after):
``--tenants`` tenants sharing ``--receipts`` receipts over ``--days`` days up to now, each receipt with its sign link and waybill, one photo with its four hash chunks, its
16 fingerprint band rows and three audit events. Then, in the app with the service's own
query code, times:

- replay lookup: ``receipts.fingerprints.find_replay`` (the band query of every submit),
  half with the bands of a stored receipt (a hit), half with a fresh signature's (a miss);
- duplicate-photo probe: ``receipts.photos.near_photo`` (the probe of every upload),
  half a stored photo's hash, half a new one;
- receipt by id: ``receipts.services.get_receipt`` (with its reach check);
- waybill list: ``waybills.services.list_waybills``, the first page of 50, admin;
- orphan photo delete: ``receipts.photos.delete_photos`` of one stored photo (the orphan
  sweep's), rolled back;
- audit verify of one day: one tenant's events of today, each hash recomputed
  (``core.audit.chain_hash``) and linked to the one before; today's events are written by
  ``core.audit.record_many`` so the chain is real.

Targets: p95 ≤ 10 ms for the lookups (the first four). Run:
``python bench/bench_pg_size.py --receipts 5000000`` (default 200,000: a quick run);
``--explain`` adds the plans of the probe (before/after) and the list, ``--keep`` keeps the database,
``--reuse NAME`` measures a kept database again (with this tree's code) without seeding. The
seeded span's month partitions are made first, as the worker would have made them. Seeding runs
in two lanes of connections; 5M receipts took 1,129 s on this 2-core machine, loaded.
Times are of one process on a machine that may be loaded; the floor line (``SELECT 1``)
in the same run shows what a round trip costs there.
"""
import argparse
import os
import random
import sys
import tempfile
import time
from datetime import timedelta
from types import SimpleNamespace

from sqlalchemy import select, text

from common import PG_BASE, Instance, percentile

TARGET_MS = 10.0
FINGERPRINT_BANDS = 16
EVENTS_PER_RECEIPT = 3


def _steps(receipts, tenants, days, chunk_hash=True):
    """The seeding statements, in order: (what, SQL). ``:n``, ``:t``, ``:days`` bound.
    ``chunk_hash``: the hash chunks carry their photo's hash (from migration c16p00000002;
    False seeds a tree from before it, for a before/after run)."""
    chunk_cols, chunk_vals = ("phash, ", "p.phash, ") if chunk_hash else ("", "")
    spread = "(now() AT TIME ZONE 'utc') - make_interval(secs => (:n - g) * (:days * 86400.0 / :n))"
    tenant_of = "tt.tenant_id"
    join = "FROM generate_series(1, :n) g JOIN tt ON tt.k = g % :t"
    tt = ("WITH tt AS (SELECT row_number() OVER (ORDER BY t.id) - 1 AS k, t.id AS tenant_id, d.id AS doc_type_id "
          "FROM tenants t JOIN doc_types d ON d.tenant_id = t.id AND d.code = 'bench' WHERE t.slug LIKE 'size%') ")
    return [
        ("tenants", "INSERT INTO tenants (slug, name, created_at) SELECT 'size' || k, '规模物流' || k, "
                    "now() AT TIME ZONE 'utc' FROM generate_series(0, :t - 1) k"),
        ("doc types", "INSERT INTO doc_types (tenant_id, code, name, policy, created_at, updated_at) "
                      "SELECT t.id, 'bench', d.name, d.policy, d.created_at, d.updated_at FROM tenants t, "
                      "(SELECT * FROM doc_types ORDER BY id LIMIT 1) d WHERE t.slug LIKE 'size%'"),
        ("sign links", tt + "INSERT INTO sign_links (id, tenant_id, token_hash, doc_type_id, policy, consignee_phone, "
                       "created_by, created_at, expires_at, used_at, otp_failures) "
                       f"SELECT g, {tenant_of}, md5('l' || g) || md5('k' || g), tt.doc_type_id, '{{}}', "
                       f"'13800000000', 'user:admin', {spread}, {spread} + interval '3 days', {spread}, 0 {join}"),
        ("waybills", tt + "INSERT INTO waybills (id, tenant_id, number, doc_type_id, status, consignee_name, "
                     "consignee_phone, consignee_address, body_hash, created_at, updated_at, signed_at, "
                     "receipt_public_id, signer_relation) "
                     f"SELECT g, {tenant_of}, 'SF' || lpad(g::text, 10, '0'), tt.doc_type_id, 'signed', '王小明', "
                     f"'13800000000', '上海市浦东新区世纪大道' || g || '号', md5('b' || g), {spread}, {spread}, {spread}, "
                     f"'r' || left(md5('r' || g), 31), 'self' {join}"),
        ("link waybills", "INSERT INTO sign_link_waybills (link_id, waybill_id) SELECT g, g FROM generate_series(1, :n) g"),
        ("receipts", tt + "INSERT INTO receipts (id, public_id, tenant_id, link_id, submission_id, outcome, "
                     "signer_name, signer_relation, evidence, evidence_hash, audit_seq, anomalies, response, created_at) "
                     f"SELECT g, 'r' || left(md5('r' || g), 31), {tenant_of}, g, md5('s' || g), 'signed', '王小明', 'self', "
                     "json_build_object('waybills', json_build_array('SF' || lpad(g::text, 10, '0')), "
                     "'location', json_build_object('lat', 31.23, 'lng', 121.47, 'accuracy', 15), "
                     "'photos', json_build_array(md5('p' || g))), "
                     f"md5('e' || g) || md5('h' || g), (g / :t) * {EVENTS_PER_RECEIPT} + 2, '[]', '{{}}', {spread} {join}"),
        ("photos", tt + "INSERT INTO photos (id, public_id, tenant_id, link_id, receipt_id, kind, sha256, storage_key, "
                   "mime, size, width, height, exif, checks, anomalies, phash, created_at) "
                   f"SELECT g, 'p' || left(md5('p' || g), 31), {tenant_of}, g, g, 'goods', md5('p' || g) || md5('q' || g), "
                   "'photos/' || md5('p' || g), 'image/jpeg', 1800000, 4000, 3000, '{}', '{}', '[]', "
                   f"('x' || substr(md5('ph' || g), 1, 16))::bit(64)::bigint, {spread} {join}"),
        ("photo hash chunks", f"INSERT INTO photo_hash_chunks (tenant_id, chunk, photo_id, {chunk_cols}created_at) "
                              "SELECT p.tenant_id, (no::bigint << 16) | ((p.phash >> (16 * no)) & 65535), p.id, "
                              f"{chunk_vals}p.created_at "
                              "FROM photos p, generate_series(0, 3) no"),
        ("signature fingerprints", "WITH r AS MATERIALIZED (SELECT id, tenant_id, created_at, '\\x02'::bytea "
                                   "|| decode(repeat(md5('f' || id), 4), 'hex') AS fp FROM receipts) "
                                   "INSERT INTO signature_fingerprints (tenant_id, band_key, receipt_id, fingerprint, "
                                   "version, created_at) "
                                   "SELECT r.tenant_id, hashint8extended(r.id, band) & 9223372036854775807, r.id, "
                                   "substr(r.fp, 1, 64), 2, r.created_at "
                                   f"FROM r, generate_series(1, {FINGERPRINT_BANDS}) band"),
        ("audit events", "INSERT INTO audit_events (tenant_id, seq, event_type, actor, subject, data, created_at, "
                         "prev_hash, hash, alg) "
                         f"SELECT r.tenant_id, (r.id / :t) * {EVENTS_PER_RECEIPT} + e, "
                         "(ARRAY['sign_link.opened', 'photo.uploaded', 'receipt.created'])[e], 'recipient', "
                         "'receipt:' || r.public_id, '{}', r.created_at, md5('a' || r.id || e) || md5('b' || r.id || e), "
                         "md5('c' || r.id || e) || md5('d' || r.id || e), 'hmac-sha256-v1' "
                         f"FROM receipts r, generate_series(1, {EVENTS_PER_RECEIPT}) e"),
        ("audit heads", "INSERT INTO audit_heads (tenant_id, seq, hash, legacy_until) "
                        "SELECT DISTINCT ON (tenant_id) tenant_id, seq, hash, 0 FROM audit_events "
                        "WHERE tenant_id IN (SELECT id FROM tenants WHERE slug LIKE 'size%') ORDER BY tenant_id, seq DESC"),
        ("sequences", "SELECT setval(pg_get_serial_sequence(t, 'id'), (SELECT max(id) FROM receipts)) "
                      "FROM unnest(ARRAY['sign_links', 'waybills', 'receipts', 'photos']) t"),
    ]


SEEDED_TABLES = ("sign_links", "waybills", "sign_link_waybills", "receipts", "photos", "photo_hash_chunks",
                 "signature_fingerprints", "audit_events")

# What is dropped while seeding and built again after: the seeded tables' indexes that
# back no constraint (on the table itself: a partitioned table's index, not its
# partitions' copies), and the primary keys and unique constraints of the tables no
# foreign key points at (the fingerprint, hash chunk and audit tables, the largest).
_SECONDARY_INDEXES = """
SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
WHERE t.relname = ANY(:tables) AND t.relnamespace = 'public'::regnamespace AND NOT i.indisprimary
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
  AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid)
ORDER BY 1"""
_UNREFERENCED_KEYS = """
SELECT t.relname, c.conname, pg_get_constraintdef(c.oid)
FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
WHERE t.relname = ANY(:tables) AND t.relnamespace = 'public'::regnamespace AND c.contype IN ('p', 'u')
  AND c.conparentid = 0 AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.confrelid = t.oid)
ORDER BY 1, 2"""


# The seeding steps in two lanes run side by side on two connections (what each needs is
# made before it: the receipts lane signals when receipts are in); the rest after both.
_FIRST = ("tenants", "doc types")
_LANES = (("sign links", "waybills", "link waybills", "photos", "photo hash chunks", "=receipts", "audit events",
           "audit heads"),
          ("receipts", "signature fingerprints"))
# Largest first, so the two rebuild and vacuum lanes end about together.
_BY_SIZE = ("signature_fingerprints", "audit_events", "photo_hash_chunks", "receipts", "photos", "waybills",
            "sign_links", "sign_link_waybills")


def _side_by_side(jobs, work, lanes=2):
    """Run ``work(job)`` for every job on ``lanes`` threads (each its own connection)."""
    import queue
    import threading

    pending, failed = queue.Queue(), []
    for job in jobs:
        pending.put(job)

    def lane():
        while True:
            try:
                job = pending.get_nowait()
            except queue.Empty:
                return
            try:
                work(job)
            except BaseException as error:    # reported after the others end
                failed.append(error)

    threads = [threading.Thread(target=lane) for _ in range(lanes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failed:
        raise failed[0]


def _months_seeded(engine, days):
    """The month partitions of the seeded span, as the worker would have made them month by
    month (the migration made only this month's and the ones ahead): without them the
    seeded rows of earlier months would all sit in the default partition."""
    from delivery_sign.core import partitions
    from delivery_sign.core.clock import utcnow

    now = utcnow()
    made = []
    with engine.begin() as conn:
        for table in partitions.PARTITIONED:
            month = partitions.month_start(now - timedelta(days=days))
            while month <= partitions.month_start(now):
                if partitions.create_month(conn, table, month):
                    made.append(partitions.partition_name(table, month))
                month = partitions.month_start(month, 1)
    return made


def seed(engine, receipts, tenants, days):
    """Seed server-side; the secondary indexes are dropped first and built again after the
    rows are in (one sorted build each instead of millions of inserts into each). Steps,
    rebuilds and vacuums run in two lanes side by side."""
    import threading

    params = {"n": receipts, "t": tenants, "days": days}
    started = time.perf_counter()
    made = _months_seeded(engine, days)
    print(f"  made {len(made)} month partitions of the seeded span", flush=True)
    with engine.begin() as conn:
        indexes = conn.execute(text(_SECONDARY_INDEXES), {"tables": list(SEEDED_TABLES)}).all()
        keys = conn.execute(text(_UNREFERENCED_KEYS), {"tables": list(SEEDED_TABLES)}).all()
        for name, _ in indexes:
            conn.execute(text(f"DROP INDEX {name}"))
        for table, name, _ in keys:
            conn.execute(text(f"ALTER TABLE {table} DROP CONSTRAINT {name}"))
    print(f"  dropped {len(indexes)} indexes and {len(keys)} keys of {len(SEEDED_TABLES)} tables while seeding",
          flush=True)
    with engine.connect() as conn:
        chunk_hash = conn.execute(text("SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE "
                                       "table_name = 'photo_hash_chunks' AND column_name = 'phash')")).scalar()
    steps = dict(_steps(receipts, tenants, days, chunk_hash))
    done = {what: threading.Event() for what in steps}

    def run_step(what):
        step = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))   # no triggers, no FK checks
            conn.execute(text("SET LOCAL synchronous_commit = off"))
            conn.execute(text("SET LOCAL work_mem = '256MB'"))
            sql = steps[what]
            conn.execute(text(sql), {k: v for k, v in params.items() if f":{k}" in sql})
        done[what].set()
        print(f"  seeded {what:24} {time.perf_counter() - step:7.1f} s", flush=True)

    def run_lane(lane):
        for what in lane:
            if what.startswith("="):
                done[what[1:]].wait()
            else:
                run_step(what)

    for what in _FIRST:
        run_step(what)
    _side_by_side(_LANES, run_lane)
    for what in steps:
        if not done[what].is_set():
            run_step(what)
    step = time.perf_counter()
    by_table = {}
    for table, name, definition in keys:
        by_table.setdefault(table, []).append(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
    for name, definition in indexes:
        table = definition.replace(" ON ONLY ", " ON ", 1).split(" ON ", 1)[1].split()[0].split(".")[-1]
        # a partitioned one: on all partitions
        by_table.setdefault(table, []).append(definition.replace(" ON ONLY ", " ON ", 1))

    def rebuild(table):
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
            for statement in by_table[table]:
                conn.execute(text(statement))

    _side_by_side(sorted(by_table, key=lambda t: _BY_SIZE.index(t) if t in _BY_SIZE else len(_BY_SIZE)), rebuild)
    print(f"  built the indexes and keys again {time.perf_counter() - step:7.1f} s", flush=True)
    step = time.perf_counter()
    with engine.connect() as conn:
        leaves = conn.execute(text(
            "SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' "
            "ORDER BY pg_total_relation_size(c.oid) DESC")).scalars().all()
        parents = conn.execute(text(
            "SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'p'"
        )).scalars().all()

    def vacuum(table):
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"VACUUM (ANALYZE) {table}"))

    _side_by_side(leaves, vacuum)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in parents:    # a partitioned table's own statistics (its partitions have theirs)
            conn.execute(text(f"ANALYZE {table}"))
    print(f"  vacuum analyze {'':17} {time.perf_counter() - step:7.1f} s", flush=True)
    return time.perf_counter() - started


def _line(name, times, target=None):
    p50, p95 = percentile(times, 50), percentile(times, 95)
    verdict = "" if target is None else f"  target p95 ≤ {target:.0f} ms: {'met' if p95 <= target else 'NOT met'}"
    print(f"  {name:34} p50 {p50:8.2f} ms  p95 {p95:8.2f} ms  (n={len(times)}){verdict}", flush=True)


def measure(app, receipts, tenants, samples, day_events):
    from delivery_sign.core import audit
    from delivery_sign.core.auth import Principal
    from delivery_sign.core.clock import utcnow
    from delivery_sign.evidence.replay import band_keys
    from delivery_sign.extensions import db
    from delivery_sign.receipts.fingerprints import find_replay
    from delivery_sign.receipts.services import get_receipt
    from delivery_sign.receipts.models import Photo
    from delivery_sign.receipts.photos import delete_photos, near_photo
    from delivery_sign.waybills.services import list_waybills

    with app.app_context():
        tenant_ids = db.session.execute(text("SELECT id FROM tenants WHERE slug LIKE 'size%' ORDER BY id")).scalars().all()
        admins = {t: Principal(tenant_id=t, role="admin", actor="user:bench") for t in tenant_ids}

        def stored(rng):
            """A random stored receipt: (tenant, receipt id)."""
            g = rng.randrange(1, receipts + 1)
            return tenant_ids[g % tenants], g

        def fresh_fingerprint(rng):
            return bytes([2]) + rng.randbytes(63)

        def replay(rng):
            tenant, g = stored(rng)
            if rng.random() < 0.5:
                fp, keys = db.session.execute(text(
                    "SELECT fingerprint, array_agg(band_key) FROM signature_fingerprints WHERE receipt_id = :g "
                    "AND tenant_id = :t GROUP BY fingerprint"), {"g": g, "t": tenant}).one()
                started = time.perf_counter()
                found = find_replay(tenant, None, fp, keys)
                assert found is not None
                return time.perf_counter() - started
            fp = fresh_fingerprint(rng)
            keys = band_keys(fp) or [rng.getrandbits(62) for _ in range(16)]
            started = time.perf_counter()
            find_replay(tenant, None, fp, keys)
            return time.perf_counter() - started

        def duplicate_probe(rng):
            tenant, g = stored(rng)
            phash = rng.getrandbits(63)
            if rng.random() < 0.5:
                phash = db.session.execute(text("SELECT phash FROM photos WHERE id = :g"), {"g": g}).scalar_one()
            link = SimpleNamespace(id=0, tenant_id=tenant)    # a new sign-off's link
            started = time.perf_counter()
            near_photo(link, phash)
            return time.perf_counter() - started

        def receipt_by_id(rng):
            tenant, g = stored(rng)
            public_id = db.session.execute(text("SELECT 'r' || left(md5('r' || :g), 31)"), {"g": str(g)}).scalar_one()
            started = time.perf_counter()
            get_receipt(admins[tenant], public_id)
            return time.perf_counter() - started

        def waybill_list(rng):
            tenant, _ = stored(rng)
            started = time.perf_counter()
            page = list_waybills(admins[tenant], {"limit": 50, "cursor": None})
            assert len(page["items"]) == 50
            return time.perf_counter() - started

        def orphan_delete(rng):
            """The orphan sweep's delete of one photo (rolled back by ``run``)."""
            _, g = stored(rng)
            photo = db.session.get(Photo, g)
            started = time.perf_counter()
            delete_photos([photo])
            return time.perf_counter() - started

        def floor(rng):
            started = time.perf_counter()
            db.session.execute(text("SELECT 1")).scalar_one()
            return time.perf_counter() - started

        def run(name, probe, target=None):
            times = []
            rng = random.Random(16)
            for i in range(samples + 1):
                elapsed = probe(rng)
                db.session.rollback()
                if i:                                  # the first one warms the plan cache
                    times.append(elapsed * 1000)
            _line(name, times, target)

        run("floor: SELECT 1 round trip", floor)
        run("replay lookup (find_replay)", replay, TARGET_MS)
        run("duplicate-photo probe (near_photo)", duplicate_probe, TARGET_MS)
        run("receipt by id (get_receipt)", receipt_by_id, TARGET_MS)
        run("waybill list, first page of 50", waybill_list, TARGET_MS)
        run("orphan photo delete (delete_photos)", orphan_delete)

        # Audit verify of one day: today's events, written through the service.
        tenant = tenant_ids[0]
        for start in range(0, day_events, 500):
            audit.record_many(tenant, [("waybill.created", "user:bench", f"waybill:SIZE{start + i}", {"n": i})
                                       for i in range(min(500, day_events - start))])
            db.session.commit()
        day = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
        times = []
        for _ in range(max(5, samples // 20)):
            started = time.perf_counter()
            result = verify_day(tenant, day, day + timedelta(days=1))
            times.append((time.perf_counter() - started) * 1000)
            db.session.rollback()
        _line(f"audit verify of one day ({result['events']:,} ev)", times)
        print(f"    ok={result['ok']} (chain links of the day checked; seeded events before it carry random hashes)")


def explain(app, receipts, tenants):
    """EXPLAIN ANALYZE of the statements one duplicate-photo probe (with the probe keys of
    the old even pigeonhole, radius 3 in every chunk, and with the current ones) and one
    waybill list page send, captured as the service's own code sends them."""
    from sqlalchemy import event

    from delivery_sign.core.auth import Principal
    from delivery_sign.evidence import photo_hash
    from delivery_sign.extensions import db
    from delivery_sign.receipts.photos import near_photo
    from delivery_sign.waybills.services import list_waybills

    def statements(call):
        sent = []

        def capture(conn, cursor, statement, parameters, context, executemany):
            sent.append((statement, parameters))

        event.listen(db.engine, "before_cursor_execute", capture)
        try:
            call()
        finally:
            event.remove(db.engine, "before_cursor_execute", capture)
            db.session.rollback()
        return sent

    def show(title, sent):
        for statement, parameters in sent:
            with db.engine.connect() as conn:
                plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).scalars().all()
            print(f"  -- {title}: {statement.split()[0]} ... ({len(plan)} plan lines)")
            print("\n".join("     " + line for line in plan), flush=True)

    with app.app_context():
        tenant = db.session.execute(text("SELECT id FROM tenants WHERE slug LIKE 'size%' ORDER BY id")).scalars().first()
        phash = db.session.execute(text("SELECT phash FROM photos WHERE tenant_id = :t LIMIT 1"),
                                   {"t": tenant}).scalar_one() & ((1 << 64) - 1)
        db.session.rollback()
        link = SimpleNamespace(id=0, tenant_id=tenant)
        even = [(no << photo_hash.CHUNK_BITS) | value for no, value in photo_hash.probe_keys(phash)]

        def before():    # the probe as it was: every key bound in one array, radius 3 in every chunk
            from delivery_sign.core.keysets import in_many
            from delivery_sign.receipts.models import Photo, PhotoHashChunk
            db.session.execute(
                select(Photo.public_id, Photo.phash).join(PhotoHashChunk, PhotoHashChunk.photo_id == Photo.id)
                .where(PhotoHashChunk.tenant_id == tenant, in_many(db.session, PhotoHashChunk.chunk, even),
                       Photo.link_id != 0, Photo.receipt_id.isnot(None))).all()

        before()    # plan cache and buffers warm, as in the timed runs
        show(f"duplicate-photo probe before, {len(even)} keys bound (radius 3 in every chunk)", statements(before))
        near_photo(link, phash)
        show(f"duplicate-photo probe, {len(photo_hash.probe_chunks(phash))} keys made by the server (chunk_radii)",
             statements(lambda: near_photo(link, phash)))
        admin = Principal(tenant_id=tenant, role="admin", actor="user:bench")
        show("waybill list, first page of 50", statements(lambda: list_waybills(admin, {"limit": 50, "cursor": None})))


def verify_day(tenant_id, since, until):
    """The tenant's events of [since, until) in seq order: each hash recomputed and each
    ``prev_hash`` the hash of the event before (the first: of the event just before the day)."""
    from delivery_sign.core import audit
    from delivery_sign.extensions import db

    events = db.session.execute(
        select(audit.AuditEvent).where(audit.AuditEvent.tenant_id == tenant_id,
                                             audit.AuditEvent.created_at >= since, audit.AuditEvent.created_at < until)
        .order_by(audit.AuditEvent.seq)).scalars().all()
    key, prev, ok, checked = audit.audit_key(), None, True, 0
    for event in events:
        if event.alg == audit.ALG and event.event_type == "waybill.created":   # the real links of the day
            ok &= prev is None or event.prev_hash == prev
            ok &= audit.chain_hash(event.prev_hash, audit._event_body(event), key, event.alg) == event.hash
            checked += 1
        prev = event.hash
    return {"ok": ok, "events": len(events), "checked": checked}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--receipts", type=int, default=200_000)
    parser.add_argument("--tenants", type=int, default=50)
    parser.add_argument("--days", type=int, default=90, help="receipts spread over this many days up to now")
    parser.add_argument("--samples", type=int, default=400)
    parser.add_argument("--day-events", type=int, default=10_000, help="audit events of today for the day verify")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the probe and the list")
    parser.add_argument("--keep", action="store_true", help="keep the seeded database (its name is printed; drop "
                                                            "it yourself)")
    parser.add_argument("--reuse", metavar="DATABASE", help="measure a database an earlier --keep run seeded "
                                                             "(give it the same --receipts and --tenants), no seeding")
    args = parser.parse_args()

    if args.reuse:
        instance = SimpleNamespace(pg_name=args.reuse, close=lambda: None,
                                   env=dict(INSTANCE_PATH=tempfile.mkdtemp(prefix="ds_bench_"), DEMO_TENANT="0",
                                            WORKER="off", LOG_LEVEL="WARNING", SECRET_KEY="bench",
                                            DATABASE_URL=f"{PG_BASE}/{args.reuse}"))
    else:
        instance = Instance("postgres")
    try:
        if not args.reuse:
            instance.prepare()
        os.environ.update(instance.env)
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        from delivery_sign import create_app
        from delivery_sign.extensions import db

        app = create_app()
        with app.app_context():
            if args.reuse:
                from flask_migrate import upgrade
                upgrade()    # the kept database at this tree's head
                # As seeded, whatever --receipts and --tenants say: the samples are drawn from these.
                args.receipts = db.session.execute(text("SELECT max(id) FROM receipts")).scalar_one()
                args.tenants = db.session.execute(text("SELECT count(*) FROM tenants WHERE slug LIKE 'size%'")).scalar_one()
                db.session.commit()
                print(f"measuring {args.reuse} as seeded ({args.receipts:,} receipts, {args.tenants} tenants)", flush=True)
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(text("VACUUM (ANALYZE)"))
                measure(app, args.receipts, args.tenants, args.samples, args.day_events)
                if args.explain:
                    explain(app, args.receipts, args.tenants)
                return
            engine = db.engine
            print(f"seeding {args.receipts:,} receipts, {args.tenants} tenants, {args.days} days "
                  f"({instance.pg_name})", flush=True)
            took = seed(engine, args.receipts, args.tenants, args.days)
            sizes = db.session.execute(text(
                "SELECT c.relname, pg_size_pretty(sum(pg_total_relation_size(i.inhrelid))), count(*) "
                "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhparent "
                "WHERE c.relname IN ('audit_events', 'signature_fingerprints', 'photo_hash_chunks') "
                "GROUP BY c.relname ORDER BY 1")).all()
            db.session.rollback()
        print(f"seeded in {took:.0f} s; partitioned: "
              + ", ".join(f"{name} {size} in {n} partitions" for name, size, n in sizes), flush=True)
        measure(app, args.receipts, args.tenants, args.samples, args.day_events)
        if args.explain:
            explain(app, args.receipts, args.tenants)
    finally:
        if args.keep:
            print(f"kept database {instance.pg_name}", flush=True)
            instance.pg_name = None
        instance.close()


if __name__ == "__main__":
    main()

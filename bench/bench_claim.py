"""A claim's cost with a backlog (issue 16): how long one worker's claim takes when many jobs are due.

Seeds a scratch database (SQLite file or a fresh PostgreSQL database, dropped afterwards)
with ``--backlog`` due jobs spread over ``--tenants`` tenants (a receiver or the PDF lane
fell behind), server-side, then times ``jobs.claim`` of the default lane as a worker
makes it (a batch of 10, rolled back so the backlog stays) and prints p50/p95 next to the
same claim with 100 jobs due, as the floor of one run.

    .venv/bin/python bench/bench_claim.py --db postgres --backlog 300000
"""
import argparse
import os
import statistics
import sys
import time

from sqlalchemy import text

from common import percentile, scratch_app

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def seed(connection, count: int, tenants: int, offset: int = 0) -> None:
    postgres = connection.dialect.name == "postgresql"
    now = "(now() AT TIME ZONE 'utc')" if postgres else "datetime('now')"
    series = (f"generate_series(1, {count}) AS s(g)" if postgres else
              f"(WITH RECURSIVE c(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM c WHERE g < {count}) SELECT g FROM c)")
    ids = [row[0] for row in connection.execute(text("SELECT id FROM tenants ORDER BY id"))]
    while len(ids) < tenants:
        slug = f"claim{len(ids)}"
        connection.execute(text("INSERT INTO tenants (slug, name, created_at) VALUES (:s, :s, CURRENT_TIMESTAMP)"),
                           {"s": slug})
        ids = [row[0] for row in connection.execute(text("SELECT id FROM tenants ORDER BY id"))]
    first = ids[0]
    # Due a second to a day ago; tenant by g modulo the count (ids are consecutive here).
    ago = "make_interval(secs => g % 86400)" if postgres else None
    run_after = f"{now} - {ago}" if postgres else "datetime('now', '-' || (g % 86400) || ' seconds')"
    connection.execute(text(
        f"INSERT INTO jobs (tenant_id, kind, payload, status, attempts, max_attempts, run_after, created_at) "
        f"SELECT {first} + (g + {offset}) % {tenants}, 'receipt.render_pdf', '{{}}', 'pending', 0, 5, {run_after}, "
        f"{run_after} FROM {series}"))


def time_claims(app, samples: int) -> list[float]:
    from delivery_sign.core import jobs
    from delivery_sign.extensions import db

    took = []
    with app.app_context():
        for _ in range(samples):
            started = time.perf_counter()
            _, rows = jobs.claim(jobs.worker_name(), limit=10, lease_s=120, lane=jobs.DEFAULT_LANE,
                                 tenant_concurrency=2)
            took.append((time.perf_counter() - started) * 1000)
            assert rows, "nothing claimed"
            # put them back as they were: the backlog stays the same size
            db.session.execute(text("UPDATE jobs SET status = 'pending', claimed_by = NULL, claimed_until = NULL, "
                                    "attempts = 0 WHERE status = 'running'"))
            db.session.commit()
    return took


def main(args) -> None:
    with scratch_app(args.db) as app:
        from delivery_sign.extensions import db

        with app.app_context():
            engine = db.engine
        for label, count in (("100 due (floor)", 100), (f"{args.backlog:,} due", args.backlog - 100)):
            with engine.begin() as connection:
                seed(connection, count, args.tenants, offset=7)
            if engine.dialect.name == "postgresql":
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                    connection.execute(text("VACUUM (ANALYZE) jobs"))
            took = time_claims(app, args.samples)
            print(f"[{args.db}] claim of 10, {label:>18s} over {args.tenants} tenants: "
                  f"p50 {statistics.median(took):7.2f} ms  p95 {percentile(took, 95):7.2f} ms", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--backlog", type=int, default=300_000)
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--samples", type=int, default=30)
    main(parser.parse_args())

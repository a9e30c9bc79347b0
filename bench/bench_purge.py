"""How fast one worker deletes history (issue 16): finished jobs and the webhook delivery log.

Seeds a scratch database (SQLite file or a fresh PostgreSQL database, dropped afterwards)
at the migration head with ``--rows`` done jobs and as many settled webhook deliveries and
their events, all past their keep days, plus ``--live`` rows of each that must stay (young
or pending) — server-side, ``INSERT … SELECT`` from a counter. Then runs the worker's own
purges (``jobs.purge_finished``, ``webhooks.tasks.purge_history``) without their per-run
time budget and prints rows deleted per second per table, next to the rate history is
written at 1,000 sign-offs/s (a PDF job and a delivery job, a delivery and an event per
sign-off with one subscriber), and checks the live rows are all still there.

    .venv/bin/python bench/bench_purge.py --db postgres --rows 200000
    .venv/bin/python bench/bench_purge.py --db sqlite
"""
import argparse
import os
import sys
import time

from sqlalchemy import text

from common import scratch_app

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

# Rows of history a sign-off writes, with one webhook subscriber.
WRITTEN_PER_SIGNOFF = {"jobs": 2, "webhook deliveries": 1, "webhook events": 1}
PEAK_SIGNOFFS_PER_S = 1000


def _series(dialect: str, n: str) -> str:
    """Rows 1..n as ``g``: generate_series on PostgreSQL, a recursive counter on SQLite."""
    if dialect == "postgresql":
        return f"generate_series(1, {n}) AS s(g)"
    return f"(WITH RECURSIVE c(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM c WHERE g < {n}) SELECT g FROM c)"


def seed(connection, rows: int, live: int) -> None:
    dialect = connection.dialect.name
    # Naive UTC, as the app writes its times.
    now = "(now() AT TIME ZONE 'utc')" if dialect == "postgresql" else "datetime('now')"
    old = f"{now} - INTERVAL '60 days'" if dialect == "postgresql" else "datetime('now', '-60 days')"
    young = f"{now} - INTERVAL '1 days'" if dialect == "postgresql" else "datetime('now', '-1 days')"
    payload = "'{}'"
    tenant = connection.execute(text("SELECT id FROM tenants ORDER BY id LIMIT 1")).scalar_one()
    connection.execute(text(
        "INSERT INTO webhook_subscriptions (public_id, tenant_id, url, events, secret_encrypted, created_by, "
        "created_at) VALUES ('wh_bench', :t, 'https://example.com/hook', '[\"waybill.signed\"]', :secret, "
        f"'user:admin', {now})"), {"t": tenant, "secret": b"x"})
    subscription = connection.execute(text("SELECT id FROM webhook_subscriptions WHERE public_id = 'wh_bench'")
                                      ).scalar_one()
    for count, status, at, job_status in ((rows, "succeeded", old, "done"), (live, "succeeded", young, "done"),
                                          (live, "pending", old, "pending")):
        params = {"t": tenant, "s": subscription, "status": status, "job_status": job_status}
        finished = at if job_status == "done" else "NULL"
        tag = f"{status}-{count}-{'old' if at == old else 'young'}"
        connection.execute(text(
            f"INSERT INTO jobs (tenant_id, kind, payload, status, attempts, max_attempts, run_after, created_at, "
            f"finished_at) SELECT :t, 'webhook.deliver', {payload}, :job_status, 1, 5, {at}, {at}, "
            f"{finished} FROM {_series(dialect, count)}"), params)
        connection.execute(text(
            f"INSERT INTO webhook_events (public_id, tenant_id, type, body, created_at) "
            f"SELECT 'evt_{tag}_' || g, :t, 'waybill.signed', '{{}}', {at} FROM {_series(dialect, count)}"), params)
        connection.execute(text(
            f"INSERT INTO webhook_deliveries (tenant_id, subscription_id, event_id, status, attempts, retry_until, "
            f"created_at) SELECT :t, :s, e.id, :status, 1, {at}, {at} FROM webhook_events e "
            f"WHERE e.public_id LIKE 'evt_{tag}_%'"), params)


def main(args) -> None:
    with scratch_app(args.db) as app:
        from delivery_sign.core import jobs
        from delivery_sign.extensions import db
        from delivery_sign.webhooks import tasks

        with app.app_context():
            started = time.perf_counter()
            with db.engine.begin() as connection:
                seed(connection, args.rows, args.live)
            if db.engine.dialect.name == "postgresql":
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                    connection.execute(text("VACUUM (ANALYZE)"))
            print(f"[{args.db}] seeded {args.rows:,} old rows and 2 × {args.live:,} live ones a table "
                  f"in {time.perf_counter() - started:.1f} s", flush=True)

            started = time.perf_counter()
            deleted = {"jobs": jobs.purge_finished(budget_s=None)}
            took = {"jobs": time.perf_counter() - started}
            started = time.perf_counter()
            history = tasks.purge_history(budget_s=None)
            took["webhook deliveries + events"] = time.perf_counter() - started
            deleted["webhook deliveries + events"] = history["deliveries"] + history["events"]
            left = {table: db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                    for table in ("jobs", "webhook_deliveries", "webhook_events")}
        need = {"jobs": PEAK_SIGNOFFS_PER_S * WRITTEN_PER_SIGNOFF["jobs"],
                "webhook deliveries + events": PEAK_SIGNOFFS_PER_S * (WRITTEN_PER_SIGNOFF["webhook deliveries"]
                                                                      + WRITTEN_PER_SIGNOFF["webhook events"])}
        print(f"one worker, batches of {jobs.PURGE_BATCH:,}, no time budget:")
        for name, count in deleted.items():
            rate = count / took[name] if took[name] else 0
            print(f"  {name:30s} {count:>9,} rows in {took[name]:6.1f} s = {rate:>9,.0f} rows/s;  "
                  f"written at {PEAK_SIGNOFFS_PER_S:,} sign-offs/s: {need[name]:,} rows/s "
                  f"({rate / need[name]:.1f}× of it)")
        print(f"  left (the live rows, {2 * args.live:,} a table expected): "
              + ", ".join(f"{table} {count:,}" for table, count in left.items()))
        print(f"  a run spends at most {jobs.PURGE_BUDGET_S:.0f} s a table every {jobs.PURGE_EVERY_S} s per worker")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--rows", type=int, default=200_000, help="old rows a table (past their keep days)")
    parser.add_argument("--live", type=int, default=2_000, help="young and pending rows a table (kept)")
    main(parser.parse_args())

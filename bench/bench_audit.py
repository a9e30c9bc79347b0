"""The audit append alone: CPU, statements and rows written per ``audit.record`` (issue 16).

Each append runs in a transaction of its own, as a request's does: ``record`` of one
event (the shape of a view, a photo upload or a submit), then the commit. Prints, per
append: this process's CPU in ``record`` and in record + commit (median of ``-n``), the
statements sent (reads and writes apart) and the rows they wrote, by table, as the
database counts them; then the chain is verified. ``--profile`` adds cProfile's call
counts and the top functions of ``record``; ``--batch K`` records K events per append
(``record_many``, as a batch of waybills does).

    /work/venv/bin/python bench/bench_audit.py --db sqlite -n 2000
    /work/venv/bin/python bench/bench_audit.py --db postgres -n 2000 --profile

Under ``valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*record_many*'``
the instruction count of the appends alone can be compared between two checkouts.
"""
import argparse
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PG_BASE = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")


class StatementCounter:
    """Every statement sent, split into reads and writes, and the tables each write touches.

    A data-modifying CTE (``WITH … AS (UPDATE t1 …) INSERT INTO t2 …``) is one statement
    writing two tables, and is counted so; a COPY counts as a write of its table.
    """

    WRITES = ("INSERT", "UPDATE", "DELETE", "COPY")

    def __init__(self, engine):
        from sqlalchemy import event

        self.engine = engine
        self.reset()
        event.listen(engine, "before_cursor_execute", self._seen)

    def reset(self):
        self.reads = self.writes = 0
        self.tables = {}

    def _seen(self, conn, cursor, statement, parameters, context, executemany):
        words = statement.replace("(", " ( ").split()
        upper = [w.upper() for w in words]
        touched = [words[i + (2 if upper[i] in ("INSERT", "COPY") else 1)]
                   for i, w in enumerate(upper) if w in self.WRITES and i + 2 < len(words)
                   and (upper[i] != "INSERT" or upper[i + 1] == "INTO") and (i == 0 or upper[i - 1] != "FOR")]
        if not touched:
            if upper and upper[0] not in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"):
                self.reads += 1
            return
        self.writes += 1
        for table in touched:
            self.tables[table] = self.tables.get(table, 0) + 1

    def close(self):
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._seen)


def main(args):
    os.environ.update(INSTANCE_PATH=tempfile.mkdtemp(), DEMO_TENANT="0", LOG_LEVEL="ERROR")
    from flask_migrate import upgrade
    from sqlalchemy import create_engine, func, select, text

    from delivery_sign import create_app
    from delivery_sign.accounts.tenants import create_tenant
    from delivery_sign.config import _engine_options
    from delivery_sign.core import audit
    from delivery_sign.extensions import db

    config = {"TESTING": True, "WORKER": "off", "PASSWORD_HASH_TIME_COST": 1, "PASSWORD_HASH_MEMORY_KIB": 1024}
    pg_name = None
    if args.db == "postgres":
        pg_name = f"bench_audit_{uuid.uuid4().hex[:8]}"
        admin = create_engine(f"{PG_BASE}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{pg_name}"'))
        config["SQLALCHEMY_DATABASE_URI"] = f"{PG_BASE}/{pg_name}"
        config["SQLALCHEMY_ENGINE_OPTIONS"] = _engine_options(config["SQLALCHEMY_DATABASE_URI"], {})
    try:
        app = create_app(config)
        with app.app_context():
            upgrade()
            tenant_id = create_tenant(f"t{uuid.uuid4().hex[:6]}", "Bench", "admin", "bench-password-1").id
            db.session.commit()
            counter = StatementCounter(db.engine)
            data = {"photo_id": 123456, "sha256": "ab" * 32, "bytes": 1834567, "kind": "goods"}
            events = [("photo.uploaded", "recipient", "link:4711", data)] * args.batch
            statements = []
            for _ in range(20):                  # warm-up, counting what each append sends
                db.session.connection()          # the request's BEGIN is not the append's
                counter.reset()
                audit.record_many(tenant_id, events)
                db.session.commit()
                statements.append((counter.reads, counter.writes, dict(counter.tables)))
            counter.close()                      # timed without the counter's own cost
            in_record, with_commit = [], []
            profile = cProfile.Profile() if args.profile else None
            for _ in range(args.n):
                db.session.connection()
                started = time.process_time()
                if profile:
                    profile.enable()
                audit.record_many(tenant_id, events)
                if profile:
                    profile.disable()
                recorded = time.process_time()
                db.session.commit()
                done = time.process_time()
                in_record.append(recorded - started)
                with_commit.append(done - started)
            verdict = audit.verify_chain(tenant_id)
            count = db.session.execute(select(func.count()).select_from(audit.AuditEvent)
                                       .where(audit.AuditEvent.tenant_id == tenant_id)).scalar()
            db.session.remove()
        reads, writes, tables = statements[-1]
        print(f"audit append ({args.db}, {args.batch} event(s) per append, median of {args.n}; load average "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores):")
        print(f"  CPU in record: {statistics.median(in_record) * 1e6:7.1f} us   "
              f"record + commit: {statistics.median(with_commit) * 1e6:7.1f} us")
        print(f"  statements per append: {reads} read(s), {writes} write(s); rows written by table: "
              + ", ".join(f"{t} {n}" for t, n in sorted(tables.items())))
        print(f"  chain after the run: {count} events, verify {verdict}")
        if profile:
            stats = pstats.Stats(profile)
            calls = sum(v[1] for v in stats.stats.values())
            print(f"  cProfile: {calls / args.n:.0f} function calls per append")
            stats.sort_stats("tottime").print_stats(15)
    finally:
        if pg_name:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--profile", action="store_true")
    main(parser.parse_args())

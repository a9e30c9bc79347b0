"""Durable jobs: written with their cause, leased, retried with backoff, dead after the last try."""
import threading
from datetime import timedelta

from sqlalchemy import select

from delivery_sign.core import jobs
from delivery_sign.core.clock import utcnow
from delivery_sign.extensions import db

CALLS = []


@jobs.handler("test.flaky", max_attempts=3, backoff_s=10)
def _flaky(ctx):
    CALLS.append(ctx.payload["n"])
    raise RuntimeError("receiver down")


@jobs.handler("test.ok")
def _ok(ctx):
    CALLS.append(ctx.payload["n"])


def _job(app, job_id):
    with app.app_context():
        return db.session.get(jobs.Job, job_id)


def _enqueue(app, world, kind, n=1, **kw):
    with app.app_context():
        job = jobs.enqueue(kind, {"n": n}, tenant_id=world.tenant_id, **kw)
        db.session.commit()
        return job.id


def test_job_exists_only_when_the_sign_off_commits(app, world, door):
    pdf_jobs = select(jobs.Job).where(jobs.Job.tenant_id == world.tenant_id, jobs.Job.kind == "receipt.render_pdf")
    bad = door.submit(door.body(signer={"name": "", "relation": "family"}))
    assert bad.status_code == 422
    with app.app_context():
        assert db.session.execute(pdf_jobs).first() is None
    assert door.submit().status_code == 201
    with app.app_context():
        [job] = db.session.execute(pdf_jobs).scalars()
        assert job.status == "pending"


def test_backoff_then_dead_letter(app, world):
    job_id = _enqueue(app, world, "test.flaky")
    start = utcnow()
    jobs.run_due(app, tenant_id=world.tenant_id, now=start)
    job = _job(app, job_id)
    assert job.status == "pending" and job.attempts == 1 and "receiver down" in job.last_error
    assert 9 <= (job.run_after - start).total_seconds() <= 12
    assert jobs.run_due(app, tenant_id=world.tenant_id, now=start + timedelta(seconds=5)) == 0
    jobs.run_due(app, tenant_id=world.tenant_id, now=start + timedelta(seconds=11))
    job = _job(app, job_id)
    assert job.attempts == 2 and 19 <= (job.run_after - start - timedelta(seconds=11)).total_seconds() <= 22
    jobs.run_due(app, tenant_id=world.tenant_id, now=start + timedelta(seconds=40))
    job = _job(app, job_id)
    assert job.status == "dead" and job.attempts == 3 and job.finished_at is not None
    assert jobs.run_due(app, tenant_id=world.tenant_id, now=start + timedelta(days=30)) == 0


def test_lost_lease_is_taken_over_and_the_old_holder_changes_nothing(app, world):
    job_id = _enqueue(app, world, "test.ok", n=7)
    start = utcnow()
    with app.app_context():
        token, rows = jobs.claim("dead-worker", limit=1, lease_s=5, now=start, tenant_id=world.tenant_id)
        db.session.remove()
    assert [r.id for r in rows] == [job_id]
    assert jobs.run_due(app, tenant_id=world.tenant_id, now=start + timedelta(seconds=1)) == 0   # still leased
    assert jobs.run_due(app, tenant_id=world.tenant_id, now=start + timedelta(seconds=6)) == 1
    assert _job(app, job_id).status == "done" and _job(app, job_id).attempts == 2
    with app.app_context():
        jobs._finish(job_id, token, status="dead")   # the old holder wakes up late
        db.session.commit()
    assert _job(app, job_id).status == "done"


def test_dedupe_key_adds_one_job(app, world):
    first = _enqueue(app, world, "test.ok", dedupe_key=f"once:{world.tenant_id}")
    assert _enqueue(app, world, "test.ok", dedupe_key=f"once:{world.tenant_id}") == first


def test_enqueue_now_skips_a_dedupe_key_already_taken(app, world):
    """The row form: no probe, the INSERT skips the key (an entity's or a row's)."""
    key = f"now:{world.tenant_id}"
    first = _enqueue(app, world, "test.ok", n=1, dedupe_key=key)
    with app.app_context():
        jobs.enqueue_now("test.ok", {"n": 2}, tenant_id=world.tenant_id, dedupe_key=key)
        jobs.enqueue_now("test.ok", {"n": 3}, tenant_id=world.tenant_id, dedupe_key=key + ":other")
        db.session.commit()
        rows = db.session.execute(select(jobs.Job.id, jobs.Job.payload, jobs.Job.status, jobs.Job.max_attempts)
                                  .where(jobs.Job.dedupe_key.in_([key, key + ":other"]))
                                  .order_by(jobs.Job.id)).all()
    assert [(r.id == first, r.payload, r.status) for r in rows] == [(True, {"n": 1}, "pending"),
                                                                    (False, {"n": 3}, "pending")]


def test_one_insert_writes_the_jobs_of_its_block_in_one_statement(app, world):
    from sqlalchemy import event

    seen = []

    def statement(conn, cursor, sql, parameters, context, executemany):
        if sql.split()[0].upper() == "INSERT" and sql.split()[2] == "jobs":
            seen.append(len(parameters) if executemany else 1)

    key = f"block:{world.tenant_id}"
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", statement)
        try:
            with jobs.one_insert():
                jobs.enqueue_now("test.ok", {"n": 1}, tenant_id=world.tenant_id, dedupe_key=key)
                jobs.enqueue_many("test.ok", [{"n": 2}, {"n": 3}], tenant_id=world.tenant_id)
                assert seen == []   # nothing written until the block ends
            db.session.commit()
        finally:
            event.remove(db.engine, "before_cursor_execute", statement)
        payloads = db.session.execute(select(jobs.Job.payload).where(
            jobs.Job.tenant_id == world.tenant_id, jobs.Job.kind == "test.ok").order_by(jobs.Job.id)).scalars().all()
    assert len(seen) == 1 and seen[0] in (1, 3), seen   # one statement (an executemany of 3 rows)
    assert payloads[-3:] == [{"n": 1}, {"n": 2}, {"n": 3}]


def test_one_insert_writes_nothing_when_its_block_raises(app, world):
    with app.app_context():
        try:
            with jobs.one_insert():
                jobs.enqueue_now("test.ok", {"n": 9}, tenant_id=world.tenant_id, dedupe_key=f"raise:{world.tenant_id}")
                raise RuntimeError("the sign-off failed")
        except RuntimeError:
            pass
        db.session.commit()
        assert db.session.execute(select(jobs.Job.id).where(
            jobs.Job.dedupe_key == f"raise:{world.tenant_id}")).first() is None


def test_concurrent_claimers_never_share_a_job(app, world):
    ids = {_enqueue(app, world, "test.ok", n=i) for i in range(40)}
    claimed, lock = [], threading.Lock()

    def claimer(name):
        with app.app_context():
            while True:
                _, rows = jobs.claim(name, limit=3, lease_s=60, tenant_id=world.tenant_id)
                if not rows:
                    break
                with lock:
                    claimed.extend(r.id for r in rows)
            db.session.remove()

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(claimed) == sorted(ids)


def test_inline_worker_is_off_under_tests_and_runs_when_asked(app, world):
    assert app.config["TESTING"] and jobs._inline_pid is None
    CALLS.clear()
    _enqueue(app, world, "test.ok", n=42)
    stop = threading.Event()
    thread = threading.Thread(target=jobs.work, args=(app, stop), kwargs={"poll_s": 0.05, "kinds": ("test.ok",)}, daemon=True)
    thread.start()
    try:
        import time

        deadline = time.monotonic() + 20
        while 42 not in CALLS and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(20)
    assert 42 in CALLS


@jobs.handler("test.own_lane", lane="test-own-lane")
def _own_lane(ctx):
    CALLS.append(ctx.payload["n"])


def test_a_claim_serves_the_tenant_with_one_job_beside_one_with_a_backlog(app, world, other_world):
    backlog = [_enqueue(app, world, "test.ok", n=i) for i in range(20)]
    lone = _enqueue(app, other_world, "test.ok", n=99)
    tenants = (world.tenant_id, other_world.tenant_id)
    with app.app_context():
        _, rows = jobs.claim("w", limit=4, lease_s=60, tenants=tenants)
        db.session.remove()
    assert lone in [r.id for r in rows] and len(rows) == 4
    # Interleaved: the lone job is not behind the backlog's share of the batch.
    assert {rows[0].tenant_id, rows[1].tenant_id} == set(tenants)
    assert [r.id for r in rows if r.tenant_id == world.tenant_id] == backlog[:3]


def test_a_tenant_holds_at_most_its_share_of_a_lanes_threads(app, world, other_world):
    for i in range(6):
        _enqueue(app, world, "test.ok", n=i)
    tenants = (world.tenant_id, other_world.tenant_id)
    with app.app_context():
        _, first = jobs.claim("w1", limit=5, lease_s=60, tenants=tenants, tenant_concurrency=2)
        _, second = jobs.claim("w2", limit=5, lease_s=60, tenants=tenants, tenant_concurrency=2)
        db.session.remove()
    assert len(first) == 2 and second == []          # two running: the tenant waits for one to finish
    lone = _enqueue(app, other_world, "test.ok", n=7)
    with app.app_context():
        _, third = jobs.claim("w3", limit=5, lease_s=60, tenants=tenants, tenant_concurrency=2)
        db.session.remove()
    assert [r.id for r in third] == [lone]           # another tenant is served at once


def test_lanes_keep_their_kinds_apart(app, world):
    own = _enqueue(app, world, "test.own_lane", n=1)
    plain = _enqueue(app, world, "test.ok", n=2)
    with app.app_context():
        _, default_rows = jobs.claim("w", limit=10, lease_s=60, tenant_id=world.tenant_id, lane="default")
        _, own_rows = jobs.claim("w", limit=10, lease_s=60, tenant_id=world.tenant_id, lane="test-own-lane")
        _, webhook_rows = jobs.claim("w", limit=10, lease_s=60, tenant_id=world.tenant_id, lane="webhooks")
        db.session.remove()
    assert [r.id for r in default_rows] == [plain]
    assert [r.id for r in own_rows] == [own]
    assert webhook_rows == []



def test_jobs_carry_their_lane_and_a_backlog_in_another_lane_is_stepped_over(app, world, other_world):
    """Issue 16: the claim walks tenant by tenant; one tenant's backlog in the webhook lane
    neither hides another tenant's default-lane job nor is claimed by the default lane."""
    backlog = [_enqueue(app, world, "test.own_lane", n=i) for i in range(30)]
    lone = _enqueue(app, other_world, "test.ok", n=1)
    tenants = (world.tenant_id, other_world.tenant_id)
    with app.app_context():
        lanes = dict(db.session.execute(select(jobs.Job.id, jobs.Job.lane).where(jobs.Job.id.in_([lone, backlog[0]]))).all())
        _, default_rows = jobs.claim("w", limit=5, lease_s=60, tenants=tenants, lane="default")
        _, own_rows = jobs.claim("w", limit=5, lease_s=60, tenants=tenants, lane="test-own-lane")
        db.session.remove()
    assert lanes == {lone: "default", backlog[0]: "test-own-lane"}
    assert [r.id for r in default_rows] == [lone]
    assert [r.id for r in own_rows] == backlog[:5]

def test_every_lane_gets_its_threads(app):
    stop = threading.Event()
    app.config["WEBHOOK_WORKERS"] = 3
    try:
        threads = jobs.start_lanes(app, stop, poll_s=0.05, tenants=(-1,))
        names = sorted(t.name for t in threads)
    finally:
        stop.set()
        for thread in threads:
            thread.join(20)
        app.config["WEBHOOK_WORKERS"] = 4
    assert names == ["delivery_sign-jobs-default-0"] + [f"delivery_sign-jobs-webhooks-{i}" for i in range(3)]


@jobs.handler("test.untenanted")
def _untenanted(ctx):
    CALLS.append(ctx.payload["n"])


def test_jobs_of_no_tenant_are_claimed_and_run(app):
    with app.app_context():
        job = jobs.enqueue("test.untenanted", {"n": 555})
        db.session.commit()
        job_id = job.id
    assert jobs.run_due(app, kinds=("test.untenanted",)) == 1
    assert 555 in CALLS and _job(app, job_id).status == "done"


# --- finished jobs are history: deleted after their keep days, live ones never --------------

def test_purge_deletes_finished_jobs_past_their_keep_days_and_nothing_live(app, world):
    now = utcnow()
    app.config.update(JOB_DONE_KEEP_DAYS=7, JOB_DEAD_KEEP_DAYS=30)
    ages = {"old done": (jobs.DONE, 8), "young done": (jobs.DONE, 6), "old dead": (jobs.DEAD, 31),
            "young dead": (jobs.DEAD, 29), "old pending": (jobs.PENDING, 90), "old running": (jobs.RUNNING, 90)}
    with app.app_context():
        ids = {}
        for name, (status, days) in ages.items():
            at = now - timedelta(days=days)
            job = jobs.Job(kind="test.ok", payload={"n": 0}, tenant_id=world.tenant_id, status=status, attempts=1,
                           run_after=at, created_at=at, claimed_until=at if status == jobs.RUNNING else None,
                           finished_at=at if status in (jobs.DONE, jobs.DEAD) else None)
            db.session.add(job)
            db.session.flush()
            ids[name] = job.id
        # a backlog of old done jobs larger than one batch, to see the batches add up
        db.session.execute(jobs.Job.__table__.insert(), [
            {"kind": "test.ok", "payload": {"n": i}, "tenant_id": world.tenant_id, "status": jobs.DONE,
             "attempts": 1, "max_attempts": 5, "run_after": now - timedelta(days=9), "created_at": now - timedelta(days=9),
             "finished_at": now - timedelta(days=9)} for i in range(25)])
        db.session.commit()
        assert jobs.purge_finished(now, batch=10, batches=2) == 20 + 1   # done: two batches; dead: one
        assert jobs.purge_finished(now, batch=10) == 6                    # the rest of the backlog
        assert jobs.purge_finished(now, batch=10) == 0
        left = set(db.session.execute(select(jobs.Job.id).where(jobs.Job.tenant_id == world.tenant_id)).scalars())
    assert left == {ids[name] for name in ("young done", "young dead", "old pending", "old running")}

"""Webhook dispatch: deliveries per second of one worker thread; and one tenant's hostile receivers.

Throughput: a real HTTP/1.1 server on 127.0.0.1 (its own process, so it does not share
the worker's GIL) answers 204 to every POST. ``-n`` events go to one subscription, each
of its own waybill (no ordering waits), then one webhook-lane loop drains them as a
``flask worker`` thread would: claim, sign and POST, record the result. Prints
deliveries per second of wall time (target >= 200) and per CPU-second.

``--hostile`` (issue 15.1): tenant A's receivers drip one header byte every 0.2 s for 30 s
and answer 200 with a 400 MB body; while A's sign-offs are being delivered to them, tenant
B signs one waybill. A real ``flask --app wsgi worker`` process (every lane) does the
work. Prints how long B waited for its ``waybill.signed`` and ``receipt.pdf_ready`` with
and without A's receivers at work (before the fix: PDF 0.5 s -> 34 s), the worker's peak
RSS (before: 172 MB -> 506 MB) and how much of the 400 MB the worker let in.

    /work/venv/bin/python bench/bench_webhooks.py --db sqlite -n 2000
    /work/venv/bin/python bench/bench_webhooks.py --hostile
"""
import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import Instance, receiver_process  # noqa: E402


def _emit(app, slug: str, url: str, count: int):
    from sqlalchemy import select

    from delivery_sign.accounts.models import Tenant
    from delivery_sign.core.auth import Principal
    from delivery_sign.extensions import db
    from delivery_sign.webhooks.services import create_subscription, emit

    with app.app_context():
        tenant_id = db.session.execute(select(Tenant.id).where(Tenant.slug == slug)).scalar_one()
        create_subscription(Principal(tenant_id, "admin", "bench"), url, ["waybill.signed"])
        db.session.commit()
        for start in range(0, count, 500):
            for i in range(start, min(count, start + 500)):
                number = f"WB{i:08d}"
                emit(tenant_id, "waybill.signed", {"waybill": number, "outcome": "signed", "receipt_id": "r" * 32},
                     waybill_number=number)
            db.session.commit()
        db.session.remove()
    return tenant_id


def _counts(app, tenant_id):
    from sqlalchemy import func, select

    from delivery_sign.extensions import db
    from delivery_sign.webhooks.models import WebhookDelivery

    with app.app_context():
        rows = dict(db.session.execute(select(WebhookDelivery.status, func.count())
                                       .where(WebhookDelivery.tenant_id == tenant_id)
                                       .group_by(WebhookDelivery.status)).all())
        db.session.remove()
    return rows


def run(db_kind: str, count: int, batch: int, threads: int = 0, profile: bool = False):
    instance = Instance(db_kind, extra_env={"WEBHOOK_ALLOW_PRIVATE": "1"})
    receiver = None
    try:
        slug, _ = instance.prepare()
        receiver, url = receiver_process()
        os.environ.update(instance.env)
        from delivery_sign import create_app
        from delivery_sign.core import jobs
        from delivery_sign.webhooks.services import DELIVER

        app = create_app()
        tenant_id = _emit(app, slug, url, count)
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})   # the worker on one core
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        t0, cpu0 = time.perf_counter(), time.process_time()
        ran = _drain_threads(app, jobs, tenant_id, threads) if threads else _drain(app, jobs, DELIVER, batch)
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        if profiler is not None:
            import pstats

            profiler.disable()
            stats = pstats.Stats(profiler)
            print(f"  cProfile: {sum(v[1] for v in stats.stats.values()) / max(ran, 1):.0f} Python calls per "
                  f"delivery (the timings below include the profiler's own cost)")
            stats.sort_stats("tottime").print_stats(25)
        counts = _counts(app, tenant_id)
        how = f"the webhook lane's {threads} threads" if threads else f"one loop, batch {batch}"
        print(f"[{db_kind}] webhook dispatch, one worker process on one core, {how}: {ran} jobs, "
              f"deliveries {counts}")
        print(f"  {ran / elapsed:7.1f} deliveries/s wall   target >= 200")
        print(f"  {ran / cpu:7.1f} deliveries per CPU-second of the worker ({cpu / ran * 1000:.2f} ms each); "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    finally:
        if receiver is not None:
            receiver.kill()
        instance.close()


def _drain_threads(app, jobs, tenant_id, threads):
    """The webhook lane as ``flask worker`` runs it (jobs.start_lanes), until every delivery settled."""
    import threading

    app.config["WEBHOOK_WORKERS"] = threads
    stop = threading.Event()
    workers = jobs.start_lanes(app, stop, lanes=("webhooks",), poll_s=0.05)
    try:
        while _counts(app, tenant_id).get("pending"):
            time.sleep(0.02)
    finally:
        stop.set()
        for worker in workers:
            worker.join(30)
    return sum(_counts(app, tenant_id).values())


def _drain(app, jobs, kind, batch):
    """One webhook-lane loop of ``flask worker`` (jobs.work) until nothing is due."""
    total = 0
    name = jobs.worker_name()
    with app.app_context():
        while True:
            ran = jobs.run_batch(name, limit=batch, lease_s=app.config["JOB_LEASE_S"], lane="webhooks")
            if not ran:
                break
            total += ran
    return total


def _wait_for(receiver, count, timeout=300):
    deadline = time.monotonic() + timeout
    while len(receiver.accepted) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return len(receiver.accepted) >= count


def _sign_off_and_time(world, receiver, door_kw):
    """Seconds from B's submit to its waybill.signed and to its receipt.pdf_ready arriving."""
    from tests.factories import Door

    door = Door(world, *door_kw)
    seen = len(receiver.accepted)
    t0 = time.perf_counter()
    assert door.submit().status_code == 201
    _wait_for(receiver, seen + 1)
    signed = time.perf_counter() - t0
    _wait_for(receiver, seen + 2)
    return signed, time.perf_counter() - t0


def hostile(db_kind: str, a_sign_offs: int = 6):
    from bench.common import BIN, ROOT, rss_kib

    instance = Instance(db_kind, extra_env={"WEBHOOK_ALLOW_PRIVATE": "1"})
    worker = receivers = None
    try:
        instance.flask("prepare-db")
        os.environ.update(instance.env)
        from delivery_sign import create_app
        from tests.evidence.photo_fixtures import jpeg, scene
        from tests.factories import Door, World
        from tests.webhooks.receiver import Receiver

        import json
        with open(os.path.join(ROOT, "tests", "data", "signatures", "genuine.json"), encoding="utf-8") as fh:
            signature = next(s for s in json.load(fh) if len(s["signer_name"]) == 3)
        door_kw = (signature, jpeg(scene(11, 1600, 1200), quality=88))
        app = create_app()
        client = app.test_client()
        a, b = World.create(app, client), World.create(app, client)
        dripping, flooding, fast = receivers = Receiver(), Receiver(), Receiver()
        dripping.script, flooding.script = ["drip"] * 1000, ["huge"] * 1000
        events = ["waybill.signed", "receipt.pdf_ready"]
        for world, url in ((a, dripping.url), (a, flooding.url), (b, fast.url)):
            assert world.post("/webhooks", {"url": url, "events": events}).status_code == 201
        worker = subprocess.Popen([os.path.join(BIN, "flask"), "--app", "wsgi", "worker", "--poll", "0.05"],
                                  cwd=ROOT, env=instance.env, stdout=subprocess.DEVNULL)
        time.sleep(2)
        idle_rss = rss_kib(worker.pid)
        base_signed, base_pdf = _sign_off_and_time(b, fast, door_kw)
        for _ in range(a_sign_offs):
            assert Door(a, *door_kw).submit().status_code == 201
        while not (dripping.got_request.is_set() and flooding.received):
            time.sleep(0.01)
        signed, pdf = _sign_off_and_time(b, fast, door_kw)
        time.sleep(3)
        peak = rss_kib(worker.pid, "VmHWM")
        print(f"[{db_kind}] tenant B's sign-off while tenant A's {a_sign_offs} sign-offs go to a receiver dripping "
              f"a byte per 0.2 s and one answering 400 MB (flask worker, all lanes, WEBHOOK_TIMEOUT_S "
              f"{app.config['WEBHOOK_TIMEOUT_S']:g} s):")
        print(f"  B's waybill.signed arrived after {signed:6.2f} s  (alone: {base_signed:.2f} s)")
        print(f"  B's receipt.pdf_ready arrived after {pdf:6.2f} s  (alone: {base_pdf:.2f} s; before the fix 34 s)")
        print(f"  worker RSS idle {idle_rss / 1024:.0f} MB, peak {peak / 1024:.0f} MB  (before the fix 172 -> 506 MB)")
        print(f"  the 400 MB receiver got {len(flooding.received)} requests and sent "
              f"{flooding.bytes_sent / 1e6:.1f} MB before the worker hung up; load average "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (a shared machine)")
    finally:
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(40)
            except subprocess.TimeoutExpired:
                worker.kill()
        for receiver in receivers or ():
            receiver.close()
        instance.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=1, help="jobs claimed per claim (the webhook lane's batch)")
    parser.add_argument("--threads", type=int, default=0, help="run the webhook lane's N threads instead of one loop")
    parser.add_argument("--hostile", action="store_true", help="one tenant's dripping and 400 MB receivers")
    parser.add_argument("--profile", action="store_true", help="cProfile the drain: calls per delivery, top functions")
    args = parser.parse_args()
    if args.hostile:
        hostile(args.db if args.db != "both" else "sqlite")
    else:
        for kind in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
            run(kind, args.n, args.batch, args.threads, args.profile)

"""Webhook dispatch: deliveries per second of one worker process to a receiver on loopback.

A real HTTP/1.1 server on 127.0.0.1 (its own process, so it does not share the worker's
GIL) answers 204 to every POST. ``-n`` events go to one subscription, each of its own
waybill (no ordering waits), then one worker process drains them as ``flask worker``
would: claim a batch, sign and POST each, record the result. Prints deliveries per
second of wall time (target >= 200) and per CPU-second of the worker.

    /work/venv/bin/python bench/bench_webhooks.py --db sqlite -n 2000
"""
import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import Instance, free_port  # noqa: E402


def serve(port: int):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"    # keep-alive, as a subscriber's server would

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


def _receiver():
    import requests

    port = free_port()
    process = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve", str(port)])
    url = f"http://127.0.0.1:{port}/hooks"
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            requests.post(url, data=b"{}", timeout=1)
            return process, url
        except requests.RequestException:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("receiver did not come up")


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


def run(db_kind: str, count: int, batch: int):
    instance = Instance(db_kind, extra_env={"WEBHOOK_ALLOW_PRIVATE": "1"})
    receiver = None
    try:
        slug, _ = instance.prepare()
        receiver, url = _receiver()
        os.environ.update(instance.env)
        from delivery_sign import create_app
        from delivery_sign.core import jobs
        from delivery_sign.webhooks.services import DELIVER

        app = create_app()
        tenant_id = _emit(app, slug, url, count)
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})   # the worker on one core
        t0, cpu0 = time.perf_counter(), time.process_time()
        ran = _drain(app, jobs, DELIVER, batch)
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        counts = _counts(app, tenant_id)
        print(f"[{db_kind}] webhook dispatch, one worker process on one core, batch {batch}: {ran} jobs, "
              f"deliveries {counts}")
        print(f"  {ran / elapsed:7.1f} deliveries/s wall   target >= 200")
        print(f"  {ran / cpu:7.1f} deliveries per CPU-second of the worker ({cpu / ran * 1000:.2f} ms each); "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    finally:
        if receiver is not None:
            receiver.kill()
        instance.close()


def _drain(app, jobs, kind, batch):
    """The worker loop of ``flask worker`` (jobs.work) until nothing is due."""
    total = 0
    name = jobs.worker_name()
    with app.app_context():
        while True:
            ran = jobs.run_batch(name, limit=batch, lease_s=app.config["JOB_LEASE_S"], kinds=(kind,))
            if not ran:
                break
            total += ran
    return total


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=10, help="jobs claimed per claim (jobs.work's default)")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
    else:
        for kind in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
            run(kind, args.n, args.batch)

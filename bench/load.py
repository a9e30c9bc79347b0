"""Closed-loop load: clients doing whole sign-offs against gunicorn.

Each client repeats: view the link, upload a 12-MP phone photo and a 1080p photo, submit a
three-character signature. Prints sign-offs per second, p50/p95/p99 of each call, errors,
and the CPU time of the gunicorn workers. With ``--worker inline`` the PDFs are rendered
by each web process's job thread while the load runs; the bench then waits until every
receipt has its PDF and prints how long that took after the last submit.

    .venv/bin/python bench/load.py --db sqlite --clients 8 --duration 30
    .venv/bin/python bench/load.py --db postgres --worker inline     # PDFs rendered as they come
"""
import argparse
import json
import os
import sys
import threading
import time
import uuid

import requests
from sqlalchemy import create_engine, text

from common import Instance, login, percentile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def photos():
    from tests.evidence.photo_fixtures import jpeg, scene

    big = jpeg(scene(5, 4000, 3000), quality=90)
    small = jpeg(scene(6, 1920, 1080), quality=80)
    return big, small


def signature():
    with open(os.path.join(ROOT, "tests", "data", "signatures", "genuine.json"), encoding="utf-8") as fh:
        genuine = json.load(fh)
    return next(s for s in genuine if len(s["signer_name"]) == 3 and 300 <= sum(map(len, s["strokes"])) <= 800)


def setup(base, tenant, password, count):
    """A courier and ``count`` waybills with a sign link each; returns the tokens."""
    admin = login(base, tenant, password)
    requests.post(base + "/api/v1/users", headers=admin, json={
        "username": "rider", "password": password, "role": "courier"}).raise_for_status()
    courier = login(base, tenant, password, "rider")
    run = uuid.uuid4().hex[:6].upper()
    waybills = [{"number": f"L{run}{i:07d}", "courier": "rider",
                 "consignee": {"name": "李娜", "phone": "13800138000", "address": "上海市浦东新区世纪大道100号",
                               "location": {"lat": 31.2304, "lng": 121.4737, "coord_system": "gcj02"}},
                 "items": [{"sku": "SOFA-3", "name": "沙发", "qty": 1}]} for i in range(count)]
    for start in range(0, count, 500):
        requests.post(base + "/api/v1/waybills/batch", headers=admin,
                      json={"waybills": waybills[start:start + 500]}).raise_for_status()
    tokens = []
    for waybill in waybills:
        response = requests.post(base + "/api/v1/sign-links", headers=courier, json={"waybills": [waybill["number"]]})
        response.raise_for_status()
        tokens.append(response.json()["token"])
    return tokens


def _pdfs_missing(engine) -> int:
    """Receipts whose PDF the job has not stored yet (a direct read: WAL never blocks it)."""
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM receipts WHERE pdf_key IS NULL")).scalar_one()


def _cpu_s(pids) -> float:
    """User + system CPU seconds of the processes (gunicorn workers: requests and job threads)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / os.sysconf("SC_CLK_TCK")


class _PhoneAdapter(requests.adapters.HTTPAdapter):
    """Connections from one loopback address: every 127.x.y.z reaches the server on Linux."""

    def __init__(self, address):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def _phone(n: int) -> requests.Session:
    """The n-th sign-off's phone: its own address and connection, as each recipient has.
    From one address the recipient rate limit (120 calls a minute per address and web
    process, core/ratelimit.py) would cap the whole bench at about one sign-off a second."""
    session = requests.Session()
    session.mount("http://", _PhoneAdapter(f"127.1.{n // 250 % 250}.{n % 250 + 1}"))
    return session


def run(args):
    extra = {"WORKER": args.worker}
    instance = Instance(args.db, extra_env=extra)
    big, small = photos()
    sig = signature()
    timings = {name: [] for name in ("view", "photo_12mp", "photo_1080p", "submit", "signoff")}
    errors, lock = [], threading.Lock()
    try:
        tenant, password = instance.prepare()
        base = instance.start(workers=args.workers, threads=args.threads, extra_env=extra)
        requests.patch(base + "/api/v1/doc-types/default", headers=login(base, tenant, password),
                       json={"policy": {"link_ttl_s": 86400}}).raise_for_status()
        tokens = setup(base, tenant, password, args.max_signoffs)
        queue = list(reversed(tokens))
        deadline = time.time() + args.duration
        cpu_before = _cpu_s(instance.worker_pids())
        started = time.perf_counter()
        last_submit = [started]

        def client(n):
            while time.time() < deadline:
                with lock:
                    if not queue:
                        return
                    token = queue.pop()
                    session = _phone(len(queue))
                t0 = time.perf_counter()
                steps = []
                try:
                    t = time.perf_counter()
                    session.get(f"{base}/api/v1/sign/{token}").raise_for_status()
                    steps.append(("view", time.perf_counter() - t))
                    ids = []
                    for name, data in (("photo_12mp", big), ("photo_1080p", small)):
                        # A few bytes after the image make every upload a distinct file.
                        payload = data + uuid.uuid4().bytes
                        t = time.perf_counter()
                        response = session.post(f"{base}/api/v1/sign/{token}/photos", data={"kind": "goods"},
                                                files={"file": ("p.jpg", payload, "image/jpeg")})
                        response.raise_for_status()
                        steps.append((name, time.perf_counter() - t))
                        ids.append(response.json()["photo_id"])
                    body = {"submission_id": str(uuid.uuid4()), "outcome": "signed",
                            "signer": {"name": sig["signer_name"], "relation": "self"},
                            "signature": {"strokes": sig["strokes"], "canvas": sig["canvas"]},
                            "location": {"lat": 31.2305, "lng": 121.4736, "accuracy": 12, "coord_system": "gcj02"},
                            "photo_ids": ids, "client": {"platform": "h5"}}
                    t = time.perf_counter()
                    response = session.post(f"{base}/api/v1/sign/{token}/submit", json=body)
                    if response.status_code != 201:
                        raise RuntimeError(f"submit {response.status_code}: {response.text[:200]}")
                    steps.append(("submit", time.perf_counter() - t))
                    with lock:
                        last_submit[0] = max(last_submit[0], time.perf_counter())
                        for name, value in steps:
                            timings[name].append(value)
                        timings["signoff"].append(time.perf_counter() - t0)
                except Exception as exc:  # noqa: BLE001 - a load test counts every failure
                    with lock:
                        errors.append(str(exc)[:200])

        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        done = len(timings["signoff"])
        print(f"[{args.db}, WORKER={args.worker}, {args.workers}×{args.threads} gunicorn, {args.clients} clients] "
              f"{done} sign-offs in {elapsed:.1f} s = {done / elapsed:.1f}/s, errors {len(errors)}")
        for name, values in timings.items():
            ms = [v * 1000 for v in values]
            print(f"  {name:12} p50 {percentile(ms, 50):7.1f} ms  p95 {percentile(ms, 95):7.1f} ms  "
                  f"p99 {percentile(ms, 99):7.1f} ms")
        for error in errors[:5]:
            print("  error:", error)
        print(f"  gunicorn workers' CPU {_cpu_s(instance.worker_pids()) - cpu_before:.1f} s in {elapsed:.1f} s "
              f"({os.cpu_count()} cores = {os.cpu_count() * elapsed:.0f} CPU-s); load average {os.getloadavg()[0]:.1f}")
        if args.worker == "inline":
            engine = create_engine(instance.database_url)
            backlog = _pdfs_missing(engine)
            print(f"  PDFs still to render when the clients stopped: {backlog} of {done}")
            while _pdfs_missing(engine) and time.perf_counter() - last_submit[0] < 600:
                time.sleep(0.25)
            left = _pdfs_missing(engine)
            print(f"  every PDF rendered {time.perf_counter() - last_submit[0]:.1f} s after the last submit"
                  + (f" — NOT DONE, {left} left after 600 s" if left else "")
                  + f"; gunicorn workers' CPU since the start {_cpu_s(instance.worker_pids()) - cpu_before:.1f} s")
            engine.dispose()
    finally:
        instance.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--max-signoffs", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--worker", choices=["off", "inline"], default="off")
    run(parser.parse_args())

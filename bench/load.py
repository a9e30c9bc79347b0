"""Closed-loop load: clients doing whole sign-offs against gunicorn.

Each client repeats: view the link, upload a 12-MP phone photo and a 1080p photo, submit a
three-character signature; each sign-off has pictures and a signer of its own (``photos``,
``signatures``). The same clients run, one server after the other, against the
floor and the judging floor (bench/floor_app.py: the same stack doing only the upload's
bare work, then that plus the checks' decode and measures) and against delivery_sign, so
the ratio is of one machine in one state. Prints sign-offs per second, p50/p95/p99 of each
call, errors, the CPU time of the gunicorn workers, and the three side by side (issue 16:
delivery_sign ≥ 0.8 × the judging floor, p95 ≤ 3 × p50 per call, no errors). The default
run (20 s per server) takes about two minutes. With ``--worker inline`` the PDFs are rendered
by each web process's job thread while the load runs; the bench then waits until every
receipt has its PDF and prints how long that took after the last submit.

    .venv/bin/python bench/load.py --db sqlite            # floor, judging floor, delivery_sign
    .venv/bin/python bench/load.py --db postgres          # the same on a fresh PostgreSQL database each
    .venv/bin/python bench/load.py --db postgres --worker inline     # PDFs rendered as they come
"""
import argparse
import hashlib
import inspect
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

from common import BIN, Instance, PostgresCpu, cpu_s, free_port, login, percentile, settle

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


# Photos made once are kept here (not in the repository: generated media), in a folder named
# by the maker's and the fixtures' source, so a change to either makes them again.
PHOTO_CACHE = os.path.join(tempfile.gettempdir(), "delivery_sign-bench-photos")


def photos(count):
    """``count`` pairs of a 12-MP camera JPEG (~2.9 MB) and a 1080p one (~0.3 MB), each pair
    another picture (``make_photos``). Made on the first run (about 80 ms a pair, 110 s for
    load.py's 600), read from ``PHOTO_CACHE`` after: the pairs come from a fixed seed, so
    the first ``count`` of a larger set are the same as a set of ``count``."""
    from tests.evidence import photo_fixtures

    source = inspect.getsource(make_photos).encode() + inspect.getsource(photo_fixtures).encode()
    folder = os.path.join(PHOTO_CACHE, hashlib.sha256(source).hexdigest()[:16])
    paths = [(os.path.join(folder, f"{i:04d}-12mp.jpg"), os.path.join(folder, f"{i:04d}-1080p.jpg"))
             for i in range(count)]
    if all(os.path.exists(path) for pair in paths for path in pair):
        return [tuple(Path(path).read_bytes() for path in pair) for pair in paths]
    made = make_photos(count)
    os.makedirs(folder, exist_ok=True)
    for pair, data in zip(paths, made):
        for path, jpeg in zip(pair, data):
            with open(f"{path}.part", "wb") as fh:
                fh.write(jpeg)
            os.replace(f"{path}.part", path)   # a run stopped half-way leaves no half photo
    return made


def make_photos(count):
    """``count`` pairs, each another picture: the same picture twice is a duplicate photo,
    which the upload flags and the submit records, and other parcels make other pictures.
    One drawn scene per size (~1 s), then each pair is the scene with 16 crops of itself
    pasted elsewhere, mirrored and lit differently: as textured as the scene (so the JPEG
    is as large), with perceptual hashes at least 18 bits apart (60 pairs tried; 12 bits
    is a duplicate)."""
    import numpy as np
    from PIL import Image

    from tests.evidence.photo_fixtures import jpeg, scene

    rng = np.random.default_rng(16)
    sizes = (((4000, 3000), 90, scene(5, 4000, 3000)), ((1920, 1080), 80, scene(6, 1920, 1080)))

    def another(base, quality):
        image, (width, height) = base.copy(), base.size
        for _ in range(16):
            w, h = int(rng.integers(width // 6, width // 2)), int(rng.integers(height // 6, height // 2))
            x, y = int(rng.integers(0, width - w)), int(rng.integers(0, height - h))
            piece = base.crop((x, y, x + w, y + h)).transpose(int(rng.integers(0, 2)))
            piece = Image.eval(piece, lambda v, f=float(rng.uniform(0.5, 1.5)): min(255, int(v * f)))
            at = (int(rng.integers(-w // 2, width - w // 2)), int(rng.integers(-h // 2, height - h // 2)))
            image.paste(piece, at)
        return jpeg(image, quality=quality)

    return [tuple(another(base, quality) for _, quality, base in sizes) for _ in range(count)]


def signature():
    """One genuine three-character signature of the corpus (tests/data/signatures)."""
    with open(os.path.join(ROOT, "tests", "data", "signatures", "genuine.json"), encoding="utf-8") as fh:
        genuine = json.load(fh)
    return next(s for s in genuine if len(s["signer_name"]) == 3 and 300 <= sum(map(len, s["strokes"])) <= 800)


def signatures(count):
    """``count`` genuine three-character signatures of 300-800 points, each by another
    synthetic person (bench/make_signature_corpus.py's model, from a fixed seed; ~12 ms each).
    One per sign-off: the same strokes submitted again are a replay, which the submit flags
    and records as an anomaly, and real sign-offs are not replays."""
    import numpy as np

    import make_signature_corpus as corpus

    hanzi, latin = corpus.load_glyphs()
    rng = np.random.default_rng([corpus.SEED, 16])
    found = []
    while len(found) < count:
        person = corpus.make_person(rng, len(found), False)
        if len(person["name"]) != 3:
            continue
        strokes = corpus.to_compact(corpus.signature_points(person, hanzi, latin, rng))
        if 300 <= sum(map(len, strokes)) <= 800:
            found.append({"signer_name": person["name"], "strokes": strokes, "canvas": corpus.canvas_of(person)})
    return found


def setup(base, tenant, password, names):
    """A courier and a waybill with a sign link for each consignee name; returns the tokens."""
    admin = login(base, tenant, password)
    requests.post(base + "/api/v1/users", headers=admin, json={
        "username": "rider", "password": password, "role": "courier"}).raise_for_status()
    courier = login(base, tenant, password, "rider")
    run = uuid.uuid4().hex[:6].upper()
    waybills = [{"number": f"L{run}{i:07d}", "courier": "rider",
                 "consignee": {"name": name, "phone": "13800138000", "address": "上海市浦东新区世纪大道100号",
                               "location": {"lat": 31.2304, "lng": 121.4737, "coord_system": "gcj02"}},
                 "items": [{"sku": "SOFA-3", "name": "沙发", "qty": 1}]} for i, name in enumerate(names)]
    for start in range(0, len(waybills), 500):
        requests.post(base + "/api/v1/waybills/batch", headers=admin,
                      json={"waybills": waybills[start:start + 500]}).raise_for_status()

    def link(waybill):
        response = requests.post(base + "/api/v1/sign-links", headers=courier, json={"waybills": [waybill["number"]]})
        response.raise_for_status()
        return response.json()["token"]

    with ThreadPoolExecutor(8) as pool:   # the web process's threads, so setup stays short
        return list(pool.map(link, waybills))


def _pdfs_missing(engine) -> int:
    """Receipts whose PDF the job has not stored yet (a direct read: WAL never blocks it)."""
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM receipts WHERE pdf_key IS NULL")).scalar_one()


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


def _clients(base, tokens, args, pictures, sigs):
    """``args.clients`` closed-loop phones doing whole sign-offs until the tokens or the
    time run out; returns (timings per call, errors, elapsed s, when the last submit ended)."""
    timings = {name: [] for name in ("view", "photo_12mp", "photo_1080p", "submit", "signoff")}
    errors, lock = [], threading.Lock()
    queue = list(reversed(list(enumerate(tokens))))
    deadline = time.time() + args.duration
    started = time.perf_counter()
    last_submit = [started]

    def client(n):
        while time.time() < deadline:
            with lock:
                if not queue:
                    return
                index, token = queue.pop()
                session = _phone(len(queue))
                sig = sigs[index]   # the signature of the waybill's consignee
                big, small = pictures[index]
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
                    errors.append(str(exc)[:400])

    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return timings, errors, time.perf_counter() - started, last_submit[0]


def _start_floor(instance, mode, args):
    """bench/floor_app.py under gunicorn with the service's worker and thread counts."""
    port = free_port()
    url = instance.database_url if instance.db == "postgres" else f"sqlite:///{instance.dir}/floor.db"
    env = dict(instance.env, FLOOR=mode, FLOOR_DATABASE_URL=url, FLOOR_FILES=os.path.join(instance.dir, "files"))
    # -c /dev/null: not the service's gunicorn.conf.py (its on_starting prepares the service's database);
    # --preload: the tables are made once, in the master (two workers racing on CREATE TABLE fail on PostgreSQL).
    instance.server = subprocess.Popen(
        [os.path.join(BIN, "gunicorn"), "-c", "/dev/null", "-k", "gthread", "-w", str(args.workers),
         "--threads", str(args.threads), "--keep-alive", "5", "--preload", "-b", f"127.0.0.1:{port}", "bench.floor_app:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if requests.get(base + "/healthz", timeout=1).ok:
                return base
        except requests.RequestException:
            time.sleep(0.05)
    raise RuntimeError("the floor app did not come up")


def _report(name, db, timings, errors, elapsed, cpu_s, server_s=None):
    done = len(timings["signoff"])
    rate = done / elapsed if elapsed else 0.0
    server = "" if server_s is None else \
        f", PostgreSQL's CPU {server_s:.1f} s ({server_s / max(done, 1) * 1000:.0f} ms a sign-off)"
    print(f"[{name}, {db}] {done} sign-offs in {elapsed:.1f} s = {rate:.1f}/s, errors {len(errors)}, "
          f"workers' CPU {cpu_s:.1f} s ({cpu_s / max(done, 1) * 1000:.0f} ms a sign-off){server}")
    worst = 0.0
    for call, values in timings.items():
        ms = [v * 1000 for v in values]
        p50, p95 = percentile(ms, 50), percentile(ms, 95)
        if call != "signoff" and ms:
            worst = max(worst, p95 / p50)
        print(f"  {call:12} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  p99 {percentile(ms, 99):7.1f} ms   "
              f"p95/p50 {p95 / p50 if ms else float('nan'):.1f}")
    for error in errors[:5]:
        print("  error:", error)
    return {"rate": rate, "errors": len(errors), "worst_tail": worst}


class _ServerCpu:
    """PostgreSQL's CPU from now (``common.PostgresCpu``); nothing on SQLite, whose work is
    in the workers' own CPU."""

    def __init__(self, instance):
        self.meter = PostgresCpu(instance.database_url) if instance.db == "postgres" else None
        self.before = self.meter.seconds() if self.meter else None

    def spent(self):
        return None if self.before is None else self.meter.seconds() - self.before


def _run_floor(mode, args, inputs):
    instance = Instance(args.db)
    try:
        base = _start_floor(instance, mode, args)
        settle(instance.worker_pids())
        server = _ServerCpu(instance)
        cpu_before = cpu_s(instance.worker_pids())
        tokens = [uuid.uuid4().hex for _ in range(args.max_signoffs)]
        timings, errors, elapsed, _ = _clients(base, tokens, args, *inputs)
        return _report("floor" if mode == "floor" else "judging floor", args.db, timings, errors, elapsed,
                       cpu_s(instance.worker_pids()) - cpu_before, server.spent())
    finally:
        instance.close()


def _run_service(args, inputs):
    extra = {"WORKER": args.worker}
    instance = Instance(args.db, extra_env=extra)
    try:
        tenant, password = instance.prepare()
        base = instance.start(workers=args.workers, threads=args.threads, extra_env=extra)
        requests.patch(base + "/api/v1/doc-types/default", headers=login(base, tenant, password),
                       # the recipient's photos count (the default is the courier's, issue 12)
                       json={"policy": {"link_ttl_s": 86400, "photos_by": "recipient"}}).raise_for_status()
        tokens = setup(base, tenant, password, [sig["signer_name"] for sig in inputs[1]])
        print(f"  (the workers settled {settle(instance.worker_pids()):.1f} s after the setup)")
        server = _ServerCpu(instance)
        cpu_before = cpu_s(instance.worker_pids())
        timings, errors, elapsed, last_submit = _clients(base, tokens, args, *inputs)
        result = _report(f"delivery_sign WORKER={args.worker}", args.db, timings, errors, elapsed,
                         cpu_s(instance.worker_pids()) - cpu_before, server.spent())
        if args.worker == "inline":
            done = len(timings["signoff"])
            engine = create_engine(instance.database_url)
            backlog = _pdfs_missing(engine)
            print(f"  PDFs still to render when the clients stopped: {backlog} of {done}")
            while _pdfs_missing(engine) and time.perf_counter() - last_submit < 600:
                time.sleep(0.25)
            left = _pdfs_missing(engine)
            print(f"  every PDF rendered {time.perf_counter() - last_submit:.1f} s after the last submit"
                  + (f" — NOT DONE, {left} left after 600 s" if left else "")
                  + f"; gunicorn workers' CPU since the start {cpu_s(instance.worker_pids()) - cpu_before:.1f} s")
            engine.dispose()
        return result
    finally:
        instance.close()


def run(args):
    started = time.perf_counter()
    inputs = (photos(args.max_signoffs), signatures(args.max_signoffs))
    print(f"  ({args.max_signoffs} pairs of photos and signatures made in {time.perf_counter() - started:.0f} s)")
    print(f"{args.clients} clients, gunicorn {args.workers}×{args.threads} gthread, {args.duration:.0f} s each, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} before the run")
    results = {}
    if not args.service_only:
        results["floor"] = _run_floor("floor", args, inputs)
        results["judging"] = _run_floor("judging", args, inputs)
    results["service"] = _run_service(args, inputs)
    print(f"\nside by side ({args.db}; load average {os.getloadavg()[0]:.1f} after):")
    print(f"  {'server':26} {'sign-offs/s':>11} {'errors':>7} {'worst p95/p50':>14}")
    names = {"floor": "floor", "judging": "judging floor", "service": "delivery_sign"}
    for key, result in results.items():
        print(f"  {names[key]:26} {result['rate']:11.1f} {result['errors']:7d} {result['worst_tail']:14.1f}")
    if "judging" in results:
        ratio = results["service"]["rate"] / results["judging"]["rate"] if results["judging"]["rate"] else 0
        print(f"  delivery_sign / judging floor = {ratio:.2f}   target ≥ 0.80;  p95 ≤ 3 × p50 per call;  no errors")
        print(f"  delivery_sign / floor         = {results['service']['rate'] / results['floor']['rate']:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=float, default=20, help="seconds of load per server")
    parser.add_argument("--max-signoffs", type=int, default=600, help="sign links made (the most a run can do)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--worker", choices=["off", "inline"], default="off")
    parser.add_argument("--service-only", action="store_true", help="skip the two floors")
    run(parser.parse_args())

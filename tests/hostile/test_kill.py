"""kill -9 of web processes and job workers at random moments under load, then restart.

Every sign-off that got a 201 must be intact (receipt, evidence hash, audit chain), every
PDF rendered once per receipt, and every webhook event delivered (at least once, with a
stable X-Event-Id a receiver de-duplicates on). Bounded: about a minute.
"""
import hashlib
import io
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid

import pytest
import requests
from sqlalchemy import create_engine, text

from tests.evidence.photo_fixtures import jpeg, scene
from tests.fakes import FakeServer, json_answer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
LOAD_SECONDS = 20
DRAIN_SECONDS = 90
PASSWORD = "fault-test-password"


def _port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Deployment:
    """gunicorn (2 workers) + one ``flask worker`` on a fresh database, restartable."""

    def __init__(self, tmp_path, database_url):
        self.port = _port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ, INSTANCE_PATH=str(tmp_path), DEMO_TENANT="0", WORKER="off", LOG_LEVEL="ERROR",
                        SECRET_KEY="kill-test", BIND=f"127.0.0.1:{self.port}", WEB_CONCURRENCY="2",
                        GUNICORN_THREADS="2", JOB_LEASE_S="3", WEBHOOK_BACKOFF_BASE_S="1",
                        WEBHOOK_ALLOW_PRIVATE="1", PUBLIC_BASE_URL=f"http://127.0.0.1:{self.port}",
                        PASSWORD_HASH_TIME_COST="1", PASSWORD_HASH_MEMORY_KIB="1024", PYTHONPATH=ROOT)
        if database_url:
            self.env["DATABASE_URL"] = database_url
        self.web = self.worker = None

    def cli(self, *args):
        subprocess.run([os.path.join(BIN, "flask"), "--app", "wsgi", *args], cwd=ROOT, env=self.env, check=True,
                       capture_output=True, timeout=120)

    def start_web(self):
        self.web = subprocess.Popen([os.path.join(BIN, "gunicorn"), "wsgi:app"], cwd=ROOT, env=self.env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if requests.get(self.base + "/healthz", timeout=1).ok:
                    return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not start")

    def start_worker(self):
        self.worker = subprocess.Popen([os.path.join(BIN, "flask"), "--app", "wsgi", "worker", "--poll", "0.2"],
                                       cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def web_workers(self):
        out = subprocess.run(["pgrep", "-P", str(self.web.pid)], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def stop(self):
        for proc in (self.web, self.worker):
            if proc and proc.poll() is None:
                proc.kill()
                proc.wait(10)


@pytest.fixture
def deployment(tmp_path, database_url):
    url = None
    if database_url.startswith("postgresql"):
        # A database of its own, so the killed processes touch nothing of the suite's.
        from tests.conftest import _drop_postgres, _fresh_postgres

        url, base, name = _fresh_postgres(database_url)
    deploy = Deployment(tmp_path, url)
    deploy.cli("prepare-db")
    deploy.cli("create-tenant", "acme", "--name", "故障测试", "--admin-user", "admin", "--admin-password", PASSWORD)
    yield deploy
    deploy.stop()
    if url:
        _drop_postgres(base, name)


@pytest.mark.slow
def test_kill_nine_under_load_loses_nothing(deployment, signature):
    received, lock = [], threading.Lock()

    def receive(request):
        with lock:
            received.append(request["headers"].get("X-Event-Id"))
        return json_answer(200, {"ok": True})

    receiver = FakeServer(receive)
    deployment.start_web()
    deployment.start_worker()
    base = deployment.base
    admin = {"Authorization": "Bearer " + requests.post(base + "/api/v1/auth/login", json={
        "tenant": "acme", "username": "admin", "password": PASSWORD}).json()["token"]}
    requests.post(base + "/api/v1/users", headers=admin, json={"username": "rider", "password": PASSWORD,
                                                              "role": "courier"}).raise_for_status()
    requests.post(base + "/api/v1/webhooks", headers=admin, json={
        "url": receiver.url + "/hook", "events": ["waybill.signed", "receipt.pdf_ready"]}).raise_for_status()
    count = 400
    waybills = [{"number": f"K{i:08d}", "courier": "rider", "items": [{"name": "箱", "qty": 1}],
                 "consignee": {"name": "李娜", "phone": "13800138000", "address": "上海"}} for i in range(count)]
    requests.post(base + "/api/v1/waybills/batch", headers=admin, json={"waybills": waybills}).raise_for_status()
    photo = jpeg(scene(8, 640, 480), quality=80)

    succeeded, attempted, kills = [], [0], []
    stop = threading.Event()

    def client(n):
        session = requests.Session()
        while not stop.is_set():
            with lock:
                if not waybills:
                    return
                number = waybills.pop()["number"]
                attempted[0] += 1
            try:
                courier = {"Authorization": "Bearer " + session.post(base + "/api/v1/auth/login", json={
                    "tenant": "acme", "username": "rider", "password": PASSWORD}, timeout=10).json()["token"]}
                link = session.post(base + "/api/v1/sign-links", headers=courier, json={"waybills": [number]},
                                    timeout=10).json()
                token = link["token"]
                # The courier photographs the goods (photos_by: courier, the default since issue 12).
                uploaded = session.post(f"{base}/api/v1/sign-links/{token}/photos", data={"kind": "goods"},
                                        headers=courier, timeout=10,
                                        files={"file": ("p.jpg", io.BytesIO(photo + uuid.uuid4().bytes))}).json()
                body = {"submission_id": str(uuid.uuid4()), "outcome": "signed",
                        "signer": {"name": signature["signer_name"], "relation": "self"},
                        "signature": {"strokes": signature["strokes"], "canvas": signature["canvas"]},
                        "location": None, "photo_ids": [uploaded["photo_id"]]}
                response = session.post(f"{base}/api/v1/sign/{token}/submit", json=body, timeout=10)
                if response.status_code == 201:
                    with lock:
                        succeeded.append((number, response.json()["receipt_id"]))
            except (requests.RequestException, KeyError, ValueError):
                # The process died under this request: it must be absent or complete (checked below).
                time.sleep(0.3)

    def killer():
        rng = random.Random(1127)
        while not stop.wait(rng.uniform(1.5, 3.0)):
            target = rng.choice(["web-worker", "web-worker", "job-worker", "web-master"])
            if target == "web-worker" and deployment.web_workers():
                os.kill(rng.choice(deployment.web_workers()), signal.SIGKILL)   # gunicorn replaces it
            elif target == "job-worker":
                deployment.worker.send_signal(signal.SIGKILL)
                deployment.worker.wait()
                deployment.start_worker()
            else:
                workers = deployment.web_workers()
                deployment.web.send_signal(signal.SIGKILL)
                deployment.web.wait()
                for pid in workers:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                time.sleep(0.5)
                deployment.start_web()
            kills.append(target)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
    killer_thread = threading.Thread(target=killer)
    for t in threads + [killer_thread]:
        t.start()
    time.sleep(LOAD_SECONDS)
    stop.set()
    for t in threads + [killer_thread]:
        t.join(60)

    assert kills and succeeded, (kills, len(succeeded))
    # Everything that answered 201 is intact...
    engine = create_engine(deployment.env.get("DATABASE_URL") or
                           f"sqlite:///{deployment.env['INSTANCE_PATH']}/delivery_sign.db")
    deadline = time.time() + DRAIN_SECONDS
    with engine.connect() as conn:
        while time.time() < deadline:
            # Photo sweeps wait for their links to expire; PDFs and webhooks are due now.
            pending = conn.execute(text("SELECT count(*) FROM jobs WHERE status IN ('pending', 'running') "
                                        "AND kind IN ('receipt.render_pdf', 'webhook.deliver')")).scalar()
            conn.commit()
            if pending == 0:
                break
            time.sleep(0.5)
        receipts = dict(conn.execute(text("SELECT public_id, evidence_hash FROM receipts")).all())
        signed = set(conn.execute(text("SELECT number FROM waybills WHERE status = 'signed'")).scalars())
        no_pdf = conn.execute(text("SELECT count(*) FROM receipts WHERE pdf_key IS NULL")).scalar()
        dead = conn.execute(text("SELECT count(*) FROM jobs WHERE status = 'dead'")).scalar()
        events = set(conn.execute(text("SELECT public_id FROM webhook_events")).scalars())
    engine.dispose()
    for number, receipt_id in succeeded:
        assert number in signed and receipt_id in receipts
    evidence = requests.get(f"{base}/api/v1/receipts/{succeeded[0][1]}", headers=admin).json()
    canonical = json.dumps(evidence["evidence"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hashlib.sha256(canonical.encode()).hexdigest() == evidence["evidence_hash"]
    # ...what did not answer is absent or complete: no signed waybill without a receipt...
    assert len(signed) == len(receipts)
    assert requests.get(base + "/api/v1/audit/verify", headers=admin).json()["ok"] is True
    # ...and every PDF and webhook event was produced.
    assert no_pdf == 0 and dead == 0
    with lock:
        delivered = set(received)
    assert events <= delivered
    duplicates = len(received) - len(delivered)
    print(f"kill -9: {len(kills)} kills ({', '.join(sorted(set(kills)))}), {attempted[0]} sign-offs tried, "
          f"{len(succeeded)} answered 201, {len(receipts)} receipts, 0 lost; {len(events)} webhook events, "
          f"{duplicates} redelivered duplicates")
    receiver.close()

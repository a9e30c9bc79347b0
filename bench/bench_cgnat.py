"""Issue 15.7 figure: sign-offs from one CGNAT address meet no rate-limit refusals.

240 recipients behind one carrier address (every request from 127.0.0.1, 8 at a time) each
view their link, poll it as the page does, upload a 1080p photo and submit, against one
gunicorn worker. Prints sign-offs, the time they took, and the 429s by call. Before this
issue's fix the per-address budget (120 a minute) refused most of them ("1,013 refusals").

    /work/venv/bin/python bench/bench_cgnat.py --db sqlite
"""
import argparse
import threading
import time
import uuid
from collections import Counter

import requests

from common import Instance, login
from load import photos, setup, signature

SIGNOFFS = 240
CLIENTS = 8
VIEWS = 3   # the first view and the page's re-reads


def run(db):
    instance = Instance(db)
    _, small = photos(1)[0]
    sig = signature()
    refused, failed, done, lock = Counter(), [], [0], threading.Lock()
    try:
        tenant, password = instance.prepare()
        base = instance.start(workers=1, threads=4)
        requests.patch(base + "/api/v1/doc-types/default", headers=login(base, tenant, password),
                       json={"policy": {"link_ttl_s": 86400}}).raise_for_status()
        queue = list(reversed(setup(base, tenant, password, [sig["signer_name"]] * SIGNOFFS)))

        def call(session, name, method, url, **kwargs):
            response = session.request(method, url, **kwargs)
            if response.status_code == 429:
                with lock:
                    refused[name] += 1
            return response

        def client():
            session = requests.Session()   # one address: 127.0.0.1, as behind one CGNAT
            while True:
                with lock:
                    if not queue:
                        return
                    token = queue.pop()
                try:
                    for _ in range(VIEWS):
                        call(session, "view", "GET", f"{base}/api/v1/sign/{token}").raise_for_status()
                    call(session, "page", "GET", f"{base}/s/{token}").raise_for_status()
                    photo = call(session, "photo", "POST", f"{base}/api/v1/sign/{token}/photos",
                                 data={"kind": "goods"}, files={"file": ("p.jpg", small + uuid.uuid4().bytes,
                                                                          "image/jpeg")})
                    photo.raise_for_status()
                    body = {"submission_id": str(uuid.uuid4()), "outcome": "signed",
                            "signer": {"name": sig["signer_name"], "relation": "self"},
                            "signature": {"strokes": sig["strokes"], "canvas": sig["canvas"]},
                            "location": {"lat": 31.2305, "lng": 121.4736, "accuracy": 12, "coord_system": "gcj02"},
                            "photo_ids": [photo.json()["photo_id"]], "client": {"platform": "h5"}}
                    call(session, "submit", "POST", f"{base}/api/v1/sign/{token}/submit", json=body).raise_for_status()
                    with lock:
                        done[0] += 1
                except Exception as exc:  # noqa: BLE001 - every failure is counted
                    with lock:
                        failed.append(str(exc)[:120])

        started = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        calls = done[0] * (VIEWS + 3)
        print(f"[{db:8}] {done[0]} sign-offs from one address in {elapsed:.1f} s ({calls} recipient calls): "
              f"{sum(refused.values())} refusals (429) {dict(refused)}, {len(failed)} failed sign-offs")
        for error in failed[:3]:
            print("  error:", error)
    finally:
        instance.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    run(parser.parse_args().db)

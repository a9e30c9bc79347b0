"""CPU-seconds per sign-off, by stage: view, 12-MP photo, 1080p photo, submit, PDF, webhook.

Runs the app in-process on one thread (SQLite, WSGI test client) and reads
``time.process_time`` around each stage, so the figures are this process's CPU only —
no HTTP server, no client. The PDF and webhook stages run through the job runner.
Then the capacity arithmetic for 1,000 sign-offs per second.
"""
import io
import os
import statistics
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

N = int(os.environ.get("BENCH_SIGNOFFS", "30"))
CORES_PER_MACHINE = 16
UTILISATION = 0.6   # head-room for the evening peak and for failover


def main():
    os.environ.update(INSTANCE_PATH=tempfile.mkdtemp(), DEMO_TENANT="0", LOG_LEVEL="ERROR")
    from flask_migrate import upgrade

    from delivery_sign import create_app
    from delivery_sign.core import jobs
    from load import photos, signature
    from tests.factories import World
    from tests.fakes import FakeServer, json_answer

    app = create_app({"TESTING": True, "WORKER": "off", "RATELIMIT_ENABLED": False,
                      "PASSWORD_HASH_TIME_COST": 1, "PASSWORD_HASH_MEMORY_KIB": 1024})
    with app.app_context():
        upgrade()
    client = app.test_client()
    world = World.create(app, client)
    receiver = FakeServer(lambda request: json_answer(200, {"ok": True}))
    world.post("/webhooks", {"url": receiver.url + "/hook", "events": ["waybill.signed"]})
    big, small = photos()
    sig = signature()
    tokens = []
    for _ in range(N + 3):
        number = world.waybill(courier="courier1", org_unit="EAST-1")["number"]
        tokens.append(world.post("/sign-links", {"waybills": [number]}, who="courier1").get_json()["token"])

    stages = {k: [] for k in ("view", "photo_12mp", "photo_1080p", "submit")}

    def timed(stage, call):
        started = time.process_time()
        response = call()
        if stage:
            stages[stage].append(time.process_time() - started)
        assert response.status_code < 300, response.get_data(as_text=True)[:300]
        return response

    for i, token in enumerate(tokens):
        warm = i < 3
        timed(None if warm else "view", lambda: client.get(f"/api/v1/sign/{token}"))
        ids = []
        for stage, data in (("photo_12mp", big), ("photo_1080p", small)):
            response = timed(None if warm else stage, lambda: client.post(
                f"/api/v1/sign/{token}/photos", content_type="multipart/form-data",
                data={"kind": "goods", "file": (io.BytesIO(data + uuid.uuid4().bytes), "p.jpg")}))
            ids.append(response.get_json()["photo_id"])
        body = {"submission_id": str(uuid.uuid4()), "outcome": "signed",
                "signer": {"name": sig["signer_name"], "relation": "self"},
                "signature": {"strokes": sig["strokes"], "canvas": sig["canvas"]},
                "location": {"lat": 31.2305, "lng": 121.4736, "accuracy": 12, "coord_system": "gcj02"},
                "photo_ids": ids}
        timed(None if warm else "submit", lambda: client.post(f"/api/v1/sign/{token}/submit", json=body))

    for kind, name in (("receipt.render_pdf", "pdf"), ("webhook.deliver", "webhook")):
        started = time.process_time()
        ran = jobs.run_due(app, kinds=(kind,))
        stages[name] = [(time.process_time() - started) / max(ran, 1)] * max(ran, 1)
        print(f"  ({ran} {kind} jobs run)")
    receiver.close()

    total = 0.0
    print(f"CPU-seconds per sign-off by stage (median of {N}, one thread, in-process):")
    for stage, values in stages.items():
        value = statistics.median(values)
        total += value
        print(f"  {stage:12} {value * 1000:7.1f} ms")
    print(f"  {'total':12} {total * 1000:7.1f} ms")
    cores = 1000 * total / UTILISATION
    print(f"1,000 sign-offs/s ≈ {1000 * total:.0f} CPU-cores busy; at {UTILISATION:.0%} utilisation "
          f"{cores:.0f} cores ≈ {cores / CORES_PER_MACHINE:.0f} machines of {CORES_PER_MACHINE} cores "
          f"(plus PostgreSQL, see the deployment guide)")


if __name__ == "__main__":
    main()

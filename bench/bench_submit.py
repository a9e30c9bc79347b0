"""The submit alone, counted: N sign-offs prepared untimed (a link, its view, two 1280x960
photos), then each submit's CPU (``time.process_time``, in-process, one thread), its SQL
statements and its INSERT/UPDATE statements; ``--cprofile`` adds the function calls per
submit (a count that does not depend on the machine's load) and the top functions;
``--sql`` prints the last submit's statements. With a webhook subscriber unless
``--nohook``; SQLite in a temporary instance folder. Issue 16.

    /work/venv/bin/python bench/bench_submit.py -n 40 --cprofile
"""
import argparse, cProfile, io, json, os, pstats, statistics, sys, tempfile, time, uuid
ROOT = os.environ.get("ROOT") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT); sys.path.insert(0, ROOT + "/bench")
p = argparse.ArgumentParser()
p.add_argument("-n", type=int, default=40)
p.add_argument("--cprofile", action="store_true")
p.add_argument("--sql", action="store_true")
p.add_argument("--nohook", action="store_true")
a = p.parse_args()
os.environ.update(INSTANCE_PATH=tempfile.mkdtemp(), DEMO_TENANT="0", LOG_LEVEL="ERROR")
from flask_migrate import upgrade
from delivery_sign import create_app
from delivery_sign.extensions import db
from load import photos, signatures
from tests.factories import World, waybill_payload
from tests.fakes import FakeServer, json_answer
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart
from sqlalchemy import event
app = create_app({"TESTING": True, "WORKER": "off", "RATELIMIT_ENABLED": False,
                  "PASSWORD_HASH_TIME_COST": 1, "PASSWORD_HASH_MEMORY_KIB": 1024})
with app.app_context():
    upgrade(); engine = db.engine
client = app.test_client()
world = World.create(app, client)
if not a.nohook:
    receiver = FakeServer(lambda r: json_answer(200, {"ok": True}))
    world.post("/webhooks", {"url": receiver.url + "/hook", "events": ["waybill.signed"]})
stmts = []
def seen(conn, cursor, statement, parameters, context, executemany):
    stmts.append(statement)
event.listen(engine, "before_cursor_execute", seen)
W = 3
prepared = []
# Each sign-off by the waybill's consignee, with a signature and pictures of its own: the same
# strokes or picture again would be a replay or a duplicate photo, an anomaly to record.
sigs, pictures = signatures(a.n + W), photos(2 * (a.n + W))
for i in range(a.n + W):
    sig = sigs[i]
    consignee = {**waybill_payload()["consignee"], "name": sig["signer_name"]}
    number = world.waybill(courier="courier1", org_unit="EAST-1", consignee=consignee)["number"]
    token = world.post("/sign-links", {"waybills": [number]}, who="courier1").get_json()["token"]
    client.get(f"/api/v1/sign/{token}")
    ids = []
    for k in range(2):
        boundary, body = encode_multipart({"kind": "goods", "file": FileStorage(
            io.BytesIO(pictures[2 * i + k][1]), filename="p.jpg", content_type="image/jpeg")})
        r = client.post(f"/api/v1/sign/{token}/photos", content_type=f'multipart/form-data; boundary="{boundary}"', data=body)
        ids.append(r.get_json()["photo_id"])
    body = {"submission_id": str(uuid.uuid4()), "outcome": "signed",
            "signer": {"name": sig["signer_name"], "relation": "self"},
            "signature": {"strokes": sig["strokes"], "canvas": sig["canvas"]},
            "location": {"lat": 31.2305, "lng": 121.4736, "accuracy": 12, "coord_system": "gcj02"},
            "photo_ids": ids}
    prepared.append((token, json.dumps(body, ensure_ascii=False).encode()))
times, counts, writes = [], [], []
prof = cProfile.Profile() if a.cprofile else None
last_sql = None
for i, (token, body) in enumerate(prepared):
    stmts.clear()
    if prof and i >= W: prof.enable()
    t = time.process_time()
    r = client.post(f"/api/v1/sign/{token}/submit", data=body, content_type="application/json")
    el = time.process_time() - t
    if prof and i >= W: prof.disable()
    assert r.status_code == 201, r.get_data(as_text=True)[:500]
    if i >= W:
        times.append(el); counts.append(len(stmts))
        writes.append(sum(1 for s in stmts if s.lstrip()[:6].upper() in ("INSERT", "UPDATE") or s.lstrip().startswith("COPY")))
        last_sql = list(stmts)
print(f"submit: median {statistics.median(times)*1000:.2f} ms  min {min(times)*1000:.2f} ms  "
      f"statements {statistics.median(counts):.0f} writes {statistics.median(writes):.0f}  load {os.getloadavg()[0]:.1f}")
if a.sql:
    for s in last_sql: print("  ", " ".join(s.split())[:200])
if prof:
    st = pstats.Stats(prof)
    total_calls = sum(v[1] for v in st.stats.values())
    print(f"function calls per submit: {total_calls / len(times):.0f}")
    st.sort_stats("tottime").print_stats(40)
if prof and os.environ.get("CALLERS"):
    for pat in os.environ["CALLERS"].split(","):
        st.print_callers(pat)
if prof and os.environ.get("CUM"):
    st.sort_stats("cumulative").print_stats(int(os.environ["CUM"]))

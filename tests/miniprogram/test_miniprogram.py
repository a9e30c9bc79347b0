"""The reference mini-program (miniprogram/) against the real server.

gunicorn on a fresh database, the fake WeChat (tests/fakes.py) for code2Session and
subscribeMessage.send; this test makes the tenant, a courier, the day's waybills and the
consent questions (one as a subscription message, the others by SMS) through the API,
then runs the mini-program's own tests (`node --test miniprogram/test/`,
miniprogram-simulate) with the origins and data in the environment, and checks from the
server's side what the pages did. A loopback "control" server lets a node test expire a
consent link at the moment it needs (the link's clock moved, as other tests move the
clock). Without node or `npm ci` they skip, except under REQUIRE_BROWSER=1 (CI).
"""
import glob
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import requests
from sqlalchemy import create_engine

from delivery_sign.consent.models import ConsentRequest
from delivery_sign.core.clock import utcnow
from tests.evidence.photo_fixtures import jpeg, scene
from tests.fakes import FakeServer, SubscribingWechat, json_answer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
PASSWORD = "mini-program-password"
OPENIDS = {"courier": "o-courier-6f1d2c", "recipient": "o-recipient-93ab40"}


def _node():
    node = shutil.which("node")
    simulate = os.path.join(ROOT, "node_modules", "miniprogram-simulate")
    if node and os.path.isdir(simulate):
        return node
    why = "node is not installed" if not node else "node_modules is missing (run `npm ci`)"
    if os.environ.get("REQUIRE_BROWSER") == "1" or os.environ.get("CI"):
        pytest.fail(f"the mini-program tests must run here, but {why}")
    pytest.skip(f"{why}; the mini-program tests need it")


def _port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """delivery_sign under gunicorn, on its own fresh database, talking to a fake WeChat."""

    def __init__(self, tmp_path, wechat_url, database_url):
        self.port = _port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ, INSTANCE_PATH=str(tmp_path / "instance"), DEMO_TENANT="0", LOG_LEVEL="ERROR",
                        SECRET_KEY="mini-program-test", BIND=f"127.0.0.1:{self.port}", WEB_CONCURRENCY="1",
                        GUNICORN_THREADS="4", PUBLIC_BASE_URL=self.base, WORKER="inline", SMS_BACKEND="outbox",
                        WECHAT_APPID="wx-test-appid", WECHAT_SECRET="wx-test-secret", WECHAT_API_BASE=wechat_url,
                        WECHAT_CONSENT_TEMPLATE_ID="tmpl-consent",
                        PASSWORD_HASH_TIME_COST="1", PASSWORD_HASH_MEMORY_KIB="1024", PYTHONPATH=ROOT)
        if database_url:
            self.env["DATABASE_URL"] = database_url
        self.database_url = database_url or f"sqlite:///{tmp_path / 'instance' / 'delivery_sign.db'}"
        self.process = None

    def cli(self, *args):
        subprocess.run([os.path.join(BIN, "flask"), "--app", "wsgi", *args], cwd=ROOT, env=self.env, check=True,
                       capture_output=True, timeout=120)

    def start(self):
        self.process = subprocess.Popen([os.path.join(BIN, "gunicorn"), "wsgi:app"], cwd=ROOT, env=self.env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if requests.get(self.base + "/healthz", timeout=1).ok:
                    return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not start")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@pytest.fixture
def wechat():
    fake = SubscribingWechat()
    fake.subscribed.add(OPENIDS["recipient"])
    yield fake
    fake.close()


@pytest.fixture
def control(server):
    """``POST /expire/<consent request id>``: the request's link expires now (its clock moved)."""
    engine = create_engine(server.database_url)
    table = ConsentRequest.__table__

    def handle(request):
        match = re.fullmatch(r"/expire/([0-9a-f]{32})", request["path"])
        if request["method"] != "POST" or not match:
            return json_answer(404, {"error": "no such control"})
        with engine.begin() as connection:
            done = connection.execute(table.update().where(table.c.public_id == match.group(1))
                                      .values(expires_at=utcnow() - timedelta(seconds=1))).rowcount
        return json_answer(200 if done == 1 else 404, {"expired": done})

    fake = FakeServer(handle)
    yield fake
    fake.close()
    engine.dispose()


@pytest.fixture
def server(tmp_path, wechat, database_url):
    url = None
    if database_url.startswith("postgresql"):
        from tests.conftest import _drop_postgres, _fresh_postgres

        url, base, name = _fresh_postgres(database_url)
    srv = Server(tmp_path, wechat.url, url)
    srv.cli("prepare-db")
    srv.cli("create-tenant", "acme", "--name", "小程序物流", "--admin-user", "admin", "--admin-password", PASSWORD)
    srv.start()
    yield srv
    srv.stop()
    if url:
        _drop_postgres(base, name)


def _waybill(number, name, phone, **extra):
    return {"number": number, "courier": "rider", "org_unit": "HQ", **extra,
            "consignee": {"name": name, "phone": phone, "address": "上海市浦东新区世纪大道100号",
                          "location": {"lat": 31.2304, "lng": 121.4737, "coord_system": "gcj02"}},
            "items": [{"sku": "SOFA-3", "name": "三人位沙发", "qty": 1, "unit": "件"},
                      {"sku": "CHR-01", "name": "餐椅", "qty": 4, "unit": "把"}]}


def _consent_questions(base, admin, wechat):
    """The consent questions the node tests answer through pages/consent: one sent as a
    subscription message (its `page` is what WeChat opens), the others by SMS (the link
    read back from the outbox, as the consignee reads it)."""
    def ask(number, options, places=None, openid=None):
        body = {"options": options, "places": places or {}}
        if openid:
            body["wechat_openid"] = openid
        response = requests.post(f"{base}/api/v1/waybills/{number}/consent-requests", headers=admin, json=body, timeout=30)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def sms_link(phone_masked):
        items = requests.get(base + "/api/v1/dev/sms-outbox", headers=admin, timeout=30).json()["items"]
        texts = [m["text"] for m in items if m["phone"] == phone_masked and "/c/" in m["text"]]
        assert len(texts) == 1, items
        return re.search(r"https?://\S+/c/[A-Za-z0-9_-]+", texts[0]).group(0)

    ask("MP0000000006", ["locker", "station", "guard", "reschedule"],
        {"locker": "世纪大道丰巢柜 A 区", "station": "菜鸟驿站（世纪大道店）"}, openid=OPENIDS["recipient"])
    message = wechat.messages[-1]
    assert message["template_id"] == "tmpl-consent" and message["touser"] == OPENIDS["recipient"]
    ask("MP0000000007", ["door", "guard", "neighbour"])
    ask("MP0000000009", ["door", "reschedule"])
    expiring = ask("MP0000000010", ["locker", "door"], {"locker": "丰巢柜"})
    return {"wechat": {"number": "MP0000000006", "page": message["page"]},
            "standing": {"number": "MP0000000007", "url": sms_link("135****5000"), "sameDoor": "MP0000000008"},
            "reschedule": {"number": "MP0000000009", "url": sms_link("133****3000")},
            "expiring": {"number": "MP0000000010", "url": sms_link("132****2000"), "id": expiring}}


def test_the_mini_program_signs_off_against_the_real_server(server, wechat, control, tmp_path, signature):
    node = _node()
    base = server.base
    login = requests.post(base + "/api/v1/auth/login", json={"tenant": "acme", "username": "admin",
                                                             "password": PASSWORD}, timeout=30)
    admin = {"Authorization": "Bearer " + login.json()["token"]}
    requests.post(base + "/api/v1/users", headers=admin, timeout=30, json={
        "username": "rider", "password": PASSWORD, "role": "courier", "org_unit": "HQ",
        "display_name": "王师傅"}).raise_for_status()
    # A doc type where the recipient takes the photos, for the sign page's own camera.
    requests.post(base + "/api/v1/doc-types", headers=admin, timeout=30, json={
        "code": "selfpick", "name": "门店自提单", "policy": {"photos_by": "recipient", "photos_min": 1}}).raise_for_status()
    # And one where the consignee's phone must be verified, no photos asked.
    requests.post(base + "/api/v1/doc-types", headers=admin, timeout=30, json={
        "code": "verified", "name": "验证签收单", "policy": {"otp": "required", "photos_by": "recipient",
                                                         "photos_min": 0}}).raise_for_status()
    waybills = {"pair": ["MP0000000001", "MP0000000002"], "other": "MP0000000003", "photos": "MP0000000004",
                "problems": "MP0000000005"}
    for payload in (_waybill("MP0000000001", "李娜", "13800138000"), _waybill("MP0000000002", "李娜", "13800138000"),
                    _waybill("MP0000000003", "张伟", "13900139000"),
                    _waybill("MP0000000004", "陈静", "13700137000", doc_type="selfpick"),
                    _waybill("MP0000000005", "周敏", "13700137000", doc_type="verified"),
                    # Nobody home: the consent questions of pages/consent (two parcels for one door).
                    _waybill("MP0000000006", "赵磊", "13600136000"), _waybill("MP0000000007", "孙丽", "13500135000"),
                    _waybill("MP0000000008", "孙丽", "13500135000"), _waybill("MP0000000009", "吴强", "13300133000"),
                    _waybill("MP0000000010", "郑洁", "13200132000")):
        requests.post(base + "/api/v1/waybills", headers=admin, json=payload, timeout=30).raise_for_status()
    rider = {"Authorization": "Bearer " + requests.post(base + "/api/v1/auth/login", timeout=30, json={
        "tenant": "acme", "username": "rider", "password": PASSWORD}).json()["token"]}
    photo_link = requests.post(base + "/api/v1/sign-links", headers=rider, timeout=30,
                               json={"waybills": [waybills["photos"]]})
    photo_link.raise_for_status()
    problem_link = requests.post(base + "/api/v1/sign-links", headers=rider, timeout=30,
                                 json={"waybills": [waybills["problems"]]})
    problem_link.raise_for_status()
    consent = _consent_questions(base, admin, wechat)

    codes = {"courier": ["wx-courier-a", "wx-courier-wrong-password", "wx-courier-b"], "recipient": ["wx-recipient-a"],
             "photos": ["wx-recipient-b", "wx-recipient-c"], "problems": ["wx-recipient-d"]}
    for who, openid in (("courier", OPENIDS["courier"]), ("recipient", OPENIDS["recipient"]),
                        ("photos", OPENIDS["recipient"]), ("problems", OPENIDS["recipient"])):
        for code in codes[who]:
            wechat.openids[code] = openid
    photos = {}
    for who, seed in (("courier", 23), ("retake", 57), ("recipient", 41)):   # each shot a different scene
        photos[who] = str(tmp_path / f"camera-{who}.jpg")
        with open(photos[who], "wb") as fh:
            fh.write(jpeg(scene(seed, 1280, 960), quality=85))
    signature_path = tmp_path / "signature.json"
    signature_path.write_text(json.dumps(signature, ensure_ascii=False), encoding="utf-8")

    env = dict(os.environ, DS_ORIGIN=base, DS_TENANT="acme", DS_ADMIN_TOKEN=admin["Authorization"][7:],
               DS_COURIER="rider", DS_PASSWORD=PASSWORD, DS_WAYBILLS=json.dumps(waybills),
               DS_WX_CODES=json.dumps(codes), DS_OPENIDS=json.dumps(OPENIDS), DS_PHOTOS=json.dumps(photos),
               DS_SIGNATURE=str(signature_path), DS_PHOTO_LINK_URL=photo_link.json()["url"],
               DS_PROBLEM_LINK_URL=problem_link.json()["url"], DS_CONSENT=json.dumps(consent, ensure_ascii=False),
               DS_CONTROL=control.url)
    files = sorted(glob.glob(os.path.join(ROOT, "miniprogram", "test", "*.test.js")))
    run = subprocess.run([node, "--test", "--test-concurrency=1", *files], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=180)
    summary = {line.split()[1]: int(line.split()[2]) for line in run.stdout.splitlines()
               if line.startswith("# ") and len(line.split()) == 3 and line.split()[2].isdigit()}
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-4000:]
    assert summary.get("fail") == 0 and summary.get("skipped") == 0 and summary.get("pass", 0) >= 20, run.stdout[-3000:]

    # What the pages did, seen from the server: the bound courier, the signed waybills.
    wechat_logins = [r for r in wechat.requests if r["path"] == "/sns/jscode2session"]
    assert {r["query"]["js_code"] for r in wechat_logins} >= {"wx-courier-a", "wx-courier-b", "wx-recipient-a"}
    for number in waybills["pair"]:
        got = requests.get(f"{base}/api/v1/waybills/{number}", headers=admin, timeout=30).json()
        assert got["status"] == "signed"
        assert got["receipt"] is not None
    assert requests.get(f"{base}/api/v1/waybills/{waybills['other']}", headers=admin,
                        timeout=30).json()["status"] != "signed"
    assert requests.get(f"{base}/api/v1/waybills/{waybills['photos']}", headers=admin,
                        timeout=30).json()["status"] == "signed"
    assert requests.get(f"{base}/api/v1/waybills/{waybills['problems']}", headers=admin,
                        timeout=30).json()["status"] == "partially_signed"
    # The courier page bound the WeChat account: the next wx.login signs the courier in directly.
    wechat.openids["wx-courier-later"] = OPENIDS["courier"]
    again = requests.post(base + "/api/v1/auth/wechat", timeout=30, json={"tenant": "acme", "code": "wx-courier-later"})
    assert again.status_code == 200, again.text
    assert again.json()["user"]["username"] == "rider"

    # pages/consent: the answers are the consignee's, in the audit chain, and it still holds.
    def consent_of(number):
        return requests.get(f"{base}/api/v1/waybills/{number}/consent", headers=admin, timeout=30).json()["consent"]

    assert consent_of(consent["wechat"]["number"])["choice"] == "station"
    assert consent_of(consent["wechat"]["number"])["channel"] == "wechat"
    assert consent_of(consent["standing"]["sameDoor"]) is None, "the standing consent was revoked"
    assert consent_of(consent["reschedule"]["number"]) is None, "a new day is no consent to drop"
    assert consent_of(consent["expiring"]["number"]) is None, "the expired link took no answer"
    verify = requests.get(base + "/api/v1/audit/verify", headers=admin, timeout=30)
    assert verify.status_code == 200 and verify.json()["ok"] is True, verify.text

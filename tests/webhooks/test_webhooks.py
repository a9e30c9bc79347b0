"""Webhooks: subscriptions, signed deliveries through receiver failures, backoff, redelivery."""
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta

import pytest

from delivery_sign.core import jobs
from delivery_sign.core.clock import utcnow
from delivery_sign.webhooks.services import UrlNotAllowed, check_url

ALL = ["waybill.signed", "waybill.partially_signed", "waybill.refused", "receipt.pdf_ready", "waybill.reconciled"]


def drain(world, now=None):
    return jobs.run_due(world.app, tenant_id=world.tenant_id, now=now)


def subscribe(world, url, events=ALL, who="admin"):
    response = world.post("/webhooks", {"url": url, "events": events}, who=who)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def check_signature(secret, headers, body):
    """The older scheme: ``X-Signature: t=…,v1=<hex>[,v1=<hex>]`` keyed by the secret string."""
    parts = [part.split("=", 1) for part in headers["X-Signature"].split(",")]
    t = dict(parts)["t"]
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    assert any(k == "v1" and hmac.compare_digest(v, expected) for k, v in parts)
    assert abs(int(t) - time.time()) < 600


def test_subscribe_list_delete(world):
    hook = subscribe(world, "https://tms.example.com/hooks", ["waybill.signed"], who="api")
    assert hook["secret"].startswith("whsec_") and hook["id"].startswith("wh_")
    listed = world.get("/webhooks").get_json()
    assert [h["id"] for h in listed["items"]] == [hook["id"]] and "secret" not in listed["items"][0]
    assert listed["next_cursor"] is None
    assert world.post("/webhooks", {"url": "ftp://x.example.com/", "events": ["waybill.signed"]}).status_code == 422
    assert world.post("/webhooks", {"url": "https://x.example.com/", "events": ["nope"]}).status_code == 422
    assert world.post("/webhooks", {"url": "https://x.example.com/", "events": ALL}, who="disp_east").status_code == 403
    assert world.delete(f"/webhooks/{hook['id']}").status_code == 204
    assert world.get("/webhooks").get_json()["items"] == []
    assert world.delete(f"/webhooks/{hook['id']}").status_code == 404


@pytest.mark.parametrize("url", ["http://127.0.0.1/x", "http://10.1.2.3/x", "http://169.254.169.254/latest",
                                 "http://[::1]/x", "http://192.168.0.1/", "file:///etc/passwd",
                                 "gopher://example.com/", "http://user:pw@93.184.216.34/"])
def test_private_and_odd_urls_are_refused(url):
    with pytest.raises(UrlNotAllowed):
        check_url(url, allow_private_hosts=False)


def test_loopback_needs_the_flag_outside_tests(app, world):
    check_url("http://93.184.216.34/hook", allow_private_hosts=False)   # a public address passes
    app.config["TESTING"] = False
    try:
        refused = world.post("/webhooks", {"url": "http://127.0.0.1:8080/h", "events": ALL})
        assert refused.status_code == 422 and refused.get_json()["errors"][0]["code"] == "url_not_allowed"
        app.config["WEBHOOK_ALLOW_PRIVATE"] = True
        assert world.post("/webhooks", {"url": "http://127.0.0.1:8080/h", "events": ALL}).status_code == 201
    finally:
        app.config.update(TESTING=True, WEBHOOK_ALLOW_PRIVATE=False)


def test_every_event_arrives_signed_once_in_order_through_failures(world, make_door, receiver, fast_webhooks):
    hook = subscribe(world, receiver.url)
    receiver.script = ["fail", "slow", "fail", "ok", "fail"]
    doors = [make_door() for _ in range(3)]
    doors[0].submit()
    body = doors[1].body()
    body.update(outcome="partial", items=[{"number": doors[1].number, "sku": "CHR-01", "received_qty": 3,
                                           "damaged_qty": 0, "note": "少一把"}])
    assert doors[1].submit(body).status_code == 201
    assert doors[2].submit(doors[2].body(outcome="refused", refuse_reason="包装破损")).status_code == 201
    deadline = time.monotonic() + 20
    while len(receiver.accepted) < 6 and time.monotonic() < deadline:
        drain(world)
        time.sleep(0.05)   # deliveries waiting their turn behind an earlier event are due shortly

    # 3 waybill events + 3 receipt.pdf_ready, each accepted exactly once.
    ids = [event["id"] for event in receiver.accepted]
    assert len(ids) == 6 and len(set(ids)) == 6
    types = sorted(event["type"] for event in receiver.accepted)
    assert types == sorted(["waybill.signed", "waybill.partially_signed", "waybill.refused"] + ["receipt.pdf_ready"] * 3)
    for behaviour, headers, raw in receiver.received:
        check_signature(hook["secret"], headers, raw)
        assert headers["X-Event-Id"] == json.loads(raw)["id"]
        assert b"13800138000" not in raw
    # A retried event is the same body under the same id (its signed links are minted per attempt).
    by_id = {}
    for _, headers, raw in receiver.received:
        event = json.loads(raw)
        event["data"].pop("links")
        by_id.setdefault(headers["X-Event-Id"], set()).add(json.dumps(event, sort_keys=True))
    assert all(len(bodies) == 1 for bodies in by_id.values())
    # Per waybill: the sign-off event before its receipt.pdf_ready.
    for door in doors:
        seen = [e["type"] for e in receiver.accepted
                if e["data"].get("number") == door.number or door.number in e["data"].get("waybills", [])]
        assert seen[-1] == "receipt.pdf_ready" and seen[0].startswith("waybill."), seen
    signed = next(e for e in receiver.accepted if e["type"] == "waybill.partially_signed")["data"]
    assert signed["number"] == doors[1].number and signed["status"] == "partially_signed"
    assert "partial_delivery" in signed["anomalies"] and signed["receipt_pdf"].endswith("/pdf")
    assert signed["receipt_id"] and signed["signed_at"].endswith("Z")

    log = world.get(f"/webhooks/{hook['id']}/deliveries").get_json()["items"]
    assert len(log) == 6 and all(d["status"] == "succeeded" for d in log)
    assert sum(d["attempts"] for d in log) == len(receiver.received)
    assert any(d["attempts"] > 1 for d in log)


def test_retries_follow_the_standard_schedule_then_dead_then_redeliver(app, world, door, receiver):
    hook = subscribe(world, receiver.url, ["waybill.signed"])
    schedule = app.config["WEBHOOK_RETRY_SCHEDULE_S"]
    assert list(schedule) == [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]
    receiver.script = ["fail"] * (len(schedule) + 1)
    door.submit()
    drain(world)
    now = utcnow()
    gaps = []
    for attempt in range(1, len(schedule) + 1):
        [delivery] = world.get(f"/webhooks/{hook['id']}/deliveries").get_json()["items"]
        assert delivery["status"] == "pending" and delivery["attempts"] == attempt
        assert delivery["last_status_code"] == 500
        due = datetime.fromisoformat(delivery["next_attempt_at"].replace("Z", "+00:00")).replace(tzinfo=None)
        last = datetime.fromisoformat(delivery["last_attempt_at"].replace("Z", "+00:00")).replace(tzinfo=None)
        gaps.append(round((due - last).total_seconds()))
        drain(world, now=due - timedelta(seconds=1))      # not due yet: nothing is sent
        assert len(receiver.received) == attempt
        now = max(now, due) + timedelta(seconds=1)
        drain(world, now=now)
        assert len(receiver.received) == attempt + 1
    assert gaps == list(schedule)
    [delivery] = world.get(f"/webhooks/{hook['id']}/deliveries").get_json()["items"]
    assert delivery["status"] == "dead" and delivery["attempts"] == len(schedule) + 1
    redo = world.post(f"/webhooks/{hook['id']}/deliveries/{delivery['event_id']}/redeliver")
    assert redo.status_code == 202 and redo.get_json()["status"] == "pending"
    assert world.post(f"/webhooks/{hook['id']}/deliveries/{delivery['event_id']}/redeliver").status_code == 409
    drain(world)
    assert [e["id"] for e in receiver.accepted] == [delivery["event_id"]]
    assert world.get(f"/webhooks/{hook['id']}/deliveries").get_json()["items"][0]["status"] == "succeeded"
    assert world.post(f"/webhooks/{hook['id']}/deliveries/evt_nope/redeliver").status_code == 404


def test_emit_for_reconciled_is_ordered_after_the_sign_off(app, world, door, receiver, fast_webhooks):
    from delivery_sign.extensions import db
    from delivery_sign.webhooks.services import emit

    subscribe(world, receiver.url, ["waybill.signed", "waybill.reconciled"])
    receiver.script = ["fail"]
    door.submit()
    with app.app_context():
        emit(world.tenant_id, "waybill.reconciled", {"number": door.number, "decision": "accepted"},
             waybill_number=door.number)
        db.session.commit()
    deadline = time.monotonic() + 20
    while len(receiver.accepted) < 2 and time.monotonic() < deadline:
        drain(world)
        time.sleep(0.05)
    assert [e["type"] for e in receiver.accepted] == ["waybill.signed", "waybill.reconciled"]


def test_worker_killed_mid_delivery_another_finishes_it(app, world, door, receiver, tmp_path):
    hook = subscribe(world, receiver.url, ["waybill.signed"])
    receiver.script = ["hang"]
    door.submit()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, INSTANCE_PATH=str(tmp_path), DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               STORAGE_URL=app.config["STORAGE_URL"], SECRET_KEY=app.config["SECRET_KEY"], WORKER="off",
               DEMO_TENANT="0", WEBHOOK_ALLOW_PRIVATE="1", JOB_LEASE_S="2", WEBHOOK_TIMEOUT_S="60",
               LOG_LEVEL="WARNING", PYTHONPATH=root)
    worker = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "flask"), "--app", "wsgi", "worker",
                               "--kind", "webhook.deliver", "--poll", "0.1"], cwd=root, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert receiver.got_request.wait(30), "the worker never called the receiver"
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    receiver.release.set()
    # This process is the other worker: it takes the job once the dead worker's lease runs out.
    deadline = time.monotonic() + 30
    while not receiver.accepted and time.monotonic() < deadline:
        jobs.run_due(app, tenant_id=world.tenant_id, kinds=("webhook.deliver",))
        time.sleep(0.2)
    [event] = receiver.accepted
    assert event["type"] == "waybill.signed" and event["data"]["number"] == door.number
    assert [r[1]["X-Event-Id"] for r in receiver.received] == [event["id"], event["id"]]
    [delivery] = world.get(f"/webhooks/{hook['id']}/deliveries").get_json()["items"]
    assert delivery["status"] == "succeeded"


def test_no_transaction_is_open_while_the_subscriber_is_called(world, door, receiver, monkeypatch):
    from delivery_sign.webhooks import tasks

    from ..receipts.conftest import assert_no_transaction_open

    calls = []
    real_post = tasks.post

    def post(*args, **kwargs):
        assert_no_transaction_open(world.app)
        calls.append(args[0])
        return real_post(*args, **kwargs)

    monkeypatch.setattr(tasks, "post", post)
    subscribe(world, receiver.url, events=["waybill.signed"])
    door.submit()
    drain(world)
    assert calls == [receiver.url] and len(receiver.accepted) == 1


def test_emit_writes_for_the_live_subscribers_of_the_type_only(app, world, other_world):
    """One statement on PostgreSQL, three on SQLite (webhooks.services.emit): the same rows.
    Only this tenant's live subscriptions to the type get a delivery and a job; a type
    nobody wants writes no event."""
    from sqlalchemy import func, select

    from delivery_sign.core.jobs import Job
    from delivery_sign.extensions import db
    from delivery_sign.webhooks.models import WebhookDelivery, WebhookEvent, WebhookSubscription
    from delivery_sign.webhooks.services import emit

    wants = [subscribe(world, f"https://tms.example.com/{n}", ["waybill.signed"])["id"] for n in range(2)]
    subscribe(world, "https://tms.example.com/other-type", ["waybill.refused"])
    disabled = subscribe(world, "https://tms.example.com/disabled", ["waybill.signed"])["id"]
    deleted = subscribe(world, "https://tms.example.com/deleted", ["waybill.signed"])["id"]
    assert world.delete(f"/webhooks/{deleted}").status_code == 204
    subscribe(other_world, "https://tms.example.com/other-tenant", ["waybill.signed"])
    with app.app_context():
        db.session.execute(WebhookSubscription.__table__.update()
                           .where(WebhookSubscription.public_id == disabled).values(disabled_at=utcnow()))
        db.session.commit()
        events_before = db.session.scalar(select(func.count(WebhookEvent.id)))
        assert emit(world.tenant_id, "receipt.pdf_ready", {"number": "X1"}) is None
        public_id = emit(world.tenant_id, "waybill.signed", {"number": "X1"}, waybill_number="X1")
        db.session.commit()
        assert db.session.scalar(select(func.count(WebhookEvent.id))) == events_before + 1
        event = db.session.execute(select(WebhookEvent).where(WebhookEvent.public_id == public_id)).scalar_one()
        assert (event.tenant_id, event.type, event.waybill_number) == (world.tenant_id, "waybill.signed", "X1")
        assert json.loads(event.body)["data"] == {"number": "X1"}
        rows = db.session.execute(select(WebhookSubscription.public_id, WebhookDelivery)
                                  .join(WebhookDelivery, WebhookDelivery.subscription_id == WebhookSubscription.id)
                                  .where(WebhookDelivery.event_id == event.id)).all()
        assert sorted(sub for sub, _ in rows) == sorted(wants)
        for _, delivery in rows:
            assert (delivery.tenant_id, delivery.order_key, delivery.status, delivery.attempts) == \
                (world.tenant_id, "X1", "pending", 0)
            assert delivery.next_attempt_at == event.created_at < delivery.retry_until
        payloads = [job.payload for job in db.session.scalars(select(Job).where(
            Job.kind == "webhook.deliver", Job.tenant_id == world.tenant_id))]
        assert sorted(p["delivery"] for p in payloads) == sorted(d.id for _, d in rows)

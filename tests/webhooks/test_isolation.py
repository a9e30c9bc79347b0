"""One tenant's dripping or flooding receiver delays neither another tenant's PDF nor its webhooks.

The workers here are the real ones (``jobs.start_lanes``, what the inline worker and
``flask --app wsgi worker`` run), limited to this test's two tenants.
"""
import threading
import time

from sqlalchemy import select

from delivery_sign.core import jobs
from delivery_sign.extensions import db
from delivery_sign.webhooks.models import WebhookDelivery, WebhookSubscription

from .receiver import Receiver
from .test_webhooks import subscribe


def _deliveries(app, hook_id):
    with app.app_context():
        return db.session.execute(select(WebhookDelivery).join(
            WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
            .where(WebhookSubscription.public_id == hook_id)).scalars().all()


def test_a_dripping_and_a_flooding_receiver_do_not_hold_up_another_tenant(
        app, world, other_world, make_door, signature, photo_jpeg, receiver):
    from tests.factories import Door

    dripping, flooding = Receiver(), Receiver()
    dripping.script, flooding.script = ["drip"] * 100, ["huge"] * 100
    saved = {k: app.config[k] for k in ("WEBHOOK_TIMEOUT_S", "WEBHOOK_WORKERS", "WEBHOOK_TENANT_CONCURRENCY")}
    # A deadline far longer than the other tenant's PDF and webhooks need, even on a loaded machine.
    app.config.update(WEBHOOK_TIMEOUT_S=25, WEBHOOK_WORKERS=4, WEBHOOK_TENANT_CONCURRENCY=2)
    stop = threading.Event()
    threads = []
    try:
        slow_hook = subscribe(world, dripping.url)
        huge_hook = subscribe(world, flooding.url)
        for _ in range(3):
            assert make_door().submit().status_code == 201
        subscribe(other_world, receiver.url)
        assert Door(other_world, signature, photo_jpeg).submit().status_code == 201

        threads = jobs.start_lanes(app, stop, poll_s=0.05, tenants=(world.tenant_id, other_world.tenant_id))
        deadline = time.monotonic() + 120
        while len(receiver.accepted) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)

        # The other tenant has its sign-off event and its rendered PDF's event ...
        assert sorted(e["type"] for e in receiver.accepted) == ["receipt.pdf_ready", "waybill.signed"]
        # ... while the dripping receiver still holds its first requests: not one attempt of
        # this tenant's has finished (before, the one job thread waited on it, read by read).
        assert dripping.got_request.is_set()
        assert all(d.attempts == 0 for d in _deliveries(app, slow_hook["id"]))
    finally:
        dripping.release.set()
        stop.set()
        for thread in threads:
            thread.join(60)
        app.config.update(saved)
        dripping.close()
        flooding.close()
    # The flood was cut after a few KB: a 400 MB answer was never read (nor held in memory).
    assert flooding.received and flooding.bytes_sent < 32 * 1024 * 1024
    assert any(d.status == "succeeded" and d.last_status_code == 200 for d in _deliveries(app, huge_hook["id"]))


def test_an_attempt_ends_at_its_deadline_however_the_receiver_drips():
    from delivery_sign.webhooks import client

    dripping = Receiver()
    dripping.script = ["drip"]
    try:
        answer = client.post(dripping.url, b"{}", {}, deadline_s=1.0, allow_private_hosts=True)
        # Before: the timeout was per read, and a byte every 0.2 s kept the attempt going 30 s.
        assert answer == client.Answer(None, "timeout")
        assert dripping.bytes_sent >= 1
    finally:
        dripping.close()

"""Standard Webhooks: every delivery verifies with the PyPI library; rotation, 410, 5 days of failures, cap."""
import secrets
from datetime import timedelta

from sqlalchemy import select

from delivery_sign.core import jobs
from delivery_sign.core.clock import utcnow
from delivery_sign.core.crypto import encrypt
from delivery_sign.extensions import db
from delivery_sign.webhooks.models import WebhookSubscription

from .test_webhooks import ALL, check_signature, drain, subscribe


def test_every_delivery_verifies_with_the_standardwebhooks_library(world, make_door, receiver, fast_webhooks):
    hook = subscribe(world, receiver.url)
    receiver.secrets = [hook["secret"]]
    receiver.script = ["fail"]
    for _ in range(2):
        assert make_door().submit().status_code == 201
    for _ in range(5):
        drain(world)
    assert len(receiver.accepted) == 4 and len(receiver.received) == 5
    assert receiver.verified == [True] * 5
    for _, headers, body in receiver.received:
        assert headers["webhook-id"] == headers["X-Event-Id"]
        assert headers["webhook-signature"].startswith("v1,")
        check_signature(hook["secret"], headers, body)     # the older scheme, same secret
    # A forged body does not verify.
    _, headers, body = receiver.received[0]
    assert not receiver.verify(headers, body.replace(b"waybill", b"wayb1ll"))


def test_a_secret_issued_before_keeps_both_schemes_working(app, world, door, receiver, fast_webhooks):
    hook = subscribe(world, receiver.url, ["waybill.signed"])
    old = "whsec_" + secrets.token_urlsafe(32)     # how secrets were made before Standard Webhooks
    with app.app_context():
        row = db.session.execute(select(WebhookSubscription).where(
            WebhookSubscription.public_id == hook["id"])).scalar_one()
        row.secret_encrypted = encrypt(old.encode(), "webhook-secret")
        db.session.commit()
    receiver.secrets = [old.encode()]     # the README: pass such a secret to the library as bytes
    door.submit()
    drain(world)
    [(_, headers, body)] = receiver.received
    check_signature(old, headers, body)
    assert receiver.verified == [True]


def test_rotate_secret_signs_with_both_during_the_overlap(app, world, make_door, receiver, fast_webhooks):
    hook = subscribe(world, receiver.url, ["waybill.signed"])
    rotated = world.post(f"/webhooks/{hook['id']}/rotate-secret", {"overlap_s": 3600})
    assert rotated.status_code == 200, rotated.get_json()
    new = rotated.get_json()
    assert new["secret"] != hook["secret"] and new["secret"].startswith("whsec_")
    assert new["previous_secret_expires_at"].endswith("Z")
    assert "secret" not in world.get(f"/webhooks/{hook['id']}").get_json()

    make_door().submit()
    drain(world)
    [(_, headers, body)] = receiver.received
    assert len(headers["webhook-signature"].split(" ")) == 2
    receiver.secrets = [hook["secret"]]
    assert receiver.verify(headers, body)          # a receiver still on the old secret
    receiver.secrets = [new["secret"]]
    assert receiver.verify(headers, body)          # and one already on the new one
    check_signature(hook["secret"], headers, body)
    check_signature(new["secret"], headers, body)

    # After the overlap only the new secret signs.
    make_door().submit()
    drain(world, now=utcnow() + timedelta(seconds=3700))
    _, headers, body = receiver.received[1]
    assert len(headers["webhook-signature"].split(" ")) == 1
    receiver.secrets = [hook["secret"]]
    assert not receiver.verify(headers, body)
    receiver.secrets = [new["secret"]]
    assert receiver.verify(headers, body)

    # No overlap: the old secret stops at once. Bad input is a 422, another tenant's hook a 404.
    again = world.post(f"/webhooks/{hook['id']}/rotate-secret", {"overlap_s": 0}).get_json()
    assert again["previous_secret_expires_at"] is None
    bad = world.post(f"/webhooks/{hook['id']}/rotate-secret", {"overlap_s": -1})
    assert bad.status_code == 422 and bad.headers["Content-Type"].startswith("application/problem+json")
    assert world.post(f"/webhooks/{hook['id']}/rotate-secret", {"overlap_s": "x"}).status_code == 422
    assert world.post(f"/webhooks/{hook['id']}/rotate-secret", {"overlap_s": 1, "extra": 1}).status_code == 422
    assert world.post(f"/webhooks/{hook['id']}/rotate-secret", []).status_code == 422
    assert world.client.post(f"/api/v1/webhooks/{hook['id']}/rotate-secret", data="{", headers={
        **world.auth(), "Content-Type": "application/json"}).status_code in (400, 422)
    assert world.client.post(f"/api/v1/webhooks/{hook['id']}/rotate-secret",
                             headers=world.auth()).status_code == 200      # no body: the default overlap
    assert world.post(f"/webhooks/{hook['id']}/rotate-secret", who="disp_east").status_code == 403
    assert world.post("/webhooks/wh_nope/rotate-secret").status_code == 404


def test_rotate_secret_of_another_tenant_is_not_found(world, other_world):
    hook = subscribe(world, "https://tms.example.com/hooks", ["waybill.signed"])
    assert other_world.post(f"/webhooks/{hook['id']}/rotate-secret").status_code == 404
    assert other_world.get(f"/webhooks/{hook['id']}").status_code == 404
    assert other_world.post(f"/webhooks/{hook['id']}/enable").status_code == 404


def test_a_410_disables_the_subscription_until_enabled(world, make_door, receiver, fast_webhooks):
    hook = subscribe(world, receiver.url, ["waybill.signed"])
    receiver.script = ["gone"]
    make_door().submit()
    drain(world)
    shown = world.get(f"/webhooks/{hook['id']}").get_json()
    assert shown["disabled_at"] and "410" in shown["disabled_reason"]
    [delivery] = world.get(f"/webhooks/{hook['id']}/deliveries").get_json()["items"]
    assert delivery["status"] == "dead" and delivery["attempts"] == 1 and delivery["last_status_code"] == 410
    assert world.get("/webhooks").get_json()["items"][0]["disabled_at"] == shown["disabled_at"]
    # Nothing more is sent, and redelivery says why.
    make_door().submit()
    drain(world)
    assert len(receiver.received) == 1
    refused = world.post(f"/webhooks/{hook['id']}/deliveries/{delivery['event_id']}/redeliver")
    assert refused.status_code == 409 and "disabled" in refused.get_json()["detail"]
    # Enabled again: new events arrive, and the missed one can be redelivered.
    enabled = world.post(f"/webhooks/{hook['id']}/enable").get_json()
    assert enabled["disabled_at"] is None and enabled["failing_since"] is None
    assert world.post(f"/webhooks/{hook['id']}/deliveries/{delivery['event_id']}/redeliver").status_code == 202
    make_door().submit()
    drain(world)
    assert len(receiver.accepted) == 2


def test_five_days_of_failures_disable_the_subscription(world, make_door, receiver):
    hook = subscribe(world, receiver.url, ["waybill.signed"])
    receiver.script = ["fail"] * 100
    make_door().submit()
    start = utcnow()
    drain(world, now=start)
    shown = world.get(f"/webhooks/{hook['id']}").get_json()
    assert shown["failing_since"] and shown["disabled_at"] is None
    # Four days on, another event still fails: still enabled.
    make_door().submit()
    drain(world, now=start + timedelta(days=4))
    assert world.get(f"/webhooks/{hook['id']}").get_json()["disabled_at"] is None
    # Past five days of failures without one success: disabled, and shown.
    drain(world, now=start + timedelta(days=5, hours=1))
    shown = world.get(f"/webhooks/{hook['id']}").get_json()
    assert shown["disabled_at"] and "failed since" in shown["disabled_reason"], (
        shown, world.get(f"/webhooks/{hook['id']}/deliveries").get_json())
    sent = len(receiver.received)
    make_door().submit()
    drain(world, now=start + timedelta(days=6))
    assert len(receiver.received) == sent


def test_a_success_resets_the_failure_clock(world, make_door, receiver, fast_webhooks):
    hook = subscribe(world, receiver.url, ["waybill.signed"])
    receiver.script = ["fail"]
    make_door().submit()
    drain(world)
    assert world.get(f"/webhooks/{hook['id']}").get_json()["failing_since"] is None   # retried, then succeeded
    assert len(receiver.accepted) == 1


def test_subscriptions_per_tenant_are_capped(app, world, other_world):
    app.config["WEBHOOK_MAX_PER_TENANT"] = 2
    try:
        first = subscribe(world, "https://a.example.com/h", ["waybill.signed"])
        subscribe(world, "https://b.example.com/h", ["waybill.signed"])
        refused = world.post("/webhooks", {"url": "https://c.example.com/h", "events": ALL})
        assert refused.status_code == 409
        assert refused.headers["Content-Type"].startswith("application/problem+json")
        assert "(2)" in refused.get_json()["detail"]
        assert len(world.get("/webhooks").get_json()["items"]) == 2
        subscribe(other_world, "https://c.example.com/h", ["waybill.signed"])   # another tenant has its own cap
        assert world.delete(f"/webhooks/{first['id']}").status_code == 204
        subscribe(world, "https://c.example.com/h", ["waybill.signed"])
    finally:
        app.config["WEBHOOK_MAX_PER_TENANT"] = 20


def test_delivery_jobs_of_a_disabled_subscription_settle_without_sending(app, world, door, receiver):
    hook = subscribe(world, receiver.url, ["waybill.signed"])
    door.submit()
    with app.app_context():
        row = db.session.execute(select(WebhookSubscription).where(
            WebhookSubscription.public_id == hook["id"])).scalar_one()
        row.disabled_at, row.disabled_reason = utcnow(), "test"
        db.session.commit()
    jobs.run_due(app, tenant_id=world.tenant_id)
    assert receiver.received == []
    [delivery] = world.get(f"/webhooks/{hook['id']}/deliveries").get_json()["items"]
    assert delivery["status"] == "dead" and delivery["last_error"] == "webhook disabled"

"""Issue 16: the webhook delivery log is kept WEBHOOK_HISTORY_DAYS, then purged by the worker;
a delivery still on its way is kept whatever its age, and so is its event."""
from datetime import timedelta

from sqlalchemy import select

from delivery_sign.core.clock import utcnow
from delivery_sign.extensions import db
from delivery_sign.webhooks import tasks
from delivery_sign.webhooks.models import DEAD, PENDING, SUCCEEDED, WebhookDelivery, WebhookEvent, WebhookSubscription


def _subscription(tenant_id):
    row = WebhookSubscription(public_id=f"wh_{tenant_id}_test", tenant_id=tenant_id, url="https://example.com/hook",
                              events=["waybill.signed"], secret_encrypted=b"x", created_by="user:admin")
    db.session.add(row)
    db.session.flush()
    return row


def _delivery(subscription, name, status, days, now):
    at = now - timedelta(days=days)
    event = WebhookEvent(public_id=f"evt_{name}", tenant_id=subscription.tenant_id, type="waybill.signed",
                         body="{}", created_at=at)
    db.session.add(event)
    db.session.flush()
    db.session.add(WebhookDelivery(tenant_id=subscription.tenant_id, subscription_id=subscription.id,
                                   event_id=event.id, status=status, attempts=1, retry_until=at + timedelta(days=1),
                                   created_at=at))


def test_the_log_is_purged_after_its_days_but_never_a_pending_delivery(app, world):
    now = utcnow()
    app.config["WEBHOOK_HISTORY_DAYS"] = 30
    kept = {"young succeeded": (SUCCEEDED, 29), "old pending": (PENDING, 45)}
    gone = {"old succeeded": (SUCCEEDED, 31), "old dead": (DEAD, 40)}
    with app.app_context():
        subscription = _subscription(world.tenant_id)
        for name, (status, days) in {**kept, **gone}.items():
            _delivery(subscription, name.replace(" ", "_"), status, days, now)
        # old deliveries past one batch, to see the batches add up
        for i in range(7):
            _delivery(subscription, f"backlog_{i}", SUCCEEDED, 60, now)
        db.session.commit()
        assert tasks.purge_history(now, batch=3, batches=2) == {"deliveries": 6, "events": 6}
        assert tasks.purge_history(now, batch=3) == {"deliveries": 3, "events": 3}
        assert tasks.purge_history(now, batch=3) == {"deliveries": 0, "events": 0}
        events = set(db.session.execute(select(WebhookEvent.public_id)
                                        .where(WebhookEvent.tenant_id == world.tenant_id)).scalars())
        statuses = sorted(db.session.execute(select(WebhookDelivery.status)
                                             .where(WebhookDelivery.tenant_id == world.tenant_id)).scalars())
    assert events == {"evt_young_succeeded", "evt_old_pending"}
    assert statuses == sorted([PENDING, SUCCEEDED])

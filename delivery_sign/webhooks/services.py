"""Webhook subscriptions, emitting events, and the delivery log.

``emit`` writes the event, one delivery per interested subscription and a job for each,
all in the caller's transaction: an event exists exactly when the change it reports
committed. tasks.py sends them.
"""
import base64
import functools
import json
import secrets
import uuid
from datetime import timedelta

from flask import current_app
from sqlalchemy import String, bindparam, cast, exists, func, insert, literal, select, true
from sqlalchemy.dialects.postgresql import JSONB

from ..accounts.models import Tenant
from ..core import audit, jobs
from ..core.clock import isoformat, utcnow
from ..core.crypto import encrypt
from ..core.errors import Conflict, NotFound, ValidationFailed, field_error
from ..core.pagination import keyset_page
from ..extensions import db
from .client import UrlNotAllowed, parse, vet
from .models import EVENT_TYPES, PENDING, WebhookDelivery, WebhookEvent, WebhookSubscription

__all__ = ["UrlNotAllowed", "check_url"]

SECRET_PURPOSE = "webhook-secret"
DELIVER = "webhook.deliver"


def retry_window() -> timedelta:
    """How long a delivery keeps trying: the sum of the retry schedule."""
    return timedelta(seconds=sum(current_app.config["WEBHOOK_RETRY_SCHEDULE_S"]))


def allow_private() -> bool:
    config = current_app.config
    return bool(config.get("WEBHOOK_ALLOW_PRIVATE") or config.get("TESTING"))


def check_url(url: str, *, allow_private_hosts: bool) -> None:
    """Refuse what would let a tenant make us call inside our own network (SSRF).

    The same check runs again at every attempt, where its answer is also the address
    the client connects to (client.py).
    """
    if allow_private_hosts:
        parse(url)
        return
    vet(url, allow_private_hosts=False)


def new_secret() -> str:
    """``whsec_`` + standard base64 of 32 random bytes: the Standard Webhooks form."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def create_subscription(principal, url: str, events: list[str]) -> tuple[WebhookSubscription, str]:
    try:
        check_url(url, allow_private_hosts=allow_private())
    except UrlNotAllowed as exc:
        raise ValidationFailed([field_error("url", "url_not_allowed", str(exc))]) from None
    cap = current_app.config["WEBHOOK_MAX_PER_TENANT"]
    # The tenant's row lock (PostgreSQL; SQLite serialises writers) keeps two concurrent
    # creations from both passing the cap.
    db.session.execute(select(Tenant.id).where(Tenant.id == principal.tenant_id).with_for_update())
    held = db.session.execute(select(func.count()).select_from(WebhookSubscription).where(
        WebhookSubscription.tenant_id == principal.tenant_id, WebhookSubscription.deleted_at.is_(None))).scalar()
    if held >= cap:
        raise Conflict(f"This tenant already has {held} webhooks, the most allowed ({cap}); "
                       "delete one first.", slug="webhook-limit", title="Too many webhooks")
    secret = new_secret()
    subscription = WebhookSubscription(
        public_id="wh_" + uuid.uuid4().hex, tenant_id=principal.tenant_id, url=url,
        events=list(dict.fromkeys(events)), secret_encrypted=encrypt(secret.encode(), SECRET_PURPOSE),
        created_by=principal.actor, created_at=utcnow())
    db.session.add(subscription)
    db.session.flush()
    audit.record(principal.tenant_id, "webhook.created", principal.actor, f"webhook:{subscription.public_id}",
                 {"url": url, "events": subscription.events})
    return subscription, secret


def _subscription(principal, public_id: str) -> WebhookSubscription:
    subscription = db.session.execute(select(WebhookSubscription).where(
        WebhookSubscription.public_id == public_id, WebhookSubscription.tenant_id == principal.tenant_id,
        WebhookSubscription.deleted_at.is_(None))).scalar_one_or_none()
    if subscription is None:
        raise NotFound(f"No webhook {public_id!r}.")
    return subscription


def get_subscription(principal, public_id: str) -> WebhookSubscription:
    return _subscription(principal, public_id)


def rotate_secret(principal, public_id: str, overlap_s: int | None) -> tuple[WebhookSubscription, str]:
    """A new secret; the current one keeps signing beside it for ``overlap_s`` seconds."""
    subscription = _subscription(principal, public_id)
    overlap = current_app.config["WEBHOOK_SECRET_OVERLAP_S"] if overlap_s is None else overlap_s
    secret = new_secret()
    now = utcnow()
    if overlap > 0:
        subscription.previous_secret_encrypted = subscription.secret_encrypted
        subscription.previous_secret_expires_at = now + timedelta(seconds=overlap)
    else:
        subscription.previous_secret_encrypted = subscription.previous_secret_expires_at = None
    subscription.secret_encrypted = encrypt(secret.encode(), SECRET_PURPOSE)
    audit.record(principal.tenant_id, "webhook.secret_rotated", principal.actor, f"webhook:{public_id}",
                 {"overlap_s": overlap})
    return subscription, secret


def enable_subscription(principal, public_id: str) -> WebhookSubscription:
    """Turn a disabled subscription back on; its failure clock starts afresh."""
    subscription = _subscription(principal, public_id)
    if subscription.disabled_at is not None:
        subscription.disabled_at = subscription.disabled_reason = subscription.failing_since = None
        audit.record(principal.tenant_id, "webhook.enabled", principal.actor, f"webhook:{public_id}", {})
    return subscription


def list_subscriptions(principal, *, limit: int, cursor: str | None):
    query = select(WebhookSubscription).where(WebhookSubscription.tenant_id == principal.tenant_id,
                                              WebhookSubscription.deleted_at.is_(None))
    return keyset_page(db.session, query, WebhookSubscription.id, limit=limit, cursor=cursor)


def delete_subscription(principal, public_id: str) -> None:
    subscription = _subscription(principal, public_id)
    subscription.deleted_at = utcnow()
    audit.record(principal.tenant_id, "webhook.deleted", principal.actor, f"webhook:{public_id}", {})


def deliveries(principal, public_id: str, *, limit: int, cursor: str | None):
    subscription = _subscription(principal, public_id)
    query = (select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription.id))
    rows, next_cursor = keyset_page(db.session, query, WebhookDelivery.id, limit=limit, cursor=cursor)
    events = {e.id: e for e in db.session.execute(
        select(WebhookEvent).where(WebhookEvent.id.in_([r.event_id for r in rows]))).scalars()} if rows else {}
    return [delivery_view(row, events[row.event_id]) for row in rows], next_cursor


def delivery_view(delivery: WebhookDelivery, event: WebhookEvent) -> dict:
    return {"event_id": event.public_id, "type": event.type, "waybill_number": event.waybill_number,
            "status": delivery.status, "attempts": delivery.attempts,
            "last_status_code": delivery.last_status_code, "last_error": delivery.last_error,
            "last_attempt_at": delivery.last_attempt_at, "next_attempt_at": delivery.next_attempt_at,
            "delivered_at": delivery.delivered_at, "created_at": delivery.created_at}


def redeliver(principal, public_id: str, event_public_id: str) -> dict:
    """Send an event again (same id, same body), for a subscriber that lost or rejected it."""
    subscription = _subscription(principal, public_id)
    row = db.session.execute(
        select(WebhookDelivery, WebhookEvent).join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.subscription_id == subscription.id, WebhookEvent.public_id == event_public_id)
        .with_for_update(of=WebhookDelivery)).first()
    if row is None:
        raise NotFound(f"No event {event_public_id!r} for this webhook.")
    delivery, event = row
    if delivery.status == PENDING:
        raise Conflict("This event is still being delivered; wait for it to succeed or give up.")
    if subscription.disabled_at is not None:
        raise Conflict("This webhook is disabled; enable it first (POST /webhooks/<id>/enable).",
                       slug="webhook-disabled", title="Webhook disabled")
    now = utcnow()
    delivery.status, delivery.attempts, delivery.retry_until = PENDING, 0, now + retry_window()
    delivery.next_attempt_at, delivery.last_error = now, None
    jobs.enqueue(DELIVER, {"delivery": delivery.id}, tenant_id=principal.tenant_id)
    audit.record(principal.tenant_id, "webhook.redelivered", principal.actor, f"webhook:{public_id}",
                 {"event_id": event_public_id})
    return delivery_view(delivery, event)


@functools.cache
def _emit_statements_sqlite():
    """The subscribers, the event's INSERT and the deliveries' INSERT (SQLite)."""
    subscriptions, events, deliveries = (WebhookSubscription.__table__, WebhookEvent.__table__,
                                         WebhookDelivery.__table__)
    subscribers = (select(subscriptions.c.id, subscriptions.c.events)
                   .where(subscriptions.c.tenant_id == bindparam("tenant_id"),
                          subscriptions.c.deleted_at.is_(None), subscriptions.c.disabled_at.is_(None))
                   .order_by(subscriptions.c.id))
    return (subscribers, events.insert().returning(events.c.id),
            deliveries.insert().returning(deliveries.c.id, sort_by_parameter_order=True))


def emit(tenant_id: int, type: str, data: dict, waybill_number: str | None = None) -> str | None:
    """Record an event for the tenant's subscribers, in the caller's transaction; returns
    the event's public id.

    ``waybill_number`` orders delivery: a subscriber receives the events of one waybill in
    the order they were emitted. Nothing is written when no subscription wants ``type``.
    Core statements on the session's connection: on every sign-off, ORM objects and their
    flushes cost more than the rows. On PostgreSQL the subscribers, the event and its
    deliveries are one statement (``_emit_pg``), so the event's body is built before it is
    known whether anybody wants it; on SQLite the subscribers are read first, then one
    INSERT per table. The deliveries' jobs join the caller's ``jobs.one_insert`` when there
    is one.
    """
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {type!r}")
    db.session.flush()   # what the caller changed is seen, as an ORM query's autoflush would have it
    connection = db.session.connection()
    now = utcnow()
    if connection.dialect.name == "postgresql":
        event = _event(tenant_id, type, data, waybill_number, now)
        delivery_ids = connection.execute(_emit_pg(), {**event, "retry_until": now + retry_window()}).scalars().all()
    else:
        subscribers, insert_event, insert_deliveries = _emit_statements_sqlite()
        subscriptions = [row.id for row in connection.execute(subscribers, {"tenant_id": tenant_id})
                         if type in row.events]
        if not subscriptions:
            return None
        event = _event(tenant_id, type, data, waybill_number, now)
        event_id = connection.execute(insert_event, event).scalar_one()
        delivery_ids = connection.execute(insert_deliveries, [
            {"tenant_id": tenant_id, "subscription_id": subscription_id, "event_id": event_id,
             "order_key": waybill_number, "status": PENDING, "attempts": 0, "last_status_code": None,
             "last_error": None, "last_attempt_at": None, "next_attempt_at": now,
             "retry_until": now + retry_window(), "delivered_at": None, "created_at": now}
            for subscription_id in subscriptions]).scalars().all()
    if not delivery_ids:
        return None
    jobs.enqueue_many(DELIVER, [{"delivery": delivery_id} for delivery_id in delivery_ids], tenant_id=tenant_id)
    return event["public_id"]


def _event(tenant_id: int, type: str, data: dict, waybill_number: str | None, now) -> dict:
    """The event's row: its public id and the JSON body every subscriber receives."""
    public_id = "evt_" + uuid.uuid4().hex
    body = json.dumps({"id": public_id, "type": type, "created_at": isoformat(now), "data": data},
                      ensure_ascii=False, separators=(",", ":"), default=str)
    return {"public_id": public_id, "tenant_id": tenant_id, "type": type, "waybill_number": waybill_number,
            "body": body, "created_at": now}


_EVENT_COLUMNS = ("public_id", "tenant_id", "type", "waybill_number", "body", "created_at")


@functools.cache
def _emit_pg():
    """PostgreSQL, one round trip where SQLite takes three: ``WITH subscribers AS (SELECT
    … WHERE events::jsonb ? :type), new_event AS (INSERT INTO webhook_events SELECT … WHERE
    EXISTS (SELECT FROM subscribers) RETURNING id) INSERT INTO webhook_deliveries SELECT …
    FROM subscribers, new_event RETURNING id``: no subscriber, no event and no delivery."""
    subscriptions, events, deliveries = (WebhookSubscription.__table__, WebhookEvent.__table__,
                                         WebhookDelivery.__table__)
    subscribers = (select(subscriptions.c.id)
                   .where(subscriptions.c.tenant_id == bindparam("tenant_id"),
                          subscriptions.c.deleted_at.is_(None), subscriptions.c.disabled_at.is_(None),
                          cast(subscriptions.c.events, JSONB).op("?")(bindparam("type", type_=String)))
                   .cte("subscribers"))
    new_event = (insert(events)
                 .from_select(list(_EVENT_COLUMNS),
                              select(*(bindparam(c, type_=events.c[c].type) for c in _EVENT_COLUMNS))
                              .where(exists(select(subscribers.c.id))))
                 .returning(events.c.id)
                 .cte("new_event"))
    created = bindparam("created_at", type_=deliveries.c.created_at.type)
    return (insert(deliveries)
            .from_select(["tenant_id", "subscription_id", "event_id", "order_key", "status", "attempts",
                          "next_attempt_at", "retry_until", "created_at"],
                         select(bindparam("tenant_id", type_=deliveries.c.tenant_id.type), subscribers.c.id,
                                new_event.c.id, bindparam("waybill_number", type_=deliveries.c.order_key.type),
                                literal(PENDING), literal(0), created,
                                bindparam("retry_until", type_=deliveries.c.retry_until.type), created)
                         .select_from(subscribers).join(new_event, true())
                         .order_by(subscribers.c.id))
            .returning(deliveries.c.id))

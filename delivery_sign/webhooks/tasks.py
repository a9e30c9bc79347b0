"""Sending a webhook delivery: signed POST, retries on the Standard Webhooks schedule, then dead.

A 410 answer disables the subscription; so do five days of failures without a success
(``WEBHOOK_DISABLE_AFTER_S``). The HTTP client (client.py) bounds each attempt in time
and in bytes read.

No database transaction is open while the subscriber's server is being called (on
SQLite an open transaction holds the write lock). A delivery waits while an earlier
event of the same waybill is still on its way to the same subscriber.

The delivery log is kept ``WEBHOOK_HISTORY_DAYS`` (``purge_history``): older settled
deliveries go, then the events none of them still points at, a batch at a time in every
worker. A delivery still pending is never deleted, whatever its age.
"""
import base64
import binascii
import functools
import hmac
import json
import time
from datetime import timedelta

from flask import current_app
from sqlalchemy import Integer, bindparam, select, update

from ..core import audit, jobs, signed_urls
from ..core.bulk import delete_in_batches
from ..core.clock import isoformat, utcnow
from ..core.crypto import decrypt
from ..core.jobs import PURGE_BATCH, PURGE_BUDGET_S, PURGE_EVERY_S, RetryLater, every, handler
from ..extensions import db
from . import client
from .models import DEAD, PENDING, SUCCEEDED, WebhookDelivery, WebhookEvent, WebhookSubscription
from .services import DELIVER, SECRET_PURPOSE, allow_private


def signing_key(secret: str) -> bytes:
    """The HMAC key of ``webhook-signature`` for a secret.

    Secrets issued since Standard Webhooks support are ``whsec_`` + standard base64 and
    the key is the decoded bytes (what the ``standardwebhooks`` libraries do). Older ones
    (``whsec_`` + 43 URL-safe characters, never valid padded base64) keep their meaning:
    the key is the secret string itself, as for ``X-Signature``.
    """
    encoded = secret.removeprefix("whsec_")
    if len(encoded) % 4 == 0:
        try:
            return base64.b64decode(encoded, validate=True)
        except binascii.Error:
            pass
    return secret.encode()


def signature_headers(secrets: list[str], event_id: str, body: bytes, timestamp: int) -> dict:
    """Both schemes, each with one signature per active secret (newest first).

    ``webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<t>.<body>")> …`` (Standard
    Webhooks) and the older ``X-Signature: t=<t>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>,…``.
    """
    # hmac.digest: the one-shot HMAC in C, the same bytes as hmac.new(...).digest().
    standard = " ".join(
        "v1," + base64.b64encode(hmac.digest(signing_key(secret), f"{event_id}.{timestamp}.".encode() + body,
                                             "sha256")).decode() for secret in secrets)
    legacy = ",".join(
        "v1=" + hmac.digest(secret.encode(), f"{timestamp}.".encode() + body, "sha256").hex()
        for secret in secrets)
    return {"webhook-id": event_id, "webhook-timestamp": str(timestamp), "webhook-signature": standard,
            "X-Event-Id": event_id, "X-Signature": f"t={timestamp},{legacy}"}


def with_fresh_links(body: str) -> bytes:
    """The event's bytes, its ``data.links`` (paths, as emitted) signed for this attempt.

    Signed links expire (SIGNED_URL_TTL_S), and an attempt may come hours after the event
    (the retry schedule), so they are minted per attempt: the rest of the body, the event
    id and so the receiver's deduplication stay the same across attempts.
    """
    if '"links":' not in body:
        return body.encode()
    event = json.loads(body)
    links = event.get("data", {}).get("links")
    if links is None:
        return body.encode()
    now = time.time()   # the links and their expires_at from one clock reading
    event["data"]["links"] = {**signed_urls.sign_links(links, now=now),
                              "expires_at": isoformat(signed_urls.expiry(now=now))}
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()


def post(url: str, body: bytes, event_id: str, event_type: str, secrets: list[str], attempt: int, *,
         timeout: float, allow_private_hosts: bool) -> tuple[int | None, str | None]:
    """One attempt: ``(status_code, error)``; success is any 2xx."""
    headers = {"Content-Type": "application/json; charset=utf-8", "X-Event-Type": event_type,
               "X-Delivery-Attempt": str(attempt),
               **signature_headers(secrets, event_id, body, int(time.time()))}
    answer = client.post(url, body, headers, deadline_s=timeout, allow_private_hosts=allow_private_hosts)
    return answer.status_code, answer.error


_deliveries = WebhookDelivery.__table__
_subscriptions = WebhookSubscription.__table__
_events = WebhookEvent.__table__
_earlier = _deliveries.alias("earlier")
_EARLIER_PENDING = (_earlier.c.subscription_id == _deliveries.c.subscription_id,
                    _earlier.c.order_key == _deliveries.c.order_key, _earlier.c.status == PENDING,
                    _earlier.c.id < _deliveries.c.id)

# Everything one attempt needs, in one statement: the delivery, its subscription and
# event, and whether an earlier event of the same waybill is still pending for the same
# subscriber (and when it is due). Core rows, not ORM objects: at hundreds of deliveries
# a second the identity map and attribute loading were most of the cost.
_ATTEMPT = (
    select(_deliveries.c.status, _deliveries.c.attempts, _deliveries.c.retry_until, _deliveries.c.subscription_id,
           _subscriptions.c.url, _subscriptions.c.secret_encrypted, _subscriptions.c.deleted_at,
           _subscriptions.c.previous_secret_encrypted, _subscriptions.c.previous_secret_expires_at,
           _subscriptions.c.disabled_at, _subscriptions.c.public_id.label("subscription_public_id"),
           _events.c.public_id, _events.c.type, _events.c.body,
           select(_earlier.c.id).where(*_EARLIER_PENDING).order_by(_earlier.c.id).limit(1)
           .scalar_subquery().label("earlier_id"),
           select(_earlier.c.next_attempt_at).where(*_EARLIER_PENDING).order_by(_earlier.c.id).limit(1)
           .scalar_subquery().label("earlier_due"))
    .join_from(_deliveries, _subscriptions, _subscriptions.c.id == _deliveries.c.subscription_id)
    .join(_events, _events.c.id == _deliveries.c.event_id)
    .where(_deliveries.c.id == bindparam("delivery_id"))
)


_SETTLE = update(_deliveries).where(_deliveries.c.id == bindparam("delivery_id"), _deliveries.c.status == PENDING)


def _settle(delivery_id: int, **values) -> bool:
    """Record an outcome unless the delivery was settled or redelivered meanwhile."""
    return db.session.connection().execute(_SETTLE, {"delivery_id": delivery_id, **values}).rowcount == 1


@functools.lru_cache(maxsize=256)
def _secret(secret_encrypted: bytes, secret_key: str) -> str:
    return decrypt(secret_encrypted, SECRET_PURPOSE, secret_key).decode()


_SUCCEEDED_AGAIN = (update(_subscriptions).where(_subscriptions.c.id == bindparam("subscription_id"),
                                                   _subscriptions.c.failing_since.is_not(None))
                    .values(failing_since=None))


def _secrets(row, secret_key: str, now) -> list[str]:
    active = [_secret(row.secret_encrypted, secret_key)]
    if row.previous_secret_encrypted is not None and row.previous_secret_expires_at > now:
        active.append(_secret(row.previous_secret_encrypted, secret_key))
    return active


def _failed(row, tenant_id: int, now, status_code: int | None) -> bool:
    """Note a failure on the subscription; True when it is now disabled."""
    subscription = db.session.get(WebhookSubscription, row.subscription_id, with_for_update=True)
    if subscription.disabled_at is not None:
        return True
    if status_code == 410:
        reason = "The receiver answered 410 Gone."
    else:
        subscription.failing_since = subscription.failing_since or now
        failing_s = (now - subscription.failing_since).total_seconds()
        if failing_s < current_app.config["WEBHOOK_DISABLE_AFTER_S"]:
            return False
        reason = f"Every delivery failed since {subscription.failing_since.isoformat(timespec='seconds')}Z."
    subscription.disabled_at, subscription.disabled_reason = now, reason
    audit.record(tenant_id, "webhook.disabled", "system", f"webhook:{row.subscription_public_id}",
                 {"reason": reason})
    return True


# Deliveries have threads of their own (a slow receiver never delays a PDF), one at a time
# per thread (it never delays the next delivery of the batch), and one tenant may hold at
# most WEBHOOK_TENANT_CONCURRENCY of them.
LANE = jobs.lane("webhooks", threads="WEBHOOK_WORKERS", tenant_concurrency="WEBHOOK_TENANT_CONCURRENCY", batch=1)


@handler(DELIVER, max_attempts=10_000, lane=LANE.name)
def deliver(ctx):
    config = current_app.config
    now = max(ctx.now, utcnow())
    delivery_id = ctx.payload["delivery"]
    # Core statements run on the session's connection (in its transaction), not through
    # the ORM session's execute, which cost as much as the statements themselves.
    row = db.session.connection().execute(_ATTEMPT, {"delivery_id": delivery_id}).first()
    if row is None or row.status != PENDING:
        return
    if row.deleted_at is not None or row.disabled_at is not None:
        _settle(delivery_id, status=DEAD, next_attempt_at=None,
                last_error="webhook deleted" if row.deleted_at is not None else "webhook disabled")
        return
    if row.earlier_id is not None:
        wait = ((row.earlier_due or now) - now).total_seconds()
        raise RetryLater(min(max(wait, 0) + 0.2, 3600), count_attempt=False,
                         reason="waiting for an earlier event of the same waybill")
    secrets = _secrets(row, config["SECRET_KEY"], now)
    attempt = row.attempts + 1
    db.session.commit()

    status_code, error = post(row.url, with_fresh_links(row.body), row.public_id, row.type, secrets, attempt,
                              timeout=config["WEBHOOK_TIMEOUT_S"], allow_private_hosts=allow_private())

    finished = max(now, utcnow())   # ``now`` is ahead of the wall clock only when a test moves time
    outcome = {"attempts": attempt, "last_status_code": status_code, "last_error": error,
               "last_attempt_at": finished}
    if error is None:
        _settle(delivery_id, status=SUCCEEDED, delivered_at=finished, next_attempt_at=None, **outcome)
        db.session.connection().execute(_SUCCEEDED_AGAIN, {"subscription_id": row.subscription_id})
        return
    schedule = config["WEBHOOK_RETRY_SCHEDULE_S"]
    if _failed(row, ctx.tenant_id, finished, status_code):
        _settle(delivery_id, status=DEAD, next_attempt_at=None, **outcome)
        return
    if attempt > len(schedule):
        _settle(delivery_id, status=DEAD, next_attempt_at=None, **outcome)
        return
    delay = schedule[attempt - 1]
    next_at = finished + timedelta(seconds=delay)
    if _settle(delivery_id, next_attempt_at=next_at, **outcome):
        raise RetryLater(delay, reason=error, save=True)


@functools.cache
def _purge_statements():
    """Settled deliveries created before ``cutoff``, then events of before ``cutoff`` that no
    delivery points at; each oldest first, a batch at a time, on the ``created_at`` indexes."""
    deliveries, events = WebhookDelivery.__table__, WebhookEvent.__table__
    old_delivery, old_event = deliveries.alias("old_delivery"), events.alias("old_event")
    cutoff, batch = bindparam("cutoff"), bindparam("batch", type_=Integer)
    settled = (select(old_delivery.c.id)
               .where(old_delivery.c.created_at < cutoff, old_delivery.c.status != PENDING)
               .order_by(old_delivery.c.created_at).limit(batch))
    unreferenced = (select(old_event.c.id)
                    .where(old_event.c.created_at < cutoff,
                           ~select(deliveries.c.id).where(deliveries.c.event_id == old_event.c.id).exists())
                    .order_by(old_event.c.created_at).limit(batch))
    return (deliveries.delete().where(deliveries.c.id.in_(settled.scalar_subquery())),
            events.delete().where(events.c.id.in_(unreferenced.scalar_subquery())))


def purge_history(now=None, *, batch: int = PURGE_BATCH, batches: int | None = None,
                  budget_s: float = PURGE_BUDGET_S) -> dict:
    """Delete the delivery log older than ``WEBHOOK_HISTORY_DAYS``; returns the counts."""
    params = {"cutoff": (now or utcnow()) - timedelta(days=current_app.config["WEBHOOK_HISTORY_DAYS"])}
    deliveries, events = _purge_statements()
    return {"deliveries": delete_in_batches(deliveries, params, batch=batch, batches=batches, budget_s=budget_s),
            "events": delete_in_batches(events, params, batch=batch, batches=batches, budget_s=budget_s)}


@every(PURGE_EVERY_S)
def purge_webhook_history() -> None:
    purge_history()

"""Sending a webhook delivery: signed POST, backoff for 24 h, then dead.

No database transaction is open while the subscriber's server is being called (on
SQLite an open transaction holds the write lock). A delivery waits while an earlier
event of the same waybill is still on its way to the same subscriber.
"""
import hashlib
import hmac
import threading
import time
from datetime import timedelta

import requests
from flask import current_app
from sqlalchemy import select

from ..core.clock import utcnow
from ..core.crypto import decrypt
from ..core.jobs import RetryLater, handler
from ..extensions import db
from .models import DEAD, PENDING, SUCCEEDED, WebhookDelivery, WebhookEvent, WebhookSubscription
from .services import DELIVER, SECRET_PURPOSE, UrlNotAllowed, allow_private, check_url

USER_AGENT = "delivery_sign-webhooks/1"
_local = threading.local()


def signature_header(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def _session() -> requests.Session:
    # One keep-alive session per worker thread.
    if getattr(_local, "session", None) is None:
        _local.session = requests.Session()
        _local.session.trust_env = False   # no proxy from the environment between us and the subscriber
    return _local.session


def post(url: str, body: bytes, event_id: str, event_type: str, secret: str, attempt: int, *,
         timeout: float, allow_private_hosts: bool) -> tuple[int | None, str | None]:
    """One attempt: ``(status_code, error)``; success is any 2xx."""
    try:
        check_url(url, allow_private_hosts=allow_private_hosts)
    except UrlNotAllowed as exc:
        return None, str(exc)
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT,
               "X-Event-Id": event_id, "X-Event-Type": event_type, "X-Delivery-Attempt": str(attempt),
               "X-Signature": signature_header(secret, body, int(time.time()))}
    try:
        response = _session().post(url, data=body, headers=headers, timeout=timeout, allow_redirects=False)
        response.close()
    except requests.Timeout:
        return None, "timeout"
    except requests.RequestException as exc:
        return None, f"{type(exc).__name__}"[:500]
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}"


@handler(DELIVER, max_attempts=10_000)
def deliver(ctx):
    config = current_app.config
    now = max(ctx.now, utcnow())
    delivery = db.session.get(WebhookDelivery, ctx.payload["delivery"])
    if delivery is None or delivery.status != PENDING:
        return
    subscription = db.session.get(WebhookSubscription, delivery.subscription_id)
    if subscription.deleted_at is not None:
        delivery.status, delivery.last_error, delivery.next_attempt_at = DEAD, "webhook deleted", None
        return
    if delivery.order_key is not None:
        earlier = db.session.execute(
            select(WebhookDelivery.next_attempt_at).where(
                WebhookDelivery.subscription_id == delivery.subscription_id,
                WebhookDelivery.order_key == delivery.order_key, WebhookDelivery.status == PENDING,
                WebhookDelivery.id < delivery.id).order_by(WebhookDelivery.id).limit(1)).first()
        if earlier is not None:
            wait = ((earlier.next_attempt_at or now) - now).total_seconds()
            raise RetryLater(min(max(wait, 0) + 0.2, 3600), count_attempt=False,
                             reason="waiting for an earlier event of the same waybill")
    event = db.session.get(WebhookEvent, delivery.event_id)
    url, body, event_id, event_type = subscription.url, event.body.encode(), event.public_id, event.type
    secret = decrypt(subscription.secret_encrypted, SECRET_PURPOSE).decode()
    attempt, delivery_pk = delivery.attempts + 1, delivery.id
    db.session.commit()

    status_code, error = post(url, body, event_id, event_type, secret, attempt,
                              timeout=config["WEBHOOK_TIMEOUT_S"], allow_private_hosts=allow_private())

    delivery = db.session.get(WebhookDelivery, delivery_pk)
    if delivery.status != PENDING:
        return   # redelivered or settled meanwhile by someone holding a newer claim
    finished = utcnow()
    delivery.attempts, delivery.last_status_code, delivery.last_error = attempt, status_code, error
    delivery.last_attempt_at = finished
    if error is None:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = SUCCEEDED, finished, None
        return
    delay = config["WEBHOOK_BACKOFF_BASE_S"] * 2 ** (attempt - 1)
    next_at = max(now, finished) + timedelta(seconds=delay)
    if next_at > delivery.retry_until:
        delivery.status, delivery.next_attempt_at = DEAD, None
        return
    delivery.next_attempt_at = next_at
    raise RetryLater(delay, reason=error, save=True)

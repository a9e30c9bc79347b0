"""Sending a webhook delivery: signed POST, backoff for 24 h, then dead.

No database transaction is open while the subscriber's server is being called (on
SQLite an open transaction holds the write lock). A delivery waits while an earlier
event of the same waybill is still on its way to the same subscriber.
"""
import functools
import hashlib
import hmac
import threading
import time
from datetime import timedelta

import requests
from flask import current_app
from sqlalchemy import bindparam, select, update

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
    select(_deliveries.c.status, _deliveries.c.attempts, _deliveries.c.retry_until,
           _subscriptions.c.url, _subscriptions.c.secret_encrypted, _subscriptions.c.deleted_at,
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
    return db.session.execute(_SETTLE, {"delivery_id": delivery_id, **values}).rowcount == 1


@functools.lru_cache(maxsize=256)
def _secret(secret_encrypted: bytes, secret_key: str) -> str:
    return decrypt(secret_encrypted, SECRET_PURPOSE, secret_key).decode()


@handler(DELIVER, max_attempts=10_000)
def deliver(ctx):
    config = current_app.config
    now = max(ctx.now, utcnow())
    delivery_id = ctx.payload["delivery"]
    row = db.session.execute(_ATTEMPT, {"delivery_id": delivery_id}).first()
    if row is None or row.status != PENDING:
        return
    if row.deleted_at is not None:
        _settle(delivery_id, status=DEAD, last_error="webhook deleted", next_attempt_at=None)
        return
    if row.earlier_id is not None:
        wait = ((row.earlier_due or now) - now).total_seconds()
        raise RetryLater(min(max(wait, 0) + 0.2, 3600), count_attempt=False,
                         reason="waiting for an earlier event of the same waybill")
    secret = _secret(row.secret_encrypted, config["SECRET_KEY"])
    attempt = row.attempts + 1
    db.session.commit()

    status_code, error = post(row.url, row.body.encode(), row.public_id, row.type, secret, attempt,
                              timeout=config["WEBHOOK_TIMEOUT_S"], allow_private_hosts=allow_private())

    finished = utcnow()
    outcome = {"attempts": attempt, "last_status_code": status_code, "last_error": error,
               "last_attempt_at": finished}
    if error is None:
        _settle(delivery_id, status=SUCCEEDED, delivered_at=finished, next_attempt_at=None, **outcome)
        return
    delay = config["WEBHOOK_BACKOFF_BASE_S"] * 2 ** (attempt - 1)
    next_at = max(now, finished) + timedelta(seconds=delay)
    if next_at > row.retry_until:
        _settle(delivery_id, status=DEAD, next_attempt_at=None, **outcome)
        return
    if _settle(delivery_id, next_attempt_at=next_at, **outcome):
        raise RetryLater(delay, reason=error, save=True)

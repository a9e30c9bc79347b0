"""Subscriptions, the events they receive, and one delivery row per (subscription, event).

An event's body is serialised once when it is emitted, so every attempt and every
manual redelivery sends the same body under the same event id — but for the signed
links in ``data.links``, which are minted afresh for each attempt (tasks.py).
"""
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..core.clock import utcnow
from ..extensions import BigId, db

EVENT_TYPES = ("waybill.signed", "waybill.partially_signed", "waybill.refused", "receipt.pdf_ready",
               "waybill.reconciled", "waybill.dropped")
PENDING, SUCCEEDED, DEAD = "pending", "succeeded", "dead"


class WebhookSubscription(db.Model):
    __tablename__ = "webhook_subscriptions"
    __table_args__ = (Index("ix_webhook_subscriptions_tenant", "tenant_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    url: Mapped[str] = mapped_column(String(500))
    events: Mapped[list] = mapped_column(JSON)
    # Encrypted, not hashed: the server signs every delivery with it (core.crypto).
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    # After a rotation the previous secret signs beside the new one until it expires.
    previous_secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    previous_secret_expires_at: Mapped[datetime | None]
    # Set on the first failed attempt after a success; five days of failures disable it.
    failing_since: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]


class WebhookEvent(db.Model):
    __tablename__ = "webhook_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    type: Mapped[str] = mapped_column(String(40))
    waybill_number: Mapped[str | None] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    # Indexed for the history purge (tasks.purge_history), as are the deliveries'.
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class WebhookDelivery(db.Model):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id"),
        # "Is an earlier event of this waybill still on its way to this subscriber?"
        Index("ix_webhook_deliveries_order", "subscription_id", "order_key", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id"))
    event_id: Mapped[int] = mapped_column(BigId, ForeignKey("webhook_events.id"), index=True)
    order_key: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    last_attempt_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    retry_until: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

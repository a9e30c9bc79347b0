"""Consent requests, their one answer, standing consent, and the drops made under them.

Phones are never stored here in full: a standing consent is keyed by an HMAC of the
consignee's phone (and of the normalised address), so the table alone does not say whose
parcel goes to the guard.
"""
from datetime import date, datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.clock import utcnow
from ..extensions import BigId, db

# The ways a consignee may let a parcel be delivered without signing in person.
OPTIONS = ("locker", "station", "door", "guard", "neighbour", "reschedule")
# A drop goes to one of these; ``reschedule`` is an answer, not a place.
DROP_PLACES = ("locker", "station", "door", "guard", "neighbour")
# The courier may name the place for these (which locker bank, which station).
NAMED_PLACES = ("locker", "station")


class ConsentRequest(db.Model):
    """One question to the consignee about one waybill, answered at most once."""

    __tablename__ = "consent_requests"
    __table_args__ = (Index("ix_consent_requests_tenant_waybill", "tenant_id", "waybill_id", "id"),
                      # the answers whose IP the retention purge has still to mask
                      Index("ix_consent_requests_ip_due", "tenant_id", "answer_ip_purged_at", "answered_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    waybill_id: Mapped[int] = mapped_column(BigId, ForeignKey("waybills.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    options: Mapped[list] = mapped_column(JSON)
    places: Mapped[dict] = mapped_column(JSON)          # {"locker": "丰巢 A 区", ...} as the courier named them
    note: Mapped[str | None] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(10))    # sms | wechat
    sent_to_masked: Mapped[str] = mapped_column(String(20))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    choice: Mapped[str | None] = mapped_column(String(12))
    place: Mapped[str | None] = mapped_column(String(100))
    day: Mapped[date | None]
    standing: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    answer_client: Mapped[dict | None] = mapped_column(JSON)   # ip, user agent of the answer
    answer_ip_purged_at: Mapped[datetime | None]               # the IP above masked (retention, erasure)
    answer_audit_seq: Mapped[int | None]

    waybill = relationship("Waybill")


class StandingConsent(db.Model):
    """"以后都放门卫": a choice for every parcel of one consignee to one address, until it
    expires or the consignee revokes it from any consent SMS."""

    __tablename__ = "standing_consents"
    __table_args__ = (Index("ix_standing_consents_lookup", "tenant_id", "phone_hash", "address_hash", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    phone_hash: Mapped[str] = mapped_column(String(64))
    address_hash: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(300))
    choice: Mapped[str] = mapped_column(String(12))
    place: Mapped[str | None] = mapped_column(String(100))
    request_id: Mapped[int] = mapped_column(BigId, ForeignKey("consent_requests.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    request = relationship("ConsentRequest")


class Drop(db.Model):
    """One consented (or recorded unconsented) drop, as the reports count it: by place and
    by the kind of consent it relied on. The receipt holds the evidence."""

    __tablename__ = "consent_drops"
    __table_args__ = (Index("ix_consent_drops_tenant_created", "tenant_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    waybill_id: Mapped[int] = mapped_column(BigId, ForeignKey("waybills.id", ondelete="CASCADE"), unique=True)
    receipt_id: Mapped[int] = mapped_column(BigId, ForeignKey("receipts.id", ondelete="CASCADE"))
    place: Mapped[str] = mapped_column(String(12))
    consent: Mapped[str] = mapped_column(String(10))    # one_off | standing | none
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

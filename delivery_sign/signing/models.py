"""Sign links and their one-time codes.

A link's token is the recipient's only credential: 192 random bits (links.TOKEN_BYTES), stored as SHA-256.
"""
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.clock import utcnow
from ..extensions import BigId, db


class SignLink(db.Model):
    __tablename__ = "sign_links"
    __table_args__ = (Index("ix_sign_links_tenant_created", "tenant_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    doc_type_id: Mapped[int] = mapped_column(ForeignKey("doc_types.id"))
    # The policy in force when the QR was shown: a later policy edit does not change
    # the rules for a recipient already at the door.
    policy: Mapped[dict] = mapped_column(JSON)
    consignee_phone: Mapped[str] = mapped_column(String(20))
    courier_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by: Mapped[str] = mapped_column(String(80))
    courier_location: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    opened_at: Mapped[datetime | None]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    otp_verified_at: Mapped[datetime | None]
    otp_failures: Mapped[int] = mapped_column(default=0)
    locked_at: Mapped[datetime | None]
    # ``drop``: the courier's own record of a consented drop (issue 14). Its token is never
    # shown to anyone, so no recipient endpoint can reach it; it only carries the photos
    # and the receipt of the drop the way a sign link carries a sign-off's.
    purpose: Mapped[str] = mapped_column(String(10), default="sign", server_default="sign")
    # Declared assisted sign-off on the courier's device (issue 14): OTP is required.
    assisted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Whose phone the verified code went to: ``consignee`` or ``receiver``, and masked.
    otp_verified_whose: Mapped[str | None] = mapped_column(String(10))
    otp_verified_to: Mapped[str | None] = mapped_column(String(20))
    # Submits whose handwriting did not read as the signer's name (handwriting: recognized);
    # under recognition: lenient the third such attempt is accepted with an anomaly.
    name_attempts: Mapped[int] = mapped_column(default=0, server_default="0")

    courier = relationship("User")
    waybills = relationship("Waybill", secondary="sign_link_waybills", order_by="Waybill.id")


class SignLinkWaybill(db.Model):
    __tablename__ = "sign_link_waybills"

    link_id: Mapped[int] = mapped_column(BigId, ForeignKey("sign_links.id", ondelete="CASCADE"), primary_key=True)
    waybill_id: Mapped[int] = mapped_column(BigId, ForeignKey("waybills.id"), primary_key=True, index=True)


class OtpCode(db.Model):
    """A 6-digit code sent to the consignee; only its HMAC is kept, for 5 minutes."""

    __tablename__ = "otp_codes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    link_id: Mapped[int] = mapped_column(BigId, ForeignKey("sign_links.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    # Where the code went (masked) and whether that is the consignee's own phone.
    sent_to: Mapped[str | None] = mapped_column(String(20))
    to_consignee: Mapped[bool | None] = mapped_column(Boolean)

"""Receipts and the evidence records that hang off them.

Photos and signature fingerprints carry their own small index tables so duplicate and
replay lookups are index probes, not scans (issue #3: sublinear at a million rows).
"""
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Numeric, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.clock import utcnow
from ..extensions import BigId, db

OUTCOMES = ("signed", "partial", "refused")
RELATIONS = ("self", "family", "colleague", "guard", "locker", "other")


class Receipt(db.Model):
    __tablename__ = "receipts"
    __table_args__ = (
        UniqueConstraint("link_id"),
        Index("ix_receipts_tenant_created", "tenant_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    link_id: Mapped[int] = mapped_column(BigId, ForeignKey("sign_links.id"))
    submission_id: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(10))
    signer_name: Mapped[str] = mapped_column(String(100))
    signer_relation: Mapped[str] = mapped_column(String(20))
    # The canonical evidence document (SPEC §6) and SHA-256 of its canonical JSON.
    evidence: Mapped[dict] = mapped_column(JSON)
    evidence_hash: Mapped[str] = mapped_column(String(64))
    audit_seq: Mapped[int] = mapped_column(BigInteger)
    anomalies: Mapped[list] = mapped_column(JSON)
    response: Mapped[dict] = mapped_column(JSON)   # the 201 body, replayed for the same submission_id
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    pdf_key: Mapped[str | None] = mapped_column(String(200))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    pdf_rendered_at: Mapped[datetime | None]

    lines = relationship("ReceiptLine", order_by="ReceiptLine.id", cascade="all, delete-orphan")


class ReceiptLine(db.Model):
    """What was received of one waybill item line."""

    __tablename__ = "receipt_lines"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    receipt_id: Mapped[int] = mapped_column(BigId, ForeignKey("receipts.id", ondelete="CASCADE"), index=True)
    waybill_item_id: Mapped[int] = mapped_column(BigId, ForeignKey("waybill_items.id"))
    received_qty = mapped_column(Numeric(12, 3), nullable=False)
    damaged_qty = mapped_column(Numeric(12, 3), nullable=False)
    note: Mapped[str] = mapped_column(String(500), default="")


class Photo(db.Model):
    """An uploaded photo: original bytes in storage under their SHA-256, checks as evidence."""

    __tablename__ = "photos"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    link_id: Mapped[int] = mapped_column(BigId, ForeignKey("sign_links.id"), index=True)
    receipt_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("receipts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    storage_key: Mapped[str] = mapped_column(String(200))
    mime: Mapped[str] = mapped_column(String(20))
    size: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    exif: Mapped[dict] = mapped_column(JSON)
    checks: Mapped[dict] = mapped_column(JSON)
    anomalies: Mapped[list] = mapped_column(JSON)
    phash: Mapped[int] = mapped_column(BigInteger)   # the 64-bit hash as a signed integer
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PhotoHashChunk(db.Model):
    """Multi-index hashing: each photo is filed under its four 16-bit hash chunks."""

    __tablename__ = "photo_hash_chunks"
    __table_args__ = (Index("ix_photo_hash_chunks_lookup", "tenant_id", "chunk", "photo_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    chunk: Mapped[int] = mapped_column(BigInteger)    # chunk number and value in one key
    photo_id: Mapped[int] = mapped_column(BigId, ForeignKey("photos.id", ondelete="CASCADE"))


def _fingerprint_version(context) -> int:
    return context.get_current_parameters()["fingerprint"][0]


class SignatureFingerprint(db.Model):
    """A receipt's signature fingerprint filed under each of its LSH band keys.

    `version` is the fingerprint's own (its first byte), so a tenant's rows of a legacy
    version are one index probe away: the lookup adds that version's keys while the
    tenant has any, and the re-index job (receipts/fingerprints.py) walks them in
    (tenant, receipt) order on the same index.
    """

    __tablename__ = "signature_fingerprints"
    __table_args__ = (Index("ix_signature_fingerprints_lookup", "tenant_id", "band_key", "receipt_id"),
                      Index("ix_signature_fingerprints_version", "version", "tenant_id", "receipt_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    band_key: Mapped[int] = mapped_column(BigInteger)
    receipt_id: Mapped[int] = mapped_column(BigId, ForeignKey("receipts.id", ondelete="CASCADE"))
    fingerprint: Mapped[bytes] = mapped_column(db.LargeBinary)
    # rows written before the column existed are version 1 (the server default)
    version: Mapped[int] = mapped_column(SmallInteger, default=_fingerprint_version, server_default="1")

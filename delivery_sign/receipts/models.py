"""Receipts and the evidence records that hang off them.

Photos and signature fingerprints carry their own small index tables so duplicate and
replay lookups are index probes, not scans (issue #3: sublinear at a million rows).
"""
import secrets
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Numeric, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.clock import isoformat, utcnow
from ..extensions import BigId, db

OUTCOMES = ("signed", "partial", "refused")
PHOTO_PARTIES = ("courier", "recipient")

# Crockford base32: no I, L, O or U, so a code read out over the phone is not misheard.
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RECEIPT_CODE_LENGTH = 8      # 40 bits: a tenant would need ~10^6 receipts for a 1-in-10^6 clash per draw
_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0"})


def new_receipt_code() -> str:
    return "".join(secrets.choice(CROCKFORD) for _ in range(RECEIPT_CODE_LENGTH))


def normalize_receipt_code(text: str) -> str | None:
    """What a person typed (lower case, a hyphen, O for 0) as a code, or None if it is not one."""
    code = text.strip().upper().replace("-", "").replace(" ", "").translate(_READ_AS)
    if len(code) == RECEIPT_CODE_LENGTH and all(c in CROCKFORD for c in code):
        return code
    return None
RELATIONS = ("self", "family", "colleague", "guard", "locker", "other")


class Receipt(db.Model):
    __tablename__ = "receipts"
    __table_args__ = (
        UniqueConstraint("link_id"),
        Index("ix_receipts_tenant_created", "tenant_id", "created_at"),
        # An index, not a table constraint, so SQLite adds it in place (no table rebuild
        # under the photos that reference receipts).
        Index("uq_receipts_tenant_code", "tenant_id", "receipt_code", unique=True),
        Index("ix_receipts_tenant_signer_phone_key", "tenant_id", "signer_phone_key"),
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
    # What the recipient can read out on the phone (8 Crockford base32 characters);
    # receipts made before issue 12 have none.
    receipt_code: Mapped[str | None] = mapped_column(String(8))
    # Issue 19: the keyed hash of the phone the signer typed (requests by phone number),
    # and when the last raw part (strokes, photo originals, coordinates, IP) was purged.
    signer_phone_key: Mapped[str | None] = mapped_column(String(64))
    raw_purged_at: Mapped[datetime | None]
    # ... and when the receipt's own retention ended: PDF deleted, evidence cut to a skeleton.
    expired_at: Mapped[datetime | None]

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
    # Who took it: the recipient on the sign page, or the courier (a user) at the door.
    # The username as it was, like the audit chain's actors: no foreign key, so SQLite adds
    # the column in place.
    taken_by: Mapped[str] = mapped_column(String(10), default="recipient", server_default="recipient")
    taken_by_user: Mapped[str | None] = mapped_column(String(80))
    # What the phone said about the original before it shrank it (DateTimeOriginal, GPS,
    # make/model, original size): declared by the client, kept apart from ``exif``.
    client_exif: Mapped[dict | None] = mapped_column(JSON)
    # A courier's retake withdraws the earlier photo; the sweep removes it with the link.
    removed_at: Mapped[datetime | None]
    # Retention (issue 19): the original bytes are gone; display copies (no EXIF) remain.
    original_purged_at: Mapped[datetime | None]

    def as_evidence(self) -> dict:
        """The photo in a receipt's evidence: who took it and when, and what the phone
        declared about it (one shape for sign-offs and drops)."""
        return {"photo_id": self.public_id, "kind": self.kind, "sha256": self.sha256, "mime": self.mime,
                "size": self.size, "width": self.width, "height": self.height, "exif": self.exif,
                "checks": self.checks, "taken_by": {"party": self.taken_by, "user": self.taken_by_user},
                "taken_at": isoformat(self.created_at), "declared_by_client": self.client_exif}


class PhotoHashChunk(db.Model):
    """Multi-index hashing: each photo is filed under its four 16-bit hash chunks.

    Each row carries the photo's whole hash (``phash``), so the probe measures the distance
    on the chunk rows it finds and only a real match reads ``photos``. On PostgreSQL the
    lookup index carries ``phash`` and ``photo_id`` as included columns (an index-only scan
    answers the probe); SQLite has no INCLUDE and gets the plain ``(tenant_id, chunk)`` one.
    On PostgreSQL the table is hash-partitioned by tenant (core/partitions.py).

    ``photo_id`` has no foreign key: the rows are the photo's index entries, written and
    deleted with it by ``receipts.photos`` alone (by their keys, ``delete_photos``), and
    nothing indexes ``photo_id``, so a cascade or a key check would read the whole table
    (migration c16u00000001).
    """

    __tablename__ = "photo_hash_chunks"
    __table_args__ = (Index("ix_photo_hash_chunks_lookup", "tenant_id", "chunk",
                            postgresql_include=["phash", "photo_id"]),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    chunk: Mapped[int] = mapped_column(BigInteger)    # chunk number and value in one key
    photo_id: Mapped[int] = mapped_column(BigId)
    phash: Mapped[int] = mapped_column(BigInteger)   # the photo's 64-bit hash, as Photo.phash
    # the photo's own time
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


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
    # the month partition key on PostgreSQL (core/partitions.py); the receipt's own time
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

"""Waybill, its item lines and its anomalies.

Indexes follow the list filters of SPEC §4: every one starts with ``tenant_id`` and ends
with ``id`` so a filtered, newest-first keyset page is an index range scan.
"""
from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, UniqueConstraint, false, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.clock import utcnow
from ..extensions import BigId, db

STATUSES = ("created", "assigned", "out_for_delivery", "signed", "partially_signed", "refused", "cancelled",
            "dropped")
# ``dropped``: left at a locker, station, door, guard or neighbour with the consignee's consent.
# What may follow what: waybills/transitions.py.
FINAL_STATUSES = ("signed", "partially_signed", "refused", "cancelled", "dropped")


def _byte_ordered(length):
    # Prefix search (?q=) is a range scan; "C" collation makes PostgreSQL order by bytes
    # as SQLite does, so the range and the prefix agree whatever the database locale.
    return String(length).with_variant(postgresql.VARCHAR(length, collation="C"), "postgresql")


class Waybill(db.Model):
    __tablename__ = "waybills"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        Index("ix_waybills_tenant_id_desc", "tenant_id", "id"),
        Index("ix_waybills_tenant_status", "tenant_id", "status", "id"),
        Index("ix_waybills_tenant_courier", "tenant_id", "courier_id", "status", "id"),
        Index("ix_waybills_tenant_org_unit", "tenant_id", "org_unit_id", "id"),
        Index("ix_waybills_tenant_consignee", "tenant_id", "consignee_name"),
        # Requests about a person by phone number (issue 19) probe this, never scan.
        Index("ix_waybills_tenant_phone_key", "tenant_id", "consignee_phone_key"),
        Index("ix_waybills_tenant_created", "tenant_id", "created_at"),
        Index("ix_waybills_tenant_signed", "tenant_id", "signed_at"),
        # The dashboard's review queue: anomalous and not reconciled yet, newest first.
        Index("ix_waybills_tenant_to_review", "tenant_id", "id",
              postgresql_where=text("has_anomalies AND reconciled_at IS NULL"),
              sqlite_where=text("has_anomalies AND reconciled_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    number: Mapped[str] = mapped_column(_byte_ordered(40))
    doc_type_id: Mapped[int] = mapped_column(ForeignKey("doc_types.id"))
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    courier_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(20), default="created")
    consignee_name: Mapped[str] = mapped_column(_byte_ordered(100))
    consignee_phone: Mapped[str] = mapped_column(String(20))
    # core.masking.phone_key of consignee_phone (issue 19); NULL once erased.
    consignee_phone_key: Mapped[str | None] = mapped_column(String(64))
    consignee_address: Mapped[str] = mapped_column(String(300))
    consignee_lat: Mapped[float | None]
    consignee_lng: Mapped[float | None]
    consignee_coord_system: Mapped[str | None] = mapped_column(String(8))
    deadline: Mapped[datetime | None]
    external_ref: Mapped[str | None] = mapped_column(String(100))
    extra: Mapped[dict | None] = mapped_column("metadata", JSON)
    # SHA-256 of the canonical creation body: the same body again is a replay (200),
    # a different one under the same number a conflict (409).
    body_hash: Mapped[str] = mapped_column(String(64))
    document_key: Mapped[str | None] = mapped_column(String(200))
    document_sha256: Mapped[str | None] = mapped_column(String(64))
    document_size: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    assigned_at: Mapped[datetime | None]
    out_for_delivery_at: Mapped[datetime | None]
    signed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    # Set at sign-off, so lists and reports need no join to the receipt.
    receipt_public_id: Mapped[str | None] = mapped_column(String(32))
    signer_relation: Mapped[str | None] = mapped_column(String(20))
    # Set with the anomalies at sign-off, so the report roll-up's triggers see it on the row.
    has_anomalies: Mapped[bool] = mapped_column(default=False, server_default=false())
    reconcile_decision: Mapped[str | None] = mapped_column(String(20))
    reconcile_note: Mapped[str | None] = mapped_column(String(1000))
    reconciled_at: Mapped[datetime | None]
    reconciled_by: Mapped[str | None] = mapped_column(String(80))

    doc_type = relationship("DocType", lazy="joined", innerjoin=True)
    org_unit = relationship("OrgUnit", lazy="joined")
    courier = relationship("User", lazy="joined")
    items = relationship("WaybillItem", order_by="WaybillItem.line_no", lazy="selectin",
                         cascade="all, delete-orphan", back_populates="waybill")
    anomalies = relationship("WaybillAnomaly", order_by="WaybillAnomaly.id", lazy="selectin",
                             cascade="all, delete-orphan")


class WaybillItem(db.Model):
    __tablename__ = "waybill_items"
    __table_args__ = (UniqueConstraint("waybill_id", "line_no"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    waybill_id: Mapped[int] = mapped_column(BigId, ForeignKey("waybills.id", ondelete="CASCADE"))
    line_no: Mapped[int]
    sku: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    qty: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    unit: Mapped[str | None] = mapped_column(String(20))

    waybill = relationship("Waybill", back_populates="items")


class WaybillAnomaly(db.Model):
    """A soft finding of a sign-off (SPEC §5 vocabulary), filterable with ``?anomaly=``."""

    __tablename__ = "waybill_anomalies"
    __table_args__ = (
        UniqueConstraint("waybill_id", "code"),
        Index("ix_waybill_anomalies_tenant_code", "tenant_id", "code", "waybill_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    waybill_id: Mapped[int] = mapped_column(BigId, ForeignKey("waybills.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

"""The report roll-up: waybill counts per tenant, org unit, doc type, China day and status.

``report_changes`` is written by database triggers on ``waybills`` (migration
a1d4c0e70008): every insert, update or delete of a waybill adds −1 for the cell it
leaves and +1 for the cell it enters. So every path that touches a waybill — the ORM,
batch COPY, imports, bulk updates, a hand-run UPDATE — keeps the report right in the same
transaction, and no writer ever updates a shared counter row (no lock queue, no
deadlock between concurrent batches). ``rollup.fold`` moves the changes into the two
roll-up tables now and then; a report reads roll-up ∪ pending changes, so it is exact
whether or not a fold has run.
"""
from datetime import date

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import BigId, db


class _Cell:
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    doc_type_id: Mapped[int] = mapped_column(ForeignKey("doc_types.id"))
    signer_relation: Mapped[str | None] = mapped_column(String(20))
    created_day: Mapped[date]           # China day (UTC+8) of created_at
    signed_day: Mapped[date | None]     # China day of signed_at
    n: Mapped[int] = mapped_column(BigInteger)


class ReportCount(_Cell, db.Model):
    """Waybills per cell and status; ``anomalous`` of them have anomalies."""

    __tablename__ = "report_counts"
    __table_args__ = (
        Index("ix_report_counts_created", "tenant_id", "created_day"),
        Index("ix_report_counts_signed", "tenant_id", "signed_day"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    anomalous: Mapped[int] = mapped_column(BigInteger)


class ReportMinutes(_Cell, db.Model):
    """Signed waybills per cell and bucket of minutes from dispatch to sign-off (medians)."""

    __tablename__ = "report_minutes"
    __table_args__ = (
        Index("ix_report_minutes_created", "tenant_id", "created_day"),
        Index("ix_report_minutes_signed", "tenant_id", "signed_day"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    minutes: Mapped[int]


class ReportChange(_Cell, db.Model):
    """A change not folded yet: ±n waybills entering or leaving a cell."""

    __tablename__ = "report_changes"
    __table_args__ = (Index("ix_report_changes_tenant", "tenant_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    anomalous: Mapped[int] = mapped_column(BigInteger)
    minutes: Mapped[int | None]         # bucketed; None when not signed

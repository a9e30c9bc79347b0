"""The per-tenant audit chain (SPEC §6).

Each event stores ``seq``, ``prev_hash`` and ``hash = SHA-256(prev_hash ‖ canonical JSON)``.
Appends take a row lock on the tenant's ``audit_heads`` row (``FOR UPDATE`` on PostgreSQL;
SQLite writers are already serialised by ``BEGIN IMMEDIATE``), so ``seq`` has no gaps
even with many writers, and the event commits or rolls back with the change it records.
"""
import hashlib
import json
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import BigId, db
from .bulk import insert_rows
from .clock import isoformat, utcnow

GENESIS_HASH = "0" * 64


class AuditHead(db.Model):
    """The last link of a tenant's chain; the lock that orders appends."""

    __tablename__ = "audit_heads"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (UniqueConstraint("tenant_id", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    seq: Mapped[int] = mapped_column(BigInteger)
    event_type: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(80))
    subject: Mapped[str] = mapped_column(String(120), index=True)
    data: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


def canonical_json(value) -> bytes:
    """The byte form every hash in this product is taken over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _event_body(row) -> dict:
    """The hashed part of an event; ``row`` is an ``AuditEvent`` or a dict of its columns."""
    get = row.get if isinstance(row, dict) else lambda key: getattr(row, key)
    return {
        "seq": get("seq"),
        "tenant_id": get("tenant_id"),
        "type": get("event_type"),
        "actor": get("actor"),
        "subject": get("subject"),
        "data": get("data"),
        "created_at": isoformat(get("created_at")),
    }


def chain_hash(prev_hash: str, body: dict) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical_json(body)).hexdigest()


def _lock_head(tenant_id: int) -> AuditHead:
    head = db.session.execute(
        select(AuditHead).where(AuditHead.tenant_id == tenant_id).with_for_update()
    ).scalar_one_or_none()
    if head is None:
        head = AuditHead(tenant_id=tenant_id, seq=0, hash=GENESIS_HASH)
        db.session.add(head)
        db.session.flush()
    return head


def record(tenant_id: int, event_type: str, actor: str, subject: str, data: dict | None = None) -> dict:
    """Append one event to the tenant's chain in the current transaction; returns its columns."""
    return record_many(tenant_id, [(event_type, actor, subject, data or {})])[0]


def record_many(tenant_id: int, events) -> list[dict]:
    """Append ``(event_type, actor, subject, data)`` tuples in order, under one head lock."""
    head = _lock_head(tenant_id)
    now = utcnow()
    rows = []
    for event_type, actor, subject, data in events:
        row = {"tenant_id": tenant_id, "seq": head.seq + 1, "event_type": event_type, "actor": actor,
               "subject": subject, "data": data or {}, "created_at": now, "prev_hash": head.hash}
        row["hash"] = chain_hash(row["prev_hash"], _event_body(row))
        head.seq, head.hash = row["seq"], row["hash"]
        rows.append(row)
    insert_rows(AuditEvent, rows)
    return rows


def verify_chain(tenant_id: int) -> dict:
    """Recompute the chain; report the first event that was altered, inserted or removed."""
    head = db.session.get(AuditHead, tenant_id)
    query = (
        select(AuditEvent).where(AuditEvent.tenant_id == tenant_id)
        .order_by(AuditEvent.seq).execution_options(yield_per=2000)
    )
    result = db.session.execute(query).scalars()
    try:
        return _walk(result, head)
    finally:
        result.close()


def _walk(events, head: AuditHead | None) -> dict:
    expected_seq, prev_hash, count = 1, GENESIS_HASH, 0
    for event in events:
        count += 1
        if event.seq != expected_seq or event.prev_hash != prev_hash:
            return {"ok": False, "events": count, "first_bad_seq": min(expected_seq, event.seq)}
        if chain_hash(prev_hash, _event_body(event)) != event.hash:
            return {"ok": False, "events": count, "first_bad_seq": event.seq}
        prev_hash, expected_seq = event.hash, expected_seq + 1
    head_seq = head.seq if head else 0
    if head_seq != expected_seq - 1 or (head and head.hash != prev_hash):
        # Events were removed from the end of the chain.
        return {"ok": False, "events": count, "first_bad_seq": expected_seq}
    return {"ok": True, "events": count, "first_bad_seq": None}


def events_of(tenant_id: int, subjects: list[str], limit: int = 200) -> list[AuditEvent]:
    """The events of some subjects (``waybill:SF1``, ``receipt:…``, ``link:7``), oldest first."""
    return db.session.execute(
        select(AuditEvent).where(AuditEvent.tenant_id == tenant_id, AuditEvent.subject.in_(subjects))
        .order_by(AuditEvent.seq).limit(limit)
    ).scalars().all()

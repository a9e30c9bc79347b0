"""Anchoring the audit chain's head outside the database (issue 15.6).

The keyed chain stops someone who can edit rows but does not hold ``AUDIT_KEY``. An anchor
also stops the one who does, for everything before it: an RFC 3161 timestamp authority
signs the SHA-256 of the tenant's *head statement* (tenant, seq, hash, alg), so a token
kept anywhere proves the chain ended in that hash at that time. Anchors are taken every
day (a periodic task of the worker, when ``TSA_URL`` is set) and on demand
(``POST /audit/anchors``), and kept with the head in ``audit_anchors``; ``/audit/verify``
checks each one still matches its event and its token still covers its statement.

The TSA client is pyHanko's ``HTTPTimeStamper``, the one the receipt PDFs use. The TSA is
called with no transaction open (a short read, the request, a short write), as
receipts/tasks.py does for PDFs, so SQLite's write lock is never held across the network.
"""
import asyncio
import base64
import hashlib
import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from ..extensions import db
from .audit import ALG, GENESIS_HASH, AuditAnchor, AuditEvent, AuditHead, canonical_json
from .clock import utcnow
from .errors import Problem
from .jobs import every
from .transactions import reading

log = logging.getLogger(__name__)

ANCHOR_EVERY = timedelta(days=1)
STATEMENT_TYPE = "delivery_sign.audit_head.v1"


class TsaUnavailable(Problem):
    status, slug, title = 503, "tsa-unavailable", "Timestamp authority unavailable"


def head_statement(tenant_id: int, seq: int, hash_: str) -> bytes:
    """The bytes a timestamp or a signature of the head is taken over (canonical JSON)."""
    return canonical_json({"type": STATEMENT_TYPE, "tenant_id": tenant_id, "seq": seq, "hash": hash_, "alg": ALG})


def current_head(tenant_id: int) -> tuple[int, str]:
    head = db.session.get(AuditHead, tenant_id)
    return (head.seq, head.hash) if head else (0, GENESIS_HASH)


def _timestamp(url: str, digest: bytes) -> bytes:
    from pyhanko.sign.timestamps import HTTPTimeStamper

    token = asyncio.run(HTTPTimeStamper(url, timeout=10).async_timestamp(digest, "sha256"))
    return token.dump()


def anchor_head(tenant_id: int) -> AuditAnchor:
    """Timestamp the tenant's current head now; 409 without ``TSA_URL``, 503 when the TSA fails."""
    url = current_app.config.get("TSA_URL")
    if not url:
        raise Problem("No timestamp authority is configured (TSA_URL).", status=409, slug="tsa-not-configured",
                      title="TSA not configured")
    with reading():
        seq, hash_ = current_head(tenant_id)
    try:
        token = _timestamp(url, hashlib.sha256(head_statement(tenant_id, seq, hash_)).digest())
    except Exception as exc:  # noqa: BLE001 - network, HTTP or a refused request: all "not now"
        log.warning("timestamp request failed: %s", type(exc).__name__)
        raise TsaUnavailable("The timestamp authority did not answer; try again later.",
                             headers={"Retry-After": "60"}) from None
    anchor = AuditAnchor(tenant_id=tenant_id, seq=seq, hash=hash_, anchored_at=utcnow(), tsa_url=url, token=token)
    db.session.add(anchor)
    db.session.flush()
    return anchor


def latest_anchor(tenant_id: int) -> AuditAnchor | None:
    return db.session.execute(
        select(AuditAnchor).where(AuditAnchor.tenant_id == tenant_id).order_by(AuditAnchor.id.desc()).limit(1)
    ).scalar_one_or_none()


def token_digest(token_der: bytes) -> bytes | None:
    """The message imprint a timestamp token covers, or ``None`` when it does not parse."""
    from asn1crypto import cms, tsp

    try:
        content = cms.ContentInfo.load(token_der)["content"]
        info = tsp.TSTInfo.load(content["encap_content_info"]["content"].parsed.dump())
        return info["message_imprint"]["hashed_message"].native
    except Exception:  # noqa: BLE001 - a damaged token is a failed check
        return None


def verify_anchors(tenant_id: int) -> dict:
    """Every anchor still names its event's hash, and its token still covers its statement."""
    anchors = db.session.execute(
        select(AuditAnchor).where(AuditAnchor.tenant_id == tenant_id).order_by(AuditAnchor.id)).scalars().all()
    seqs = {a.seq for a in anchors if a.seq}
    hashes = dict(db.session.execute(
        select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.tenant_id == tenant_id, AuditEvent.seq.in_(seqs))
    ).all()) if seqs else {}
    bad = []
    for anchor in anchors:
        expected = hashes.get(anchor.seq) if anchor.seq else GENESIS_HASH
        statement = head_statement(tenant_id, anchor.seq, anchor.hash)
        if expected != anchor.hash or token_digest(anchor.token) != hashlib.sha256(statement).digest():
            bad.append(anchor.seq)
    return {"anchors": len(anchors), "first_bad_anchor_seq": bad[0] if bad else None}


def anchor_view(anchor: AuditAnchor) -> dict:
    return {"seq": anchor.seq, "hash": anchor.hash, "anchored_at": anchor.anchored_at, "tsa_url": anchor.tsa_url,
            "token": base64.b64encode(anchor.token).decode("ascii"),
            "statement": head_statement(anchor.tenant_id, anchor.seq, anchor.hash).decode("utf-8")}


@every(3600)
def anchor_daily() -> int:
    """Anchor every tenant whose chain moved since its last anchor a day or more ago."""
    if not current_app.config.get("TSA_URL"):
        return 0
    cutoff = utcnow() - ANCHOR_EVERY
    last = (select(AuditAnchor.tenant_id, func.max(AuditAnchor.anchored_at).label("at"), func.max(AuditAnchor.seq)
                   .label("seq")).group_by(AuditAnchor.tenant_id).subquery())
    due = db.session.execute(
        select(AuditHead.tenant_id).outerjoin(last, last.c.tenant_id == AuditHead.tenant_id)
        .where(AuditHead.seq > 0, (last.c.at.is_(None)) | ((last.c.at <= cutoff) & (last.c.seq < AuditHead.seq)))
    ).scalars().all()
    db.session.rollback()
    done = 0
    for tenant_id in due:
        try:
            anchor_head(tenant_id)
            db.session.commit()
            done += 1
        except Problem as exc:
            db.session.rollback()
            log.warning("daily anchor of tenant %s failed: %s", tenant_id, exc)
            break   # the TSA is down: every other tenant would fail the same way
    return done

"""Retention (issue 19): the raw parts of a sign-off are kept for their days, then purged.

A part's days are the doc type's ``retention_days`` (read when the purge runs, so a tenant
that shortens them purges older data at the next run). Purging a part replaces it in the
evidence by its SHA-256, so the evidence keeps proving what was there; the evidence is
then re-hashed and the new hash recorded in the audit chain as ``evidence.purged`` on
``receipt:<id>``, which is what ``/audit/verify`` compares the receipt with. The signed
PDF is kept for the receipt's days: its embedded evidence still hashes to
``retention.original_evidence_hash``, so ``POST /verify`` still recognises it.

A waybill under dispute (``reconcile_decision: disputed``) holds its receipts until it is
reconciled otherwise. Each run handles a bounded batch per doc type, in its own short
transaction, so the daily job never holds the database for long.
"""
import copy
import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from ..accounts.models import DocType
from ..core import audit
from ..core.audit import canonical_json
from ..core.clock import isoformat, utcnow
from ..core.masking import mask_ip
from ..core.storage import get_storage
from ..extensions import db
from ..receipts.models import Photo, Receipt, SignatureFingerprint
from ..receipts.services import derivative_key
from ..signing.models import SignLink, SignLinkWaybill
from ..waybills.models import Waybill
from .services import RAW_PARTS, retention_of

log = logging.getLogger(__name__)

BATCH = 200
SYSTEM_ACTOR = "system:retention"


@dataclass
class PurgeReport:
    purged: int = 0          # receipts with at least one part purged
    parts: dict = field(default_factory=lambda: {p: 0 for p in RAW_PARTS})
    held: int = 0            # receipts due but held by a dispute
    expired: int = 0         # receipts at the end of their own retention
    consent_answers: int = 0  # consent answers whose IP was masked

    def as_dict(self) -> dict:
        return {"purged": self.purged, "parts": self.parts, "held": self.held, "expired": self.expired,
                "consent_answers": self.consent_answers}


def _sha256(value) -> str:
    return hashlib.sha256(canonical_json(value)).hexdigest()


def purged_parts(evidence: dict) -> dict:
    return (evidence.get("retention") or {}).get("purged") or {}


# Files go only once the rows saying they are gone have committed: a rolled-back purge
# leaves the original where its row says it is.
_DELETES = "privacy.delete_after_commit"


def delete_after_commit(key: str) -> None:
    db.session.info.setdefault(_DELETES, []).append(key)


@event.listens_for(Session, "after_commit")
def _delete_committed(session):
    keys = session.info.pop(_DELETES, None)
    if keys:
        storage = get_storage()
        for key in keys:
            try:
                storage.delete(key)
            except Exception:  # noqa: BLE001 - a file left behind is found by the next purge's check
                log.exception("could not delete purged original %s", key)


@event.listens_for(Session, "after_rollback")
def _forget_deletes(session):
    session.info.pop(_DELETES, None)


# --- the parts -------------------------------------------------------------------------

def _purge_strokes(receipt: Receipt, evidence: dict) -> dict:
    signature = evidence.get("signature")
    if signature is None:           # a consented drop: nobody signed, nothing to purge
        return {"sha256": None}
    digest = _sha256(signature.get("strokes"))
    signature["strokes"], signature["strokes_sha256"] = None, digest
    # The fingerprints are derived from the strokes: biometric too, so they go with them.
    db.session.execute(SignatureFingerprint.__table__.delete().where(
        SignatureFingerprint.receipt_id == receipt.id))
    return {"sha256": digest}


def _strip_gps(evidence: dict, photos: list[Photo]) -> None:
    for entry in evidence.get("photos") or []:
        if isinstance(entry.get("exif"), dict) and entry["exif"].get("gps") is not None:
            entry["exif"] = {**entry["exif"], "gps": None}
        declared = entry.get("declared_by_client")
        if isinstance(declared, dict) and declared.get("gps") is not None:
            entry["declared_by_client"] = {**declared, "gps": None}
    for photo in photos:
        if isinstance(photo.exif, dict) and photo.exif.get("gps") is not None:
            photo.exif = {**photo.exif, "gps": None}
        if isinstance(photo.client_exif, dict) and photo.client_exif.get("gps") is not None:
            photo.client_exif = {**photo.client_exif, "gps": None}


def _purge_photos(receipt: Receipt, evidence: dict) -> dict:
    """Originals go; the display copy and thumbnail (no EXIF) are made first if they are
    not there yet, so the receipt keeps its pictures. The evidence keeps each original's hash."""
    from ..receipts.services import stored_photo

    photos = _photos(receipt)
    storage, now = get_storage(), utcnow()
    for photo in photos:
        if photo.original_purged_at is not None:
            continue
        if storage.exists(photo.storage_key):
            for variant in ("display", "thumb"):
                stored_photo(photo.tenant_id, photo.sha256, photo.storage_key, photo.mime, variant)
        photo.original_purged_at = now
        db.session.flush()
        # Content-addressed: another sign-off's photo with the same bytes keeps the file.
        shared = db.session.execute(select(Photo.id).where(
            Photo.tenant_id == photo.tenant_id, Photo.storage_key == photo.storage_key,
            Photo.original_purged_at.is_(None)).limit(1)).first()
        if shared is None:
            delete_after_commit(photo.storage_key)
    _strip_gps(evidence, photos)
    return {"photos": [p.public_id for p in photos]}


def _purge_location(receipt: Receipt, evidence: dict) -> dict:
    location = evidence["location"]
    precise = {k: location.get(k) for k in ("raw", "wgs84", "courier_at_link_time")}
    digest = _sha256(precise)
    location.update(raw=None, wgs84=None, courier_at_link_time=None, purged={"sha256": digest})
    checks = (evidence.get("checks") or {}).get("location")
    if isinstance(checks, dict) and "signer_wgs84" in checks:
        checks["signer_wgs84"] = None
    # The stored 201 body (replayed for the same submission_id) repeats the checks, and the
    # sign link keeps the courier's position: both go too.
    response = copy.deepcopy(receipt.response or {})
    if isinstance((response.get("checks") or {}).get("location"), dict):
        response["checks"]["location"]["signer_wgs84"] = None
        receipt.response = response
    link = db.session.get(SignLink, receipt.link_id)
    if link is not None:
        link.courier_location = None
    _strip_gps(evidence, _photos(receipt))   # a photo's GPS tag is a precise location too
    return {"sha256": digest}


def _purge_ip(receipt: Receipt, evidence: dict) -> dict:
    """The address keeps its masked form and no digest: beside the masked prefix, a SHA-256
    of an IPv4 address is found among 256 candidates, so it would keep the address. The
    original evidence (address included) stays provable by the signed PDF and by
    ``retention.original_evidence_hash``."""
    client = evidence.get("client") or {}
    client["ip"] = mask_ip(client.get("ip"))
    return {"masked": True}


_PURGERS = {"strokes": _purge_strokes, "photos": _purge_photos, "location": _purge_location, "ip": _purge_ip}


def _photos(receipt: Receipt) -> list[Photo]:
    return db.session.execute(select(Photo).where(Photo.receipt_id == receipt.id).order_by(Photo.id)).scalars().all()


# --- purging ---------------------------------------------------------------------------

def purge_receipt(receipt: Receipt, parts: list[str], actor: str, reason: str, rewrite=None) -> dict:
    """Purge ``parts`` of one receipt now (and apply ``rewrite(evidence)``, an erasure's
    masking, if given); re-hash the evidence and record the new hash in the chain."""
    done = purged_parts(receipt.evidence)
    parts = [p for p in RAW_PARTS if p in parts and p not in done]
    if not parts and rewrite is None:
        return {}
    evidence = copy.deepcopy(receipt.evidence)
    block = evidence.setdefault("retention", {"original_evidence_hash": receipt.evidence_hash, "purged": {}})
    now = utcnow()
    for part in parts:
        block["purged"][part] = {"at": isoformat(now), "reason": reason, **_PURGERS[part](receipt, evidence)}
    if rewrite is not None:
        rewrite(evidence)
    previous, receipt.evidence = receipt.evidence_hash, evidence
    receipt.evidence_hash = _sha256(evidence)
    if all(p in block["purged"] for p in RAW_PARTS):
        receipt.raw_purged_at = receipt.raw_purged_at or now
    audit.record(receipt.tenant_id, "evidence.purged", actor, f"receipt:{receipt.public_id}",
                 {"evidence_hash": receipt.evidence_hash, "previous_evidence_hash": previous,
                  "parts": parts, "reason": reason})
    return {p: block["purged"][p] for p in parts}


def expire_receipt(receipt: Receipt, actor: str) -> None:
    """The end of the receipt's retention: raw parts purged if they were not yet, the PDF
    deleted, and the evidence cut to what identifies the receipt without identifying the
    person (waybill numbers, outcome, masked signer, times and every hash kept)."""
    from ..core.masking import mask_name

    purge_receipt(receipt, list(RAW_PARTS), actor, "retention")
    ev = receipt.evidence

    def skeleton(evidence: dict) -> None:
        kept = {
            "receipt_id": ev["receipt_id"], "receipt_code": ev.get("receipt_code"), "tenant": ev["tenant"],
            "doc_type": ev["doc_type"], "outcome": ev["outcome"],
            "waybills": [{"number": w["number"]} for w in ev.get("waybills") or []],
            # A consented drop has no signer (issue 14).
            "signer": ({"name": mask_name(ev["signer"]["name"]), "relation": ev["signer"]["relation"]}
                       if ev.get("signer") else None),
            "photos": [{"photo_id": p["photo_id"], "sha256": p["sha256"]} for p in ev.get("photos") or []],
            "anomalies": ev.get("anomalies") or [], "times": {"submitted_at": ev["times"]["submitted_at"]},
            "retention": {**ev["retention"], "expired": {"at": isoformat(utcnow()), "pdf_sha256": receipt.pdf_sha256}},
        }
        evidence.clear()
        evidence.update(kept)

    purge_receipt(receipt, [], actor, "receipt_expired", rewrite=skeleton)
    receipt.signer_name = (receipt.evidence.get("signer") or {"name": ""})["name"]
    receipt.signer_phone_key = None
    if receipt.pdf_key:
        delete_after_commit(receipt.pdf_key)
    receipt.pdf_key, receipt.expired_at = None, utcnow()
    for photo in _photos(receipt):     # the display copies and thumbnails go with the receipt
        for variant in ("display", "thumb"):
            delete_after_commit(derivative_key(photo.tenant_id, photo.sha256, variant))


def held(receipt: Receipt) -> bool:
    """Whether a dispute on one of the receipt's waybills holds its data."""
    return db.session.execute(
        select(Waybill.id).join(SignLinkWaybill, SignLinkWaybill.waybill_id == Waybill.id)
        .where(SignLinkWaybill.link_id == receipt.link_id, Waybill.reconcile_decision == "disputed").limit(1)
    ).first() is not None


def due_parts(receipt: Receipt, retention: dict, as_of: datetime) -> list[str]:
    done = purged_parts(receipt.evidence)
    return [p for p in RAW_PARTS if p not in done and receipt.created_at + timedelta(days=retention[p]) <= as_of]


def purge_doc_type(doc_type: DocType, as_of: datetime, report: PurgeReport, after_id: int = 0) -> int | None:
    """One batch of a doc type's receipts past their shortest raw retention; the last id
    looked at (to continue after), or None when the doc type has no more."""
    retention = retention_of(doc_type.policy or {})
    cutoff = as_of - timedelta(days=min(retention[p] for p in RAW_PARTS))
    link_ids = (select(SignLinkWaybill.link_id).join(Waybill, Waybill.id == SignLinkWaybill.waybill_id)
                .where(Waybill.doc_type_id == doc_type.id))
    expiry = as_of - timedelta(days=retention["receipt"])
    receipts = db.session.execute(
        select(Receipt).where(Receipt.tenant_id == doc_type.tenant_id, Receipt.expired_at.is_(None),
                              Receipt.raw_purged_at.is_(None) | (Receipt.created_at <= expiry),
                              Receipt.created_at <= cutoff, Receipt.id > after_id, Receipt.link_id.in_(link_ids))
        # Every worker runs the periodic purge: a receipt another one is purging is skipped.
        .order_by(Receipt.id).limit(BATCH).with_for_update(skip_locked=True)).scalars().all()
    for receipt in receipts:
        parts = due_parts(receipt, retention, as_of)
        ended = receipt.created_at + timedelta(days=retention["receipt"]) <= as_of
        if not parts and not ended:
            continue
        if held(receipt):
            report.held += 1
            continue
        if ended:
            expire_receipt(receipt, SYSTEM_ACTOR)
            report.expired += 1
            continue
        purged = purge_receipt(receipt, parts, SYSTEM_ACTOR, "retention")
        if purged:
            report.purged += 1
            for part in purged:
                report.parts[part] += 1
    return receipts[-1].id if len(receipts) == BATCH else None


def purge_consent_answers(doc_type: DocType, as_of: datetime, report: PurgeReport, after_id: int = 0) -> int | None:
    """One batch of the consent answers about a doc type's waybills whose IP is past the
    doc type's IP days (counted from the answer); the last id, or None when there are no more.
    The answer's audit event holds the IP masked from the start, so the chain is not touched."""
    from ..consent.services import answers_with_ip_due, forget_answer_ip

    retention = retention_of(doc_type.policy or {})
    days = min(retention["ip"], retention["receipt"])
    answers = answers_with_ip_due(doc_type.tenant_id, doc_type.id, as_of - timedelta(days=days), after_id, BATCH)
    now = utcnow()
    for answer in answers:
        forget_answer_ip(answer, now)
    report.consent_answers += len(answers)
    return answers[-1].id if len(answers) == BATCH else None


def retention_purge(as_of: datetime | None = None) -> PurgeReport:
    """Purge everything that has expired by ``as_of`` (default now), committing per batch."""
    as_of = as_of or utcnow()
    report = PurgeReport()
    doc_type_ids = db.session.execute(select(DocType.id).order_by(DocType.id)).scalars().all()
    for doc_type_id in doc_type_ids:
        after = 0
        while after is not None:
            after = purge_doc_type(db.session.get(DocType, doc_type_id), as_of, report, after)
            db.session.commit()
        after = 0
        while after is not None:
            after = purge_consent_answers(db.session.get(DocType, doc_type_id), as_of, report, after)
            db.session.commit()
    log.info("retention purge as of %s: %s", isoformat(as_of), report.as_dict())
    return report

"""Receipt jobs: render, sign and store the receipt PDF after a sign-off."""
import functools
import hashlib
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from ..accounts.models import Tenant
from ..core import audit
from ..core.audit import canonical_json
from ..core.clock import isoformat, utcnow
from ..core.jobs import handler
from ..core.storage import get_storage
from ..extensions import db
from ..waybills.models import Waybill
from . import pdf
from .certificates import TenantSeal, active_certificate, signer_for
from .models import Photo, Receipt
from .services import link_paths, link_waybill_ids, stored_photo
from .urls import receipt_url, verify_url

RENDER_PDF = "receipt.render_pdf"


@dataclass(frozen=True)
class _Sources:
    """What the PDF needs from the database, as plain values: read in one short
    transaction, then fetched from storage and drawn with none open."""

    receipt_id: str
    evidence: dict
    evidence_hash: str
    photos: list            # (tenant_id, sha256, storage_key, mime) per evidence photo, in order
    seal_key: str | None
    original_keys: list
    timezone: str           # the tenant's, at rendering


def _sources(receipt: Receipt) -> _Sources:
    """The database half of gathering what the PDF shows."""
    evidence = receipt.evidence
    stored = {photo.public_id: (photo.tenant_id, photo.sha256, photo.storage_key, photo.mime)
              for photo in db.session.execute(select(Photo).where(Photo.receipt_id == receipt.id)).scalars()}
    seal_key = None
    if evidence["policy"].get("auto_seal"):
        seal = db.session.get(TenantSeal, receipt.tenant_id)
        seal_key = seal.storage_key if seal else None
    original_keys = list(db.session.execute(
        select(Waybill.document_key)
        .where(Waybill.id.in_(link_waybill_ids(receipt.link_id)), Waybill.document_key.is_not(None))
        .order_by(Waybill.id)).scalars())
    return _Sources(
        receipt_id=receipt.public_id, evidence=evidence, evidence_hash=receipt.evidence_hash,
        photos=[stored[photo["photo_id"]] for photo in evidence["photos"]],
        seal_key=seal_key, original_keys=original_keys,
        timezone=db.session.get(Tenant, receipt.tenant_id).timezone)


def _document(sources: _Sources, base_url: str) -> pdf.ReceiptDocument:
    """The other half: evidence, signature picture, thumbnails, seal, originals, from
    storage and drawn, with no database."""
    from ..evidence.signature_render import render_alpha
    from ..evidence.strokes import parse_signature

    storage = get_storage()
    evidence = sources.evidence
    signature = evidence["signature"]
    return pdf.ReceiptDocument(
        receipt_id=sources.receipt_id, evidence=evidence, evidence_json=canonical_json(evidence),
        evidence_hash=sources.evidence_hash, verify_url=verify_url(sources.receipt_id, base_url),
        # A consented drop (issue 14) has no signature: its evidence carries the consent instead.
        signature_png=None,
        signature_alpha=render_alpha(parse_signature({"strokes": signature["strokes"], "canvas": signature["canvas"]}))
        if signature else None,
        thumbnails=[stored_photo(*photo, "thumb")[0] for photo in sources.photos],
        seal_png=_seal_bytes(sources.seal_key) if sources.seal_key else None,
        auto_seal=bool(evidence["policy"].get("auto_seal")),
        originals=[storage.get(key) for key in sources.original_keys], timezone=sources.timezone)


@functools.lru_cache(maxsize=64)
def _seal_bytes(key: str) -> bytes:
    # Seal keys are content-addressed: a new upload is a new key.
    return get_storage().get(key)


@functools.lru_cache(maxsize=4)
def _timestamper(url: str):
    from pyhanko.sign.timestamps import HTTPTimeStamper

    return HTTPTimeStamper(url, timeout=10)


@handler(RENDER_PDF, max_attempts=8, backoff_s=10)
def render_receipt_pdf(ctx):
    config = current_app.config
    # 1. A short transaction: plain values out of the database (and the tenant's
    #    certificate, made here on first use).
    receipt = db.session.get(Receipt, ctx.payload["receipt"])
    if receipt is None or receipt.pdf_key is not None:
        return
    sources = _sources(receipt)
    certificate = active_certificate(receipt.tenant_id)
    signer = signer_for(certificate, config["SECRET_KEY"])
    fingerprint, receipt_pk = certificate.fingerprint, receipt.id
    db.session.commit()
    # 2. Storage, drawing and signing with no transaction open: on SQLite an open one
    #    holds the write lock every sign-off needs (thumbnails may be made here too).
    doc = _document(sources, config["PUBLIC_BASE_URL"])
    timestamper = _timestamper(config["TSA_URL"]) if config["TSA_URL"] else None
    data = pdf.sign(doc, signer, timestamper)
    digest = hashlib.sha256(data).hexdigest()
    key = f"receipts/{ctx.tenant_id}/{doc.receipt_id}-{digest[:16]}.pdf"
    get_storage().put(key, data, "application/pdf")

    # 3. A short write: the result, its audit event and webhook.
    receipt = db.session.get(Receipt, receipt_pk)
    if receipt.pdf_key is not None:
        return   # another worker finished first (a lease that ran out mid-render)
    receipt.pdf_key, receipt.pdf_sha256, receipt.pdf_rendered_at = key, digest, utcnow()
    audit.record(receipt.tenant_id, "receipt.pdf_rendered", "system", f"receipt:{receipt.public_id}",
                 {"sha256": digest, "size": len(data), "certificate": fingerprint, "timestamped": bool(timestamper)})
    from ..webhooks.services import emit

    numbers = [w["number"] for w in receipt.evidence["waybills"]]
    emit(receipt.tenant_id, "receipt.pdf_ready", {
        "receipt_id": receipt.public_id, "waybills": numbers, "pdf_sha256": digest,
        "rendered_at": isoformat(receipt.pdf_rendered_at), "evidence_hash": receipt.evidence_hash,
        "receipt_pdf": receipt_url(receipt.public_id, "pdf", base_url=config["PUBLIC_BASE_URL"]),
        "links": link_paths(receipt),   # signed afresh at each delivery attempt (webhooks/tasks.py)
    }, waybill_number=numbers[0])
